//! Handing codes to people: each recipient of a list gets one unassigned voucher of a batch, all
//! in one transaction, optionally with their messages queued in the same transaction.
//!
//! A list is checked whole before anything is written: every row's email, name and tags, and no
//! email twice. A file's rows are named by their line, a JSON list's by their position.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Read;

use serde::{Deserialize, Serialize};

use super::csv_input::CsvRows;
use super::send::queue_batch_messages;
use crate::domain::{quoted, Conference, MessageTemplate, Recipient, RowError};
use crate::store::{Store, StoreError, StoreTx, VoucherFilter};
use crate::VoucherError;

/// The most recipients one list may hold.
pub const MAX_RECIPIENTS: usize = 100_000;

/// One recipient as a caller sends it (the API's JSON rows).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RecipientInput {
    /// Email address.
    pub email: String,
    /// Display name.
    pub name: String,
    /// Free-form tags (`{"company": "ACME"}`), each a text value.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

/// A checked list of recipients: every row valid, no email twice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecipientList {
    recipients: Vec<Recipient>,
}

/// The recipients found so far and the rows refused.
struct Checker {
    recipients: Vec<Recipient>,
    first_line: HashMap<String, u64>,
}

impl Checker {
    fn new() -> Self {
        Self { recipients: Vec::new(), first_line: HashMap::new() }
    }

    /// Checks one row; the error names the row.
    fn take(
        &mut self,
        at: u64,
        row_error: fn(u64, String, String) -> RowError,
        email: &str,
        name: &str,
        tags: BTreeMap<String, String>,
    ) -> Result<(), RowError> {
        let recipient =
            Recipient::parse(email, name, tags).map_err(|e| row_error(at, e.field.to_owned(), e.message))?;
        if let Some(first) = self.first_line.get(&recipient.email) {
            return Err(row_error(
                at,
                "email".to_owned(),
                format!("{} appears again (first at {first}); each recipient gets one code", quoted(&recipient.email)),
            ));
        }
        self.first_line.insert(recipient.email.clone(), at);
        self.recipients.push(recipient);
        Ok(())
    }
}

fn too_many(field: &'static str) -> VoucherError {
    crate::domain::InvalidInput::new(field, format!("{field}: at most {MAX_RECIPIENTS} recipients per list")).into()
}

impl RecipientList {
    /// Reads a CSV file with the columns `email` and `name`; every other column is a tag (its
    /// header the tag's key).
    pub fn from_csv(reader: impl Read) -> Result<Self, VoucherError> {
        let mut rows = CsvRows::open(reader, "recipients", &["email", "name"])?;
        let (email_at, name_at) = (rows.index("email").unwrap_or(0), rows.index("name").unwrap_or(0));
        let tag_columns: Vec<(usize, String)> = rows
            .columns()
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != email_at && *i != name_at)
            .map(|(i, c)| (i, c.clone()))
            .collect();
        for (_, key) in &tag_columns {
            crate::domain::check_tag_key(key).map_err(|e| {
                crate::domain::InvalidInput::new(
                    "recipients",
                    format!("recipients: line 1, column {}: {}", quoted(key), e.message),
                )
            })?;
        }
        let mut checker = Checker::new();
        while let Some((line, cells)) = rows.next_record() {
            if checker.recipients.len() >= MAX_RECIPIENTS {
                return Err(too_many("recipients"));
            }
            let tags = tag_columns.iter().map(|(i, key)| (key.clone(), cells[*i].clone())).collect();
            let row_error = |at, field, message| RowError::new(at, field, message);
            if let Err(e) = checker.take(line, row_error, &cells[email_at], &cells[name_at], tags) {
                rows.reject(e);
            }
        }
        rows.finish()?;
        Self::checked(checker.recipients)
    }

    /// Checks a JSON list of recipients; a bad row is named by its position (from 1).
    pub fn from_inputs(inputs: &[RecipientInput]) -> Result<Self, VoucherError> {
        if inputs.len() > MAX_RECIPIENTS {
            return Err(too_many("recipients"));
        }
        let mut checker = Checker::new();
        let (mut errors, mut total) = (Vec::new(), 0);
        for (i, input) in inputs.iter().enumerate() {
            let row_error = |at, field, message| RowError::row(at, field, message);
            if let Err(e) = checker.take(i as u64 + 1, row_error, &input.email, &input.name, input.tags.clone()) {
                total += 1;
                if errors.len() < VoucherError::ROWS_SHOWN {
                    errors.push(e);
                }
            }
        }
        if total > 0 {
            return Err(VoucherError::InvalidRows { field: "recipients", rows: errors, total });
        }
        Self::checked(checker.recipients)
    }

    fn checked(recipients: Vec<Recipient>) -> Result<Self, VoucherError> {
        if recipients.is_empty() {
            return Err(crate::domain::InvalidInput::new("recipients", "recipients: the list has no recipient").into());
        }
        Ok(Self { recipients })
    }

    /// The recipients, in list order.
    pub fn recipients(&self) -> &[Recipient] {
        &self.recipients
    }

    /// How many.
    pub fn len(&self) -> usize {
        self.recipients.len()
    }

    /// Never true: a list holds at least one recipient.
    pub fn is_empty(&self) -> bool {
        self.recipients.is_empty()
    }
}

/// One code handed to one recipient.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Assignment {
    /// The voucher's code.
    pub code: String,
    /// Who got it.
    pub recipient: Recipient,
}

/// What [`assign_recipients`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Assigned {
    /// The batch.
    pub batch_id: i64,
    /// Each recipient with their code, in list order.
    pub assignments: Vec<Assignment>,
    /// Messages queued in the same transaction (`null` when none were asked for).
    pub queued: Option<u64>,
}

/// Gives each recipient one active, unused, unassigned voucher of the batch (lowest ids first)
/// and, with `send`, queues their messages, in one transaction.
///
/// # Errors
/// [`VoucherError::ConferenceNotFound`], [`VoucherError::BatchNotFound`];
/// [`VoucherError::NotEnoughCodes`] when the batch has fewer such vouchers than recipients;
/// [`VoucherError::Duplicate`] when an email already holds a code of the batch. Nothing is
/// written in any error case.
#[tracing::instrument(level = "debug", skip_all, fields(conference = %conference, batch = batch_id))]
pub async fn assign_recipients(
    store: &dyn Store,
    conference: &str,
    batch_id: i64,
    recipients: &RecipientList,
    send: Option<&MessageTemplate>,
) -> Result<Assigned, VoucherError> {
    let conference = super::send::batch_of(store, conference, batch_id).await?;
    let needed = recipients.len();
    let mut tx = store.begin().await?;
    let written = async {
        let free = tx.unassigned_vouchers(batch_id, needed as i64).await?;
        if free.len() < needed {
            return Err(VoucherError::NotEnoughCodes { batch: batch_id, needed, available: free.len() });
        }
        let pairs: Vec<(i64, &Recipient)> = free.iter().map(|(id, _)| *id).zip(recipients.recipients()).collect();
        write_assignments(store, tx.as_mut(), &conference, batch_id, &pairs).await?;
        let queued = match send {
            Some(template) => Some(queue_batch_messages(tx.as_mut(), &conference, batch_id, template).await?),
            None => None,
        };
        let changes = serde_json::json!({ "assigned": needed, "queued": queued });
        super::audit(tx.as_mut(), Some(conference.id), "batch.assign", &format!("batch {batch_id}"), changes).await?;
        Ok((free, queued))
    }
    .await;
    let (free, queued) = match written {
        Ok(written) => written,
        Err(refused) => {
            // The vouchers read `SKIP LOCKED` are let go at once, for the next try (a rollback
            // that fails leaves that to the dropped transaction; the refusal is what is told).
            let _ = tx.rollback().await;
            return Err(refused);
        }
    };
    tx.commit().await?;
    let assignments = free
        .into_iter()
        .zip(recipients.recipients())
        .map(|((_, code), recipient)| Assignment { code, recipient: recipient.clone() })
        .collect();
    Ok(Assigned { batch_id, assignments, queued })
}

/// Writes assignments inside `tx`; an email that holds a code of the batch already is a
/// [`VoucherError::Duplicate`] naming it.
pub(crate) async fn write_assignments(
    store: &dyn Store,
    tx: &mut dyn StoreTx,
    conference: &Conference,
    batch_id: i64,
    pairs: &[(i64, &Recipient)],
) -> Result<(), VoucherError> {
    match tx.assign_recipients(pairs, super::now()).await {
        Ok(n) if n as usize == pairs.len() => Ok(()),
        // The vouchers were locked (PostgreSQL) or the write lock held (SQLite) since they were
        // read as unassigned; only a concurrent bug could get here.
        Ok(_) => Err(VoucherError::CodeConflict(StoreError::Corrupt("a voucher was assigned concurrently".into()))),
        Err(StoreError::UniqueViolation { .. }) => Err(duplicate_email(store, conference, batch_id, pairs).await),
        Err(e) => Err(e.into()),
    }
}

/// The error for an email that holds a code of the batch already, naming it when it can be found
/// among the committed assignments.
async fn duplicate_email(
    store: &dyn Store,
    conference: &Conference,
    batch_id: i64,
    pairs: &[(i64, &Recipient)],
) -> VoucherError {
    let wanted: HashSet<&str> = pairs.iter().map(|(_, r)| r.email.as_str()).collect();
    let filter = VoucherFilter { batch_id: Some(batch_id), ..Default::default() };
    let found = match store.vouchers(conference, &filter).await {
        Ok(vouchers) => vouchers.into_iter().filter_map(|v| v.recipient).find(|r| wanted.contains(r.email.as_str())),
        Err(_) => None,
    };
    VoucherError::Duplicate {
        what: "recipient email",
        field: "email",
        value: found.map(|r| r.email).unwrap_or_else(|| "(one of the list's emails)".to_owned()),
        scope: format!(" in batch {batch_id} (each email gets one code of a batch)"),
    }
}
