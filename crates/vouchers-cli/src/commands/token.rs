//! `vouchers token create|list|revoke`: API tokens. A token's secret is printed once, when it is
//! created; only its hash is stored.

use clap::{Subcommand, ValueEnum};
use serde::Serialize;
use vouchers_core::domain::{format_rfc3339, Scope};
use vouchers_core::service::tokens;
use vouchers_core::Store;

use crate::cli::Format;
use crate::error::CliError;
use crate::output;

/// `token create`, `token list` and `token revoke`.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token and print its secret (shown only this once).
    Create {
        /// admin (every conference, may create conferences), manage (one conference, everything
        /// but redeeming) or checkout (one conference, check and redeem only).
        #[arg(long, value_enum)]
        scope: ScopeArg,
        /// The conference a manage or checkout token is for (none for admin).
        #[arg(long)]
        conference: Option<String>,
        /// A label for people, e.g. "registration desk".
        #[arg(long)]
        name: Option<String>,
    },
    /// List tokens (never their secrets).
    List,
    /// Revoke a token: it stops working at once.
    Revoke {
        /// The token's id, from `token list`.
        id: i64,
    },
}

/// `token create --scope`: what a token may do, as the command line spells it.
// The variants carry no doc comments on purpose: clap would list them in `--help`, which the
// `--scope` help already explains in one sentence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ScopeArg {
    // Every conference, may create conferences.
    Admin,
    // One conference, everything but redeeming.
    Manage,
    // One conference, check and redeem only.
    Checkout,
}

impl From<ScopeArg> for Scope {
    fn from(scope: ScopeArg) -> Self {
        match scope {
            ScopeArg::Admin => Scope::Admin,
            ScopeArg::Manage => Scope::Manage,
            ScopeArg::Checkout => Scope::Checkout,
        }
    }
}

/// What `token create --format json` prints, exactly.
#[derive(Serialize)]
struct Created<'a> {
    token: &'a str,
    scope: Scope,
    conference: Option<&'a str>,
    name: Option<&'a str>,
}

/// Creates, lists or revokes tokens.
pub async fn run(store: &dyn Store, command: TokenCommand, format: Format) -> Result<(), CliError> {
    match command {
        TokenCommand::Create { scope, conference, name } => {
            let created = tokens::create_token(store, scope.into(), conference.as_deref(), name.as_deref()).await?;
            let t = &created.token;
            let shown = Created {
                token: created.secret.expose(),
                scope: t.scope,
                conference: t.conference.as_deref(),
                name: t.name.as_deref(),
            };
            match format {
                Format::Json => output::json(&shown),
                Format::Csv => output::csv(
                    &["token", "scope", "conference", "name"],
                    &[vec![
                        shown.token.to_owned(),
                        shown.scope.to_string(),
                        shown.conference.unwrap_or_default().to_owned(),
                        shown.name.unwrap_or_default().to_owned(),
                    ]],
                ),
                Format::Table => {
                    println!("{}", shown.token);
                    eprintln!(
                        "token {} ({} scope{}) created; this is the only time its secret is shown",
                        t.id,
                        t.scope,
                        t.conference.as_deref().map(|c| format!(", conference {c}")).unwrap_or_default()
                    );
                    Ok(())
                }
            }
        }
        TokenCommand::List => {
            let all = tokens::list_tokens(store).await?;
            let header = ["id", "scope", "conference", "name", "created_at", "revoked_at"];
            let rows: Vec<Vec<String>> = all
                .iter()
                .map(|t| {
                    vec![
                        t.id.to_string(),
                        t.scope.to_string(),
                        t.conference.clone().unwrap_or_default(),
                        t.name.clone().unwrap_or_default(),
                        format_rfc3339(&t.created_at),
                        t.revoked_at.as_ref().map(format_rfc3339).unwrap_or_default(),
                    ]
                })
                .collect();
            match format {
                Format::Json => output::json(&all),
                Format::Csv => output::csv(&header, &rows),
                Format::Table => Ok(output::table(&header, &rows)?),
            }
        }
        TokenCommand::Revoke { id } => {
            tokens::revoke_token(store, id).await?;
            match format {
                Format::Json => output::json(&serde_json::json!({"id": id, "revoked": true})),
                _ => {
                    eprintln!("token {id} revoked");
                    Ok(())
                }
            }
        }
    }
}
