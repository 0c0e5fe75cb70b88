//! Database URLs: which backend a URL selects, and a form that never shows its password.

use std::fmt;

use super::StoreError;

/// Which database a store talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite file.
    Sqlite,
    /// PostgreSQL server.
    Postgres,
}

/// A database URL that never shows its password: `Debug` and `Display` print `***` in its place.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    /// Wraps a URL such as `sqlite://vouchers.db` or `postgres://user:pw@host/db`.
    pub fn new(url: impl Into<String>) -> Self {
        Self(url.into())
    }

    /// The full URL, password included: only for handing to the driver.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Which backend the scheme selects.
    pub fn backend(&self) -> Result<Backend, StoreError> {
        let scheme = self.0.split_once(':').map(|(s, _)| s).unwrap_or_default();
        match scheme {
            "sqlite" => Ok(Backend::Sqlite),
            "postgres" | "postgresql" => Ok(Backend::Postgres),
            _ => Err(StoreError::Url(format!("{self} has an unknown scheme; use sqlite://FILE or postgres://..."))),
        }
    }

    /// The URL with any password replaced by `***`.
    pub fn redacted(&self) -> String {
        match url::Url::parse(&self.0) {
            Ok(mut parsed) if parsed.password().is_some() => {
                // set_password fails only for URLs that cannot have one, which this one does.
                let _ = parsed.set_password(Some("***"));
                parsed.to_string()
            }
            Ok(_) => self.0.clone(),
            // Unparseable: show the scheme only, in case the rest holds a secret.
            Err(_) => format!("{}://***", self.0.split("://").next().unwrap_or("?")),
        }
    }
}

impl std::str::FromStr for DatabaseUrl {
    type Err = std::convert::Infallible;

    fn from_str(url: &str) -> Result<Self, Self::Err> {
        Ok(Self::new(url))
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("DatabaseUrl").field(&self.redacted()).finish()
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_never_show_passwords() {
        let url = DatabaseUrl::new("postgres://app:s3cret@db.example:5432/vouchers");
        assert_eq!(url.to_string(), "postgres://app:***@db.example:5432/vouchers");
        assert!(!format!("{url:?}").contains("s3cret"));
        assert_eq!(url.backend().unwrap(), Backend::Postgres);
        assert_eq!(DatabaseUrl::new("sqlite://vouchers.db").backend().unwrap(), Backend::Sqlite);
        let bad = DatabaseUrl::new("mysql://u:s3cret@h/db").backend().unwrap_err().to_string();
        assert!(bad.contains("unknown scheme") && !bad.contains("s3cret"), "{bad}");
    }
}
