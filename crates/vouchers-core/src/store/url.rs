//! Database URLs: which backend a URL selects, whether it names a database at all, and a form
//! that never shows a secret.

use std::fmt;

use crate::domain::InvalidInput;

/// Which database a store talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite file.
    Sqlite,
    /// PostgreSQL server.
    Postgres,
}

/// Query parameters of a database URL whose values are secrets (compared ignoring case).
const SECRET_PARAMETERS: [&str; 2] = ["password", "sslpassword"];

/// A database URL that never shows its secrets: `Debug` and `Display` print `***` in place of
/// the userinfo password and of the `password` and `sslpassword` query parameters.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    /// Wraps a URL such as `sqlite://vouchers.db` or `postgres://user:pw@host/db`; nothing is
    /// checked until [`DatabaseUrl::backend`]. A plain file path (`vouchers.db`, `./data/v.db`,
    /// `/var/lib/vouchers/v.db`: no `:` at all, or starting with `/` or `.`) names a SQLite file.
    pub fn new(url: impl Into<String>) -> Self {
        let url = url.into();
        let is_path = !url.is_empty() && (!url.contains(':') || url.starts_with('/') || url.starts_with('.'));
        if is_path {
            return Self(format!("sqlite://{url}"));
        }
        Self(url)
    }

    /// The full URL, secrets included: only for handing to the driver.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Which backend the URL selects, once it is checked to name a database: `sqlite://FILE`
    /// (or `sqlite:FILE`) with a file, not `:memory:` (every write would be lost when the
    /// process ends); `postgres://` with a host and a database (else libpq's defaults would pick
    /// both silently). The error names the field `database` and never shows a secret.
    pub fn backend(&self) -> Result<Backend, InvalidInput> {
        let invalid = |rule: &str| InvalidInput::new("database", format!("{self}: {rule}"));
        let scheme = self.0.split_once(':').map(|(s, _)| s).unwrap_or_default();
        match scheme {
            "sqlite" => {
                let rest = &self.0["sqlite:".len()..];
                let rest = rest.strip_prefix("//").unwrap_or(rest);
                let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
                if path.is_empty() {
                    return Err(invalid("names no file; use sqlite://FILE"));
                }
                let in_memory =
                    path == ":memory:" || query.split('&').any(|pair| pair.eq_ignore_ascii_case("mode=memory"));
                if in_memory {
                    return Err(invalid(
                        "an in-memory database loses every write when the command ends; use sqlite://FILE",
                    ));
                }
                Ok(Backend::Sqlite)
            }
            "postgres" | "postgresql" => {
                let parsed = url::Url::parse(&self.0).map_err(|e| invalid(&format!("not a URL ({e})")))?;
                let param = |name: &str| parsed.query_pairs().any(|(k, v)| k == name && !v.is_empty());
                if parsed.host_str().is_none_or(str::is_empty) && !param("host") {
                    return Err(invalid("names no host; use postgres://USER@HOST/DATABASE"));
                }
                if parsed.path().trim_matches('/').is_empty() && !param("dbname") {
                    return Err(invalid("names no database; use postgres://USER@HOST/DATABASE"));
                }
                // The driver cannot decrypt a client key, and it would log the unknown
                // parameter with its value: refuse it rather than print the secret.
                if parsed.query_pairs().any(|(k, _)| k.eq_ignore_ascii_case("sslpassword")) {
                    return Err(invalid(
                        "sslpassword (an encrypted client key) is not supported; use an unencrypted key",
                    ));
                }
                Ok(Backend::Postgres)
            }
            _ => Err(invalid("unknown scheme; use sqlite://FILE or postgres://USER@HOST/DATABASE")),
        }
    }

    /// The URL with every secret replaced by `***`.
    pub fn redacted(&self) -> String {
        let Ok(mut parsed) = url::Url::parse(&self.0) else {
            // Unparseable: show the scheme only, in case the rest holds a secret.
            return format!("{}://***", self.0.split(':').next().unwrap_or("?"));
        };
        if parsed.password().is_some() {
            // set_password fails only for URLs that cannot have one, which this one does.
            let _ = parsed.set_password(Some("***"));
        }
        let secret = |key: &str| SECRET_PARAMETERS.iter().any(|s| key.eq_ignore_ascii_case(s));
        if parsed.query_pairs().any(|(k, _)| secret(&k)) {
            let pairs: Vec<(String, String)> = parsed
                .query_pairs()
                .map(|(k, v)| {
                    let v = if secret(&k) { "***".to_owned() } else { v.into_owned() };
                    (k.into_owned(), v)
                })
                .collect();
            parsed.query_pairs_mut().clear().extend_pairs(pairs);
        }
        parsed.to_string()
    }
}

impl std::str::FromStr for DatabaseUrl {
    type Err = std::convert::Infallible;

    /// Any text: the URL is checked when the database is opened, so that the error can name the
    /// setting without echoing the value (a parse error here would print it, secrets and all).
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
        let bad = DatabaseUrl::new("mysql://u:s3cret@h/db").backend().unwrap_err();
        assert_eq!(bad.field, "database");
        assert!(bad.message.contains("unknown scheme") && !bad.message.contains("s3cret"), "{}", bad.message);
    }

    #[test]
    fn secret_query_parameters_are_redacted() {
        for raw in [
            "postgres://app@db/v?password=s3cret",
            "postgres://app@db/v?sslmode=require&PassWord=s3cret",
            "postgres://app:s3cret@db/v?sslpassword=s3cret&application_name=x",
        ] {
            let url = DatabaseUrl::new(raw);
            let shown = format!("{url} {url:?} {}", url.backend().map(|_| String::new()).unwrap_or_default());
            assert!(!shown.contains("s3cret"), "{shown}");
            assert!(shown.contains("***"), "{shown}");
        }
        let kept = DatabaseUrl::new("postgres://app@db/v?sslmode=require").to_string();
        assert_eq!(kept, "postgres://app@db/v?sslmode=require");
        let bad = DatabaseUrl::new("postgres://?password=s3cret").backend().unwrap_err();
        assert!(!bad.message.contains("s3cret"), "{}", bad.message);
        let bad = DatabaseUrl::new("postgres://app@db/v?sslpassword=s3cret").backend().unwrap_err();
        assert!(bad.message.contains("sslpassword") && !bad.message.contains("s3cret"), "{}", bad.message);
    }

    #[test]
    fn urls_that_name_no_database_are_refused() {
        for (raw, rule) in [
            ("postgres://", "names no host"),
            ("postgres://db.example", "names no database"),
            ("postgres://db.example/", "names no database"),
            ("sqlite://", "names no file"),
            ("sqlite:", "names no file"),
            ("sqlite://:memory:", "in-memory"),
            ("sqlite://v.db?mode=memory", "in-memory"),
            ("mysql://u@h/db", "unknown scheme"),
            ("vouchers.db:x", "unknown scheme"),
        ] {
            let err = DatabaseUrl::new(raw).backend().unwrap_err();
            assert_eq!(err.field, "database", "{raw}");
            assert!(err.message.contains(rule), "{raw}: {}", err.message);
        }
        for ok in ["postgres://app@db/v", "postgres:///v?host=/run/postgresql", "sqlite:v.db", "sqlite://./data/v.db"] {
            assert!(DatabaseUrl::new(ok).backend().is_ok(), "{ok}");
        }
    }

    #[test]
    fn plain_paths_name_sqlite_files() {
        for (path, url) in [
            ("vouchers.db", "sqlite://vouchers.db"),
            ("./data/v.db", "sqlite://./data/v.db"),
            ("/var/lib/vouchers/v.db", "sqlite:///var/lib/vouchers/v.db"),
            ("../v.db", "sqlite://../v.db"),
        ] {
            let parsed = DatabaseUrl::new(path);
            assert_eq!(parsed.expose(), url);
            assert_eq!(parsed.backend().unwrap(), Backend::Sqlite, "{path}");
        }
    }
}
