//! `vouchers user create|list|disable|set-password|grant`: the organizer accounts that sign in to
//! the web console. A password is read from stdin (one line) when stdin is not a terminal, and
//! asked for twice, without echo, when it is; it is never a flag (it would show in `ps` and in
//! the shell's history).

use std::io::{BufRead, IsTerminal};

use clap::{Subcommand, ValueEnum};
use vouchers_core::domain::{format_rfc3339, Account, Email, Password, Role};
use vouchers_core::service::accounts;
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
    /// Create an account; the password (at least 12 characters) comes from stdin or a prompt.
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
    },
    /// List accounts (never their passwords).
    List,
    /// Disable an account: it cannot sign in, and its sessions end at once.
    Disable {
        /// The account's email.
        email: String,
    },
    /// Set a new password (from stdin or a prompt); the account's sessions end at once.
    SetPassword {
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
    ]
}

const HEADER: [&str; 5] = ["email", "role", "conferences", "created_at", "disabled_at"];

fn print_account(account: &Account, format: Format) -> Result<(), CliError> {
    match format {
        Format::Json => output::json(account),
        Format::Csv => output::csv(&HEADER, &[account_row(account)]),
        Format::Table => Ok(output::table(&HEADER, &[account_row(account)])?),
    }
}

/// Runs one `user` subcommand.
pub async fn run(store: &dyn Store, command: UserCommand, format: Format) -> Result<(), CliError> {
    match command {
        UserCommand::Create { email, role, conferences } => {
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
        UserCommand::Grant { email, conference } => {
            let account = accounts::grant_conference(store, &Email::parse("email", &email)?, &conference).await?;
            print_account(&account, format)
        }
    }
}
