//! What a request's log line may say of its path: a sponsor's link (`/sponsor/SECRET`) and a
//! set-password link (`/console/set-password/SECRET`) carry their secret in the path, so the
//! secret is replaced before the path is logged.

use std::borrow::Cow;

/// The paths under `/sponsor/` that hold no secret (the sponsor page's forms).
const SPONSOR_FORMS: [&str; 2] = ["attendees", "leave"];

/// `path` as a log line may show it: `/sponsor/SECRET` becomes `/sponsor/{secret}`, and
/// `/console/set-password/SECRET` (anything under it) `/console/set-password/{secret}`; every
/// other path is unchanged.
pub fn logged_path(path: &str) -> Cow<'_, str> {
    if path.starts_with("/console/set-password/") {
        return Cow::Borrowed("/console/set-password/{secret}");
    }
    match path.strip_prefix("/sponsor/") {
        Some(rest) if !SPONSOR_FORMS.contains(&rest.split('/').next().unwrap_or_default()) => {
            Cow::Borrowed("/sponsor/{secret}")
        }
        _ => Cow::Borrowed(path),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sponsor_link_is_never_logged() {
        assert_eq!(logged_path("/sponsor/abcDEF123_-secret"), "/sponsor/{secret}");
        assert_eq!(logged_path("/sponsor/abc/def"), "/sponsor/{secret}");
        assert_eq!(logged_path("/sponsor/attendees/12/change"), "/sponsor/attendees/12/change");
        assert_eq!(logged_path("/sponsor/leave"), "/sponsor/leave");
        assert_eq!(logged_path("/sponsor"), "/sponsor");
        assert_eq!(logged_path("/api/v1/conferences"), "/api/v1/conferences");
    }

    #[test]
    fn a_set_password_link_is_never_logged() {
        assert_eq!(logged_path("/console/set-password/abcDEF123_-secret"), "/console/set-password/{secret}");
        assert_eq!(logged_path("/console/set-password/abc/def"), "/console/set-password/{secret}");
        assert_eq!(logged_path("/console/set-password/"), "/console/set-password/{secret}");
        assert_eq!(logged_path("/console/accounts/3"), "/console/accounts/3");
    }
}
