//! `vouchers user create|list|disable|set-password|link|grant|revoke`: the organizer accounts that
//! sign in to the web console. A password is read from stdin (one line) when stdin is not a
//! terminal, and asked for twice, without echo, when it is; it is never a flag (it would show in
//! `ps` and in the shell's history). `create --link` and `link` print a one-time set-password
//! link instead (under `--public-url`), shown only that once.

use std::io::{BufRead, IsTerminal};

use clap::{Subcommand, ValueEnum};
use vouchers_core::domain::{format_rfc3339, Account, AccountStatus, Email, Password, Role};
use vouchers_core::service::accounts::{self, NewPasswordLink};
use vouchers_core::Store;

use crate::cli::Format;
use crate::error::CliError;
use crate::output;

/// The role of an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RoleArg {
    // Every conference; may create conferences.
    Admin,
    // Only the conferences it is granted.
    Manage,
}

impl From<RoleArg> for Role {
    fn from(role: RoleArg) -> Self {
        match role {
            RoleArg::Admin => Role::Admin,
            RoleArg::Manage => Role::Manage,
        }
    }
}

/// The `user` subcommands.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create an account; the password (at least 12 characters) comes from stdin or a prompt, or,
    /// with --link, its owner sets it through a one-time link.
    Create {
        /// Its email (unique, ignoring case); it signs in with it.
        #[arg(long)]
        email: String,
        /// admin (every conference) or manage (the conferences it is granted).
        #[arg(long, value_enum)]
        role: RoleArg,
        /// A conference a manage account may see (repeatable).
        #[arg(long = "conference", value_name = "SLUG")]
        conferences: Vec<String>,
        /// Read no password: print a one-time set-password link (72 hours) to send to the
        /// account's owner; it cannot sign in until the link is used.
        #[arg(long)]
        link: bool,
    },
    /// List accounts (never their passwords).
    List,
    /// Disable an account: it cannot sign in, and its sessions end at once.
    Disable {
        /// The account's email.
        email: String,
    },
    /// Enable a disabled account again: it can sign in with its password.
    Enable {
        /// The account's email.
        email: String,
    },
    /// Set a new password (from stdin or a prompt); the account's sessions end at once.
    SetPassword {
        /// The account's email.
        email: String,
    },
    /// Print a new one-time set-password link (72 hours) for a forgotten password; it replaces
    /// the account's earlier link, and the current password works until it is used.
    Link {
        /// The account's email.
        email: String,
    },
    /// Let a manage account see a conference.
    Grant {
        /// The account's email.
        email: String,
        /// The conference's slug.
        #[arg(long)]
        conference: String,
    },
    /// Take a conference away from a manage account (at once, its open sessions included).
    Revoke {
        /// The account's email.
        email: String,
        /// The conference's slug.
        #[arg(long)]
        conference: String,
    },
}

/// A new password: one line of stdin when it is not a terminal, else asked twice without echo.
fn read_new_password() -> Result<Password, CliError> {
    let text = if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Password (at least 12 characters): ")?;
        let second = rpassword::prompt_password("The same password again: ")?;
        if first != second {
            return Err(CliError::Input("password: the two passwords differ".into()));
        }
        first
    } else {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        line.trim_end_matches(['\n', '\r']).to_owned()
    };
    Ok(Password::new(&text)?)
}

fn account_row(a: &Account) -> Vec<String> {
    vec![
        a.email.clone(),
        a.role.to_string(),
        a.conferences.join(";"),
        format_rfc3339(&a.created_at),
        a.disabled_at.as_ref().map(format_rfc3339).unwrap_or_default(),
        AccountStatus::of(a).label().to_owned(),
    ]
}

const HEADER: [&str; 6] = ["email", "role", "conferences", "created_at", "disabled_at", "status"];

/// Prints a new set-password link: the link alone on stdout (a table), or with the account.
fn print_link(made: &NewPasswordLink, public_url: Option<&str>, format: Format, done: &str) -> Result<(), CliError> {
    let link = made.secret.link(public_url);
    let expires_at = format_rfc3339(&made.expires_at);
    match format {
        Format::Json => output::json(&serde_json::json!({
            "account": made.account,
            "link": link,
            "expires_at": expires_at,
        })),
        Format::Csv => {
            let mut row = account_row(&made.account);
            row.extend([link, expires_at]);
            let mut header = HEADER.to_vec();
            header.extend(["link", "link_expires_at"]);
            output::csv(&header, &[row])
        }
        Format::Table => {
            println!("{link}");
            eprintln!(
                "account {} {done}; send this link to its owner: it sets the password once, until {expires_at} \
                 (it is shown only this once)",
                made.account.email
            );
            Ok(())
        }
    }
}

fn print_account(account: &Account, format: Format) -> Result<(), CliError> {
    match format {
        Format::Json => output::json(account),
        Format::Csv => output::csv(&HEADER, &[account_row(account)]),
        Format::Table => Ok(output::table(&HEADER, &[account_row(account)])?),
    }
}

/// Runs one `user` subcommand; `public_url` is the origin of printed links.
pub async fn run(
    store: &dyn Store,
    command: UserCommand,
    public_url: Option<&str>,
    format: Format,
) -> Result<(), CliError> {
    match command {
        UserCommand::Create { email, role, conferences, link: true } => {
            let email = Email::parse("email", &email)?;
            let made = accounts::create_account_with_link(store, &email, role.into(), &conferences).await?;
            print_link(&made, public_url, format, "created")
        }
        UserCommand::Create { email, role, conferences, link: false } => {
            let email = Email::parse("email", &email)?;
            let password = read_new_password()?;
            let account = accounts::create_account(store, &email, role.into(), &password, &conferences).await?;
            print_account(&account, format)
        }
        UserCommand::List => {
            let all = accounts::list_accounts(store).await?;
            let rows: Vec<Vec<String>> = all.iter().map(account_row).collect();
            match format {
                Format::Json => output::json(&all),
                Format::Csv => output::csv(&HEADER, &rows),
                Format::Table => Ok(output::table(&HEADER, &rows)?),
            }
        }
        UserCommand::Disable { email } => {
            let account = accounts::disable_account(store, &Email::parse("email", &email)?).await?;
            if format == Format::Table {
                eprintln!("account {} disabled; its sessions have ended", account.email);
            }
            print_account(&account, format)
        }
        UserCommand::Enable { email } => {
            let account = accounts::enable_account(store, &Email::parse("email", &email)?).await?;
            if format == Format::Table {
                eprintln!("account {} enabled; it can sign in again", account.email);
            }
            print_account(&account, format)
        }
        UserCommand::SetPassword { email } => {
            let email = Email::parse("email", &email)?;
            let password = read_new_password()?;
            accounts::set_password(store, &email, &password).await?;
            match format {
                Format::Json => output::json(&serde_json::json!({"email": email.as_str(), "password_set": true})),
                _ => {
                    eprintln!("password of {email} set; its sessions have ended");
                    Ok(())
                }
            }
        }
        UserCommand::Link { email } => {
            let made = accounts::new_password_link(store, &Email::parse("email", &email)?).await?;
            print_link(&made, public_url, format, "has a new set-password link (the earlier one stopped)")
        }
        UserCommand::Grant { email, conference } => {
            let account = accounts::grant_conference(store, &Email::parse("email", &email)?, &conference).await?;
            print_account(&account, format)
        }
        UserCommand::Revoke { email, conference } => {
            let (account, revoked) =
                accounts::revoke_conference(store, &Email::parse("email", &email)?, &conference).await?;
            if format == Format::Table {
                if revoked {
                    eprintln!("{} no longer sees conference {conference}", account.email);
                } else {
                    eprintln!("{} did not see conference {conference}; nothing changed", account.email);
                }
            }
            print_account(&account, format)
        }
    }
}
