//! API tokens as the service knows them: a scope, the conference it is bound to, and never the
//! secret itself (only its hash is stored).

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::voucher::{rfc3339, rfc3339_opt};
use super::InvalidInput;

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Everything, in every conference, including creating conferences.
    Admin,
    /// Everything in its own conference except redeeming.
    Manage,
    /// Only checking and redeeming codes in its own conference.
    Checkout,
}

impl Scope {
    /// The name used in the CLI, the JSON and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Admin => "admin",
            Scope::Manage => "manage",
            Scope::Checkout => "checkout",
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Scope {
    type Err = InvalidInput;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value {
            "admin" => Ok(Scope::Admin),
            "manage" => Ok(Scope::Manage),
            "checkout" => Ok(Scope::Checkout),
            other => Err(InvalidInput::new(
                "scope",
                format!("scope must be one of admin, manage, checkout, got {}", super::quoted(other)),
            )),
        }
    }
}

/// A stored token, without its secret.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ApiToken {
    /// Database id (what `token revoke` takes).
    pub id: i64,
    /// What it may do.
    pub scope: Scope,
    /// The conference it is bound to (internal id; `None` for admin).
    #[serde(skip)]
    pub conference_id: Option<i64>,
    /// The conference's slug (`None` for admin).
    pub conference: Option<String>,
    /// A label for people (`"registration desk"`).
    pub name: Option<String>,
    /// Creation time.
    #[serde(serialize_with = "rfc3339")]
    pub created_at: DateTime<Utc>,
    /// When it was revoked; a revoked token authenticates nothing.
    #[serde(serialize_with = "rfc3339_opt")]
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A token's secret, shown once when it is created. `Debug` never prints it.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenSecret(String);

impl TokenSecret {
    /// Wraps a presented or generated secret.
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }

    /// The secret itself: only for showing it once to the person who created it, or for sending
    /// it in an `Authorization` header.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for TokenSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenSecret(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_round_trip_and_secrets_stay_hidden() {
        for s in [Scope::Admin, Scope::Manage, Scope::Checkout] {
            assert_eq!(s.as_str().parse::<Scope>().unwrap(), s);
        }
        assert_eq!("root".parse::<Scope>().unwrap_err().field, "scope");
        let secret = TokenSecret::new("vch_supersecret");
        assert!(!format!("{secret:?}").contains("supersecret"));
    }
}
