//! Who did what: the actor of a write, and the audit record every write leaves.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::voucher::rfc3339;

/// Every action an audit record may name, grouped by what it acts on: the fixed list the
/// console's audit filter offers. A write that names an action not listed here fails a debug
/// assertion (`service::audit`), so the list cannot fall behind the use cases unseen.
pub const AUDIT_ACTIONS: &[&str] = &[
    "conference.create",
    "conference.update",
    "ticket_type.create",
    "ticket_type.update",
    "addon.create",
    "addon.update",
    "voucher.add",
    "voucher.update",
    "voucher.hold",
    "voucher.hold_extend",
    "voucher.hold_release",
    "voucher.redeem",
    "voucher.release",
    "batch.generate",
    "batch.import",
    "batch.assign",
    "batch.send",
    "batch.deactivate",
    "batch.label",
    "message.retry",
    "allotment.create",
    "allotment.extend",
    "allotment.resize",
    "allotment.new_link",
    "allotment.revoke_link",
    "allotment.close",
    "allotment.remind",
    "allotment.attendee_add",
    "allotment.attendee_change",
    "allotment.attendee_remove",
    "token.create",
    "token.revoke",
    "webhook.create",
    "webhook.enable",
    "webhook.disable",
    "webhook.rotate_secret",
    "webhook.redeliver",
    "account.create",
    "account.grant",
    "account.disable",
    "account.enable",
    "account.set_password",
    "account.password_link",
    "account.revoke",
];

/// Who is writing: the face a request came through, and the credential it used.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Actor {
    /// An operator on the command line (the operating system's user, when known).
    Cli {
        /// `$USER`.
        user: Option<String>,
    },
    /// A request with an API token.
    Token {
        /// The token's id.
        id: i64,
        /// Its label.
        name: Option<String>,
    },
    /// A signed-in console account.
    Account {
        /// The account's id.
        id: i64,
        /// Its email.
        email: String,
    },
    /// A sponsor on the page of its allotment (the secret link's session).
    Sponsor {
        /// The allotment's id.
        allotment_id: i64,
        /// The sponsor's name.
        name: String,
    },
    /// The service itself, or code that named nobody (tests).
    System,
}

impl Actor {
    /// The kind, as stored: `cli`, `token`, `account` or `system`.
    pub fn kind(&self) -> &'static str {
        match self {
            Actor::Cli { .. } => "cli",
            Actor::Token { .. } => "token",
            Actor::Account { .. } => "account",
            Actor::Sponsor { .. } => "sponsor",
            Actor::System => "system",
        }
    }

    /// The credential's id (a token's or an account's).
    pub fn id(&self) -> Option<i64> {
        match self {
            Actor::Token { id, .. } | Actor::Account { id, .. } => Some(*id),
            Actor::Sponsor { allotment_id, .. } => Some(*allotment_id),
            Actor::Cli { .. } | Actor::System => None,
        }
    }

    /// A name for people: the user, the token's label, the account's email.
    pub fn name(&self) -> Option<&str> {
        match self {
            Actor::Cli { user } => user.as_deref(),
            Actor::Token { name, .. } => name.as_deref(),
            Actor::Account { email, .. } => Some(email),
            Actor::Sponsor { name, .. } => Some(name),
            Actor::System => None,
        }
    }
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        describe(f, self.kind(), self.id(), self.name())
    }
}

/// An actor for people: `token 3 (web shop)`, `cli (ada)`, `system`.
fn describe(f: &mut fmt::Formatter<'_>, kind: &str, id: Option<i64>, name: Option<&str>) -> fmt::Result {
    match (id, name) {
        (Some(id), Some(name)) => write!(f, "{kind} {id} ({name})"),
        (Some(id), None) => write!(f, "{kind} {id}"),
        (None, Some(name)) => write!(f, "{kind} ({name})"),
        (None, None) => f.write_str(kind),
    }
}

/// Who did it, as a record shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditActor {
    /// `cli`, `token`, `account`, `sponsor` (its id the allotment's) or `system`.
    pub kind: String,
    /// The token's or the account's id.
    pub id: Option<i64>,
    /// The user, the token's name or the account's email.
    pub name: Option<String>,
}

impl fmt::Display for AuditActor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        describe(f, &self.kind, self.id, self.name.as_deref())
    }
}

/// One write, as the audit log keeps it. Never a secret: a token's secret, a password, a
/// session are never in `changes`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditRecord {
    /// Its id (newest is highest).
    pub id: i64,
    /// When.
    #[serde(serialize_with = "rfc3339")]
    pub at: DateTime<Utc>,
    /// Who.
    pub actor: AuditActor,
    /// What: `voucher.redeem`, `batch.deactivate`, `voucher.update`, ...
    pub action: String,
    /// On what: a code, `batch 3`, a slug, `token 7`, an email.
    pub target: String,
    /// The values written; for a change, each changed field's `{"old", "new"}`.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub changes: serde_json::Value,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_action_list_is_distinct_and_well_formed() {
        let mut seen = std::collections::HashSet::new();
        for action in AUDIT_ACTIONS {
            assert!(seen.insert(action), "{action} twice");
            let (subject, verb) = action.split_once('.').unwrap();
            let word = |w: &str| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
            assert!(word(subject) && word(verb), "{action}");
        }
    }
}
