//! `vouchers allotment create|list|show|extend|resize|revoke-link|new-link|close-due`: sponsor
//! allotments. The sponsor's link is printed once, at create and new-link.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use vouchers_core::domain::{format_rfc3339, parse_reminder_days, Allotment, Alphabet, CodeFormat, When};
use vouchers_core::service::allotments::{self, AllotmentRequest, Created};
use vouchers_core::{Limits, Store, VoucherBulkConfig, VoucherTerms};

use super::terms::TermsArgs;
use crate::cli::Format;
use crate::error::CliError;
use crate::output;

/// The arguments of `allotment create`.
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// The sponsor's name, as the attendees' email and the sponsor's page show it.
    #[arg(long)]
    pub sponsor: String,
    /// The sponsor's contact email (reminders go there).
    #[arg(long)]
    pub contact: String,
    /// Passes the sponsor may give out (1 to --max-batch).
    #[arg(long, allow_negative_numbers = true)]
    pub seats: i64,
    /// When unassigned passes go back: RFC 3339 with an offset, or YYYY-MM-DDTHH:MM in the
    /// conference's time zone.
    #[arg(long)]
    pub deadline: String,
    /// Days before the deadline the contact is reminded while passes are left (`none`: no
    /// reminder).
    #[arg(long, default_value = "7,1")]
    pub reminder_days: String,
    /// The attendee email's subject (a template; `{{ sponsor }}` and the `send` placeholders).
    #[arg(long)]
    pub subject: Option<String>,
    /// The attendee email's plain-text template (a file).
    #[arg(long, value_name = "FILE")]
    pub template: Option<PathBuf>,
    /// The attendee email's HTML template (a file).
    #[arg(long, value_name = "FILE")]
    pub html_template: Option<PathBuf>,
    /// Text in front of every code: at most 20 characters of A-Z a-z 0-9 - _ .
    #[arg(long, default_value = "")]
    pub prefix: String,
    /// The random characters' alphabet: `alnum` or `readable`.
    #[arg(long, default_value = Alphabet::default().as_str(), value_parser = super::generate::alphabet)]
    pub alphabet: Alphabet,
    /// Random characters after the prefix, 6 to 32.
    #[arg(long, default_value_t = i64::from(CodeFormat::DEFAULT_LENGTH), allow_negative_numbers = true)]
    pub length: i64,
    /// Append a check character.
    #[arg(long)]
    pub check_char: bool,
    /// Create it even if its codes could be guessed faster than the floor.
    #[arg(long)]
    pub allow_weak_codes: bool,
    #[command(flatten)]
    pub terms: TermsArgs,
}

/// The allotment subcommands.
#[derive(Debug, Subcommand)]
pub enum AllotmentCommand {
    /// Give a sponsor passes with a deadline, with the terms of every pass's code (those of
    /// `generate`), and print the sponsor's link (shown only this once).
    Create(Box<CreateArgs>),
    /// List a conference's allotments.
    List {
        /// The conference's slug.
        #[arg(long)]
        conference: String,
    },
    /// Show one allotment: seats, assigned, redeemed, left, the deadline.
    Show {
        /// The allotment's id.
        id: i64,
    },
    /// Set a new deadline (in the future); a closed allotment opens again with its passes back.
    Extend {
        /// The allotment's id.
        id: i64,
        /// The new deadline, same forms as `create --deadline`.
        #[arg(long)]
        deadline: String,
    },
    /// Change the number of passes (never below those assigned).
    Resize {
        /// The allotment's id.
        id: i64,
        /// The new number of passes.
        #[arg(long, allow_negative_numbers = true)]
        seats: i64,
    },
    /// Stop the sponsor's link (and end the sessions it opened).
    RevokeLink {
        /// The allotment's id.
        id: i64,
    },
    /// Give the sponsor a new link (printed once); the old one stops at once.
    NewLink {
        /// The allotment's id.
        id: i64,
    },
    /// Close every allotment whose deadline has passed, in every conference, returning its
    /// unassigned passes (what `serve` does by itself; for cron).
    CloseDue,
}

/// Runs an allotment subcommand; `public_url` is the origin of printed links.
pub async fn run(
    store: &dyn Store,
    command: AllotmentCommand,
    limits: &Limits,
    public_url: Option<&str>,
    format: Format,
) -> Result<(), CliError> {
    match command {
        AllotmentCommand::Create(args) => {
            let request = request(*args)?;
            let created = allotments::create(store, limits, &request).await?;
            with_link(&created, public_url, format, "created")
        }
        AllotmentCommand::List { conference } => print(&allotments::list(store, &conference).await?, format),
        AllotmentCommand::Show { id } => {
            let conference = allotments::conference_of(store, id).await?;
            let allotment = allotments::show(store, &conference, id).await?;
            one(&allotment, format)
        }
        AllotmentCommand::Extend { id, deadline } => {
            let conference = allotments::conference_of(store, id).await?;
            let deadline = When::parse("deadline", &deadline)?;
            one(&allotments::extend(store, &conference, id, deadline).await?, format)
        }
        AllotmentCommand::Resize { id, seats } => {
            let conference = allotments::conference_of(store, id).await?;
            one(&allotments::resize(store, limits, &conference, id, seats).await?, format)
        }
        AllotmentCommand::RevokeLink { id } => {
            let conference = allotments::conference_of(store, id).await?;
            let allotment = allotments::revoke_link(store, &conference, id).await?;
            if format == Format::Table {
                eprintln!("allotment {id}: the sponsor's link no longer opens anything");
            }
            one(&allotment, format)
        }
        AllotmentCommand::NewLink { id } => {
            let conference = allotments::conference_of(store, id).await?;
            let created = allotments::new_link(store, &conference, id).await?;
            let link = created.secret.link(public_url);
            match format {
                Format::Json => output::json(&serde_json::json!({ "link": link })),
                Format::Csv => output::csv(&["link"], &[vec![link]]),
                Format::Table => {
                    println!("{link}");
                    eprintln!("allotment {id} has a new link (the old one stopped); it is shown only this once");
                    Ok(())
                }
            }
        }
        AllotmentCommand::CloseDue => {
            let closed = allotments::close_due(store, vouchers_core::now()).await?;
            match format {
                Format::Json => output::json(&closed),
                _ => {
                    let header = ["conference", "id", "sponsor", "returned"];
                    let rows: Vec<Vec<String>> = closed
                        .iter()
                        .map(|c| {
                            vec![c.conference.clone(), c.id.to_string(), c.sponsor.clone(), c.returned.to_string()]
                        })
                        .collect();
                    if format == Format::Csv {
                        output::csv(&header, &rows)
                    } else {
                        eprintln!("{} allotment(s) closed", closed.len());
                        Ok(output::table(&header, &rows)?)
                    }
                }
            }
        }
    }
}

/// The request of `create`, from its flags.
fn request(args: CreateArgs) -> Result<AllotmentRequest, CliError> {
    let terms = VoucherTerms::try_from(&args.terms)?;
    let read = |flag, path: &Option<PathBuf>| path.as_deref().map(|p| super::mail::read_text(flag, p)).transpose();
    Ok(AllotmentRequest {
        sponsor: args.sponsor,
        contact: args.contact,
        seats: args.seats,
        deadline: When::parse("deadline", &args.deadline)?,
        reminder_days: Some(parse_reminder_days(&args.reminder_days)?),
        subject: args.subject,
        template: read("--template", &args.template)?,
        html_template: read("--html-template", &args.html_template)?,
        codes: VoucherBulkConfig {
            conference: args.terms.conference,
            prefix: args.prefix,
            count: args.seats,
            terms,
            alphabet: args.alphabet,
            length: args.length,
            check_char: args.check_char,
            allow_weak_codes: args.allow_weak_codes,
            name: String::new(),
            note: String::new(),
        },
    })
}

fn with_link(created: &Created, public_url: Option<&str>, format: Format, done: &str) -> Result<(), CliError> {
    let answer = created.with_link(public_url);
    match format {
        Format::Json => output::json(&answer),
        Format::Csv => {
            let mut rows = rows(std::slice::from_ref(&answer.allotment));
            rows[0].push(answer.link.clone());
            let mut header = HEADER.to_vec();
            header.push("link");
            output::csv(&header, &rows)
        }
        Format::Table => {
            println!("{}", answer.link);
            let a = &answer.allotment;
            eprintln!(
                "allotment {} {done} for {}: {} passes until {}; send this link to {} (it is shown only this once)",
                a.id,
                a.sponsor,
                a.seats,
                format_rfc3339(&a.deadline),
                a.contact
            );
            Ok(())
        }
    }
}

const HEADER: [&str; 10] =
    ["id", "sponsor", "contact", "seats", "assigned", "redeemed", "left", "deadline", "closed", "returned"];

fn rows(all: &[Allotment]) -> Vec<Vec<String>> {
    all.iter()
        .map(|a| {
            vec![
                a.id.to_string(),
                a.sponsor.clone(),
                a.contact.clone(),
                a.seats.to_string(),
                a.assigned.to_string(),
                a.redeemed.to_string(),
                a.left.to_string(),
                format_rfc3339(&a.deadline),
                a.closed.to_string(),
                a.returned.to_string(),
            ]
        })
        .collect()
}

fn one(allotment: &Allotment, format: Format) -> Result<(), CliError> {
    if format == Format::Json {
        return output::json(allotment);
    }
    print(std::slice::from_ref(allotment), format)
}

fn print(all: &[Allotment], format: Format) -> Result<(), CliError> {
    match format {
        Format::Json => output::json(all),
        Format::Csv => output::csv(&HEADER, &rows(all)),
        Format::Table => Ok(output::table(&HEADER, &rows(all))?),
    }
}
