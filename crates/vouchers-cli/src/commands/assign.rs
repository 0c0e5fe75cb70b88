//! `vouchers assign`: each recipient of a CSV file gets one unassigned code of a batch, in one
//! transaction; with `--send`, their messages are queued in the same transaction.

use std::path::{Path, PathBuf};

use clap::Args;
use vouchers_core::service::assign::{self, RecipientList};
use vouchers_core::Store;

use super::mail::TemplateArgs;
use crate::cli::Format;
use crate::error::CliError;
use crate::output;

/// The arguments of `assign`.
#[derive(Debug, Args)]
pub struct AssignArgs {
    /// The conference's slug.
    #[arg(long)]
    pub conference: String,
    /// The batch whose codes are handed out.
    #[arg(long)]
    pub batch: i64,
    /// A CSV file with the columns `email` and `name`; every other column is kept as a tag.
    #[arg(long, value_name = "FILE")]
    pub recipients: PathBuf,
    /// Queue each recipient's message in the same transaction (needs --subject and --template).
    #[arg(long)]
    pub send: bool,
    #[command(flatten)]
    pub template: TemplateArgs,
}

/// Opens a recipients file (a missing or unreadable file is input the command refuses).
pub fn recipients_file(path: &Path) -> Result<RecipientList, CliError> {
    let file = std::fs::File::open(path)
        .map_err(|e| CliError::Input(format!("--recipients: {} cannot be read: {e}", path.display())))?;
    Ok(RecipientList::from_csv(std::io::BufReader::new(file))?)
}

/// Assigns the recipients and prints who got which code.
pub async fn run(store: &dyn Store, args: AssignArgs, format: Format) -> Result<(), CliError> {
    let template = if args.send {
        Some(args.template.template()?)
    } else {
        if args.template.subject.is_some() || args.template.template.is_some() {
            return Err(CliError::Input("--subject and --template go with --send".into()));
        }
        None
    };
    let recipients = recipients_file(&args.recipients)?;
    let assigned =
        assign::assign_recipients(store, &args.conference, args.batch, &recipients, template.as_ref()).await?;
    if format == Format::Json {
        return output::json(&assigned);
    }
    let header = ["code", "email", "name", "tags"];
    let rows: Vec<Vec<String>> = assigned
        .assignments
        .iter()
        .map(|a| {
            let tags: Vec<String> = a.recipient.tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
            vec![a.code.clone(), a.recipient.email.clone(), a.recipient.name.clone(), tags.join("; ")]
        })
        .collect();
    if format == Format::Csv {
        output::csv(&header, &rows)?;
    } else {
        output::table(&header, &rows)?;
    }
    match assigned.queued {
        Some(queued) => eprintln!("batch {}: {} codes assigned, {queued} messages queued", args.batch, rows.len()),
        None => eprintln!("batch {}: {} codes assigned", args.batch, rows.len()),
    }
    Ok(())
}
