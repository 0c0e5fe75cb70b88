//! The session cookie and the signed-in account.
//!
//! The cookie `vouchers_session` holds the session's secret: `HttpOnly` (no script reads it),
//! `SameSite=Lax` (another site's form posts do not carry it), `Path=/console`, and `Secure`
//! when the console runs behind HTTPS (`--secure-cookies`). Every state-changing form carries the
//! session's CSRF token, compared in constant time; a form without it changes nothing.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method};
use vouchers_core::domain::{Access, Action, Conference, Denied, Session, SessionSecret};
use vouchers_core::service::{accounts, catalog};

use crate::error::ConsoleError;
use crate::form::FormData;
use crate::ConsoleState;

/// The cookie's name.
pub(crate) const COOKIE_NAME: &str = "vouchers_session";

/// The session secret a request presents, if any.
pub(crate) fn presented(headers: &HeaderMap) -> Option<SessionSecret> {
    headers.get_all(COOKIE).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(';')).find_map(|pair| {
        let (name, value) = pair.trim().split_once('=')?;
        (name == COOKIE_NAME && !value.is_empty()).then(|| SessionSecret::new(value))
    })
}

/// The `Set-Cookie` value that stores `secret`, or (`None`) removes the cookie.
pub(crate) fn cookie(secret: Option<&SessionSecret>, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let text = match secret {
        Some(secret) => format!("{COOKIE_NAME}={}; Path=/console; HttpOnly; SameSite=Lax{secure}", secret.expose()),
        None => format!("{COOKIE_NAME}=; Path=/console; HttpOnly; SameSite=Lax; Max-Age=0{secure}"),
    };
    // The secret is URL-safe base64: always a valid header value.
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static("vouchers_session=; Max-Age=0"))
}

/// The device cookie's name.
pub(crate) const DEVICE_COOKIE: &str = "vouchers_device";

/// How long a browser stays known to the sign-in limit after signing in (30 days).
const DEVICE_MAX_AGE: u64 = 30 * 24 * 3600;

/// The device token a request presents, if any.
pub(crate) fn presented_device(headers: &HeaderMap) -> Option<accounts::DeviceToken> {
    headers.get_all(COOKIE).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(';')).find_map(|pair| {
        let (name, value) = pair.trim().split_once('=')?;
        (name == DEVICE_COOKIE && !value.is_empty()).then(|| accounts::DeviceToken::new(value))
    })
}

/// The `Set-Cookie` value of a device cookie: sent only to the sign-in form's handler, never
/// to another site (`SameSite=Strict`), for [`DEVICE_MAX_AGE`].
pub(crate) fn device_cookie(device: &accounts::DeviceToken, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let text = format!(
        "{DEVICE_COOKIE}={}; Path=/console/login; HttpOnly; SameSite=Strict; Max-Age={DEVICE_MAX_AGE}{secure}",
        device.expose()
    );
    // The token is digits, dots and URL-safe base64: always a valid header value.
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static("vouchers_device=; Max-Age=0"))
}

/// Adds a `Set-Cookie` header.
pub(crate) fn set_cookie(headers: &mut HeaderMap, value: HeaderValue) {
    headers.append(SET_COOKIE, value);
}

/// The client's address, as the API's guessing limit takes it: the TCP peer, or with
/// `--trust-forwarded-for` the address the load balancer appended to `X-Forwarded-For`
/// (unspecified for in-process calls).
pub(crate) struct ClientAddress(pub IpAddr);

impl FromRequestParts<ConsoleState> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &ConsoleState) -> Result<Self, Self::Rejection> {
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0);
        Ok(ClientAddress(vouchers_web::client_address(state.settings.trust_forwarded_for, &parts.headers, peer)))
    }
}

/// Refuses a state-changing request that a browser sent from another site (login CSRF included:
/// the sign-in form has no session to carry a token yet). A browser says where a request comes
/// from in `Sec-Fetch-Site` (anything but `same-origin`, or `none` for one the person typed, is
/// refused) and, when it does not send that, in `Origin`, whose host must be the request's
/// `Host`. A request with neither comes from no browser (a script), and forgery needs a
/// browser; it goes on to the session's CSRF token like any other.
pub(crate) async fn same_origin(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    if matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(request).await;
    }
    let headers = request.headers();
    let text = |name: &str| headers.get(name).map(|v| v.to_str().unwrap_or("\u{0}"));
    let allowed = match (text("sec-fetch-site"), text("origin")) {
        (Some(site), _) => matches!(site, "same-origin" | "none"),
        (None, Some(origin)) => {
            let origin_host = origin.split_once("://").map(|(_, rest)| rest);
            origin_host.is_some_and(|host| text("host").is_some_and(|h| h.eq_ignore_ascii_case(host)))
        }
        (None, None) => true,
    };
    if allowed {
        next.run(request).await
    } else {
        ConsoleError::Forgery.into_response()
    }
}

/// A state-changing form from a signed-in account, its CSRF token checked: the only way a
/// handler gets a form with a session, so no form handler can forget the check. (The sign-in
/// form, which has no session yet, is [`SignInForm`], and a set-password link's form
/// [`LinkForm`]; all are behind [`same_origin`].)
pub(crate) struct Posted {
    pub signed: Signed,
    pub form: FormData,
}

impl FromRequest<ConsoleState> for Posted {
    type Rejection = ConsoleError;

    async fn from_request(request: Request, state: &ConsoleState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = request.into_parts();
        let signed = Signed::from_request_parts(&mut parts, state).await?;
        let form = FormData::read(Request::from_parts(parts, body), state).await?;
        if same_token(form.get("csrf").unwrap_or_default(), &signed.session.csrf_token) {
            Ok(Posted { signed, form })
        } else {
            Err(ConsoleError::Forgery)
        }
    }
}

/// A form's CSRF token against the session's, in constant time (as long whatever the first wrong
/// byte).
fn same_token(sent: &str, expected: &str) -> bool {
    let (sent, expected) = (sent.as_bytes(), expected.as_bytes());
    sent.len() == expected.len() && sent.iter().zip(expected).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

/// The sign-in form: the one form read without a session (so without a CSRF token; the
/// [`same_origin`] layer refuses one sent from another site).
pub(crate) struct SignInForm(pub FormData);

impl FromRequest<ConsoleState> for SignInForm {
    type Rejection = ConsoleError;

    async fn from_request(request: Request, state: &ConsoleState) -> Result<Self, Self::Rejection> {
        Ok(SignInForm(FormData::read(request, state).await?))
    }
}

/// The form of a set-password link's page (`/console/set-password/SECRET`): read without a
/// session, so without a CSRF token. The link's secret is its credential (whoever could forge the
/// form knows the secret, and could send it from anywhere); the [`same_origin`] layer refuses it
/// from another site like every form.
pub(crate) struct LinkForm(pub FormData);

impl FromRequest<ConsoleState> for LinkForm {
    type Rejection = ConsoleError;

    async fn from_request(request: Request, state: &ConsoleState) -> Result<Self, Self::Rejection> {
        Ok(LinkForm(FormData::read(request, state).await?))
    }
}

/// A request from a signed-in account.
pub(crate) struct Signed {
    pub session: Session,
    pub secret: SessionSecret,
    /// The sentence the last change's redirect carried ([`crate::flash`]), shown once.
    pub flash: Option<String>,
}

impl FromRequestParts<ConsoleState> for Signed {
    type Rejection = ConsoleError;

    async fn from_request_parts(parts: &mut Parts, state: &ConsoleState) -> Result<Self, Self::Rejection> {
        let ended =
            || if parts.method == Method::GET { ConsoleError::SignInRequired } else { ConsoleError::SessionEnded };
        let Some(secret) = presented(&parts.headers) else { return Err(ended()) };
        let now = vouchers_core::now();
        match accounts::session(state.store.as_ref(), &secret, state.settings.session, now).await? {
            Some(session) => Ok(Signed { session, secret, flash: crate::flash::presented(&parts.headers) }),
            None => Err(ended()),
        }
    }
}

impl Signed {
    /// The store as this account writes to it: every write's audit record names the account.
    pub fn store(&self, state: &ConsoleState) -> std::sync::Arc<dyn vouchers_core::Store> {
        let account = &self.session.account;
        let actor = vouchers_core::domain::Actor::Account { id: account.id, email: account.email.clone() };
        vouchers_core::store::acting(std::sync::Arc::clone(&state.store), actor)
    }

    /// What this account may do, and where: the policy API tokens share.
    pub fn access(&self) -> Access {
        Access::of_account(&self.session.account)
    }

    /// The conference `slug`, when this account may manage it; another conference is the same
    /// 404 as one that does not exist.
    pub async fn conference(&self, state: &ConsoleState, slug: &str) -> Result<Conference, ConsoleError> {
        let access = self.access();
        // A manage account's grants are slugs: one it was not granted is refused unread.
        if !access.may_reach(slug) {
            return Err(ConsoleError::NotFound);
        }
        let conference = match catalog::conference(state.store.as_ref(), slug).await {
            Ok(conference) => Some(conference),
            Err(vouchers_core::VoucherError::ConferenceNotFound(_)) => None,
            Err(e) => return Err(e.into()),
        };
        access.admit(Action::Manage, conference).map_err(denied)
    }

    /// Refuses anyone but an admin account.
    pub fn require_admin(&self) -> Result<(), ConsoleError> {
        self.access().require(Action::Administer).map_err(denied)
    }
}

/// The page for a request the policy refused.
fn denied(denied: Denied) -> ConsoleError {
    match denied {
        Denied::Forbidden => ConsoleError::AdminOnly,
        Denied::NotFound => ConsoleError::NotFound,
    }
}

/// The sponsor cookie's name: a sponsor session, scoped to one allotment, sent only to
/// `/sponsor` pages.
pub(crate) const SPONSOR_COOKIE: &str = "vouchers_sponsor";

/// The `Set-Cookie` value that stores a sponsor session's secret, or (`None`) removes it.
pub(crate) fn sponsor_cookie(secret: Option<&SessionSecret>, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let text = match secret {
        Some(secret) => format!("{SPONSOR_COOKIE}={}; Path=/sponsor; HttpOnly; SameSite=Lax{secure}", secret.expose()),
        None => format!("{SPONSOR_COOKIE}=; Path=/sponsor; HttpOnly; SameSite=Lax; Max-Age=0{secure}"),
    };
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static("vouchers_sponsor=; Max-Age=0"))
}

/// A request from a sponsor's browser: its session (one allotment).
pub(crate) struct Sponsor {
    pub session: vouchers_core::domain::SponsorSession,
    pub secret: SessionSecret,
}

impl FromRequestParts<ConsoleState> for Sponsor {
    type Rejection = ConsoleError;

    async fn from_request_parts(parts: &mut Parts, state: &ConsoleState) -> Result<Self, Self::Rejection> {
        let secret = parts
            .headers
            .get_all(COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .find_map(|pair| {
                let (name, value) = pair.trim().split_once('=')?;
                (name == SPONSOR_COOKIE && !value.is_empty()).then(|| SessionSecret::new(value))
            })
            .ok_or(ConsoleError::SponsorSessionEnded)?;
        let now = vouchers_core::now();
        match vouchers_core::service::allotments::sponsor_session(state.store.as_ref(), &secret, now).await? {
            Some(session) => Ok(Sponsor { session, secret }),
            None => Err(ConsoleError::SponsorSessionEnded),
        }
    }
}

impl Sponsor {
    /// The store as this sponsor writes to it: every write's audit record names the sponsor.
    pub fn store(&self, state: &ConsoleState) -> std::sync::Arc<dyn vouchers_core::Store> {
        let actor = vouchers_core::domain::Actor::Sponsor {
            allotment_id: self.session.allotment_id,
            name: self.session.sponsor.clone(),
        };
        vouchers_core::store::acting(std::sync::Arc::clone(&state.store), actor)
    }
}

/// A state-changing form from a sponsor's page, its CSRF token checked.
pub(crate) struct SponsorPosted {
    pub sponsor: Sponsor,
    pub form: FormData,
}

impl FromRequest<ConsoleState> for SponsorPosted {
    type Rejection = ConsoleError;

    async fn from_request(request: Request, state: &ConsoleState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = request.into_parts();
        let sponsor = Sponsor::from_request_parts(&mut parts, state).await?;
        let form = FormData::read(Request::from_parts(parts, body), state).await?;
        if same_token(form.get("csrf").unwrap_or_default(), &sponsor.session.csrf_token) {
            Ok(SponsorPosted { sponsor, form })
        } else {
            Err(ConsoleError::Forgery)
        }
    }
}
