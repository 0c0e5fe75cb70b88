//! Importing codes chosen elsewhere (printed or mailed by another system) from a CSV file with
//! the export's own columns, as one batch in one transaction.
//!
//! Each row passes the rules of `add` (code, terms, restrictions of the conference) and, when it
//! names one, the recipient's. The file is streamed: rows are checked and written a chunk at a
//! time inside the transaction, so memory stays flat however long the file is; any bad row (or a
//! code that exists, ignoring case) fails the whole import, with the lines listed, and the
//! transaction is rolled back.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Read;

use serde::Serialize;

use super::csv_input::CsvRows;
use crate::domain::{
    quoted, Alphabet, Applies, Batch, BatchLabel, BatchSource, CodeFormat, Conference, DiscountSpec, EventType,
    InvalidInput, MaxUses, Recipient, RowError, ValidityWindow, VoucherCode, VoucherType, When,
};
use crate::store::{NewBatch, Store, StoreTx, VoucherTemplate};
use crate::VoucherError;

/// Rows checked and written per round.
const CHUNK: usize = 5_000;

/// The columns an import reads: the export's. `id`, `conference`, `batch_id` and `created_at`
/// are read back and ignored (the import makes new vouchers in a new batch).
pub const IMPORT_COLUMNS: [&str; 18] = crate::domain::Voucher::CSV_COLUMNS;

/// What [`import_vouchers`] created.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Imported {
    /// The new batch (its terms are those of the first row).
    pub batch: Batch,
    /// Vouchers created.
    pub imported: i64,
    /// Of them, assigned to a recipient.
    pub assigned: i64,
}

/// Why a row is not written: the row breaks a rule (the import goes on, to list every bad row),
/// or the database failed (the import stops).
enum Refusal {
    Row(RowError),
    Fatal(VoucherError),
}

impl From<RowError> for Refusal {
    fn from(error: RowError) -> Self {
        Refusal::Row(error)
    }
}

/// One checked row, waiting for its chunk to be written.
struct Row {
    line: u64,
    code: String,
    template_key: TemplateKey,
    times_used: i64,
    is_active: bool,
    recipient: Option<Recipient>,
}

/// Rows with equal keys share one [`VoucherTemplate`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct TemplateKey {
    voucher_type: VoucherType,
    discount_cents: i64,
    max_uses: i64,
    from: Option<i64>,
    until: Option<i64>,
    unlocks: bool,
    restriction_set_id: Option<i64>,
    applies_none: i64,
}

/// The conference's catalogue and the restriction sets found or made so far.
struct Resolver {
    conference: Conference,
    ticket_types: HashMap<String, i64>,
    addons: HashMap<String, i64>,
    sets: HashMap<(Vec<i64>, Vec<i64>), i64>,
    templates: HashMap<TemplateKey, VoucherTemplate>,
    created_at: chrono::DateTime<chrono::Utc>,
}

/// A cell as the export wrote it: the leading `'` that [`crate::domain::spreadsheet_safe`] put
/// before a value is taken off again ([`crate::domain::from_spreadsheet`]).
fn cell(cells: &[String], at: Option<usize>) -> &str {
    crate::domain::from_spreadsheet(at.and_then(|i| cells.get(i)).map(String::as_str).unwrap_or(""))
}

fn flag(field: &'static str, text: &str, default: bool) -> Result<bool, InvalidInput> {
    match text.to_ascii_lowercase().as_str() {
        "" => Ok(default),
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" => Ok(false),
        _ => Err(InvalidInput::new(field, format!("{field} must be true or false, got {}", quoted(text)))),
    }
}

fn integer(field: &'static str, text: &str, default: i64) -> Result<i64, InvalidInput> {
    if text.is_empty() {
        return Ok(default);
    }
    text.parse().map_err(|_| InvalidInput::new(field, format!("{field} must be a whole number, got {}", quoted(text))))
}

fn slugs(text: &str) -> Vec<String> {
    let mut slugs: Vec<String> = text.split(';').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect();
    slugs.sort();
    slugs.dedup();
    slugs
}

/// The columns' positions in the file.
struct Columns {
    at: HashMap<&'static str, usize>,
}

impl Columns {
    fn get(&self, name: &str) -> Option<usize> {
        self.at.get(name).copied()
    }
}

impl Resolver {
    async fn new(store: &dyn Store, conference: Conference) -> Result<Self, VoucherError> {
        let ticket_types = store.ticket_types(&conference).await?.into_iter().map(|t| (t.slug, t.id)).collect();
        let addons = store.addons(&conference).await?.into_iter().map(|a| (a.slug, a.id)).collect();
        Ok(Self {
            conference,
            ticket_types,
            addons,
            sets: HashMap::new(),
            templates: HashMap::new(),
            created_at: super::now(),
        })
    }

    /// Checks one row with the rules of `add`.
    async fn row(
        &mut self,
        tx: &mut dyn StoreTx,
        columns: &Columns,
        line: u64,
        cells: &[String],
    ) -> Result<Row, Refusal> {
        let at = |e: InvalidInput| RowError::new(line, e.field, e.message);
        let get = |name: &str| cell(cells, columns.get(name));
        let code = VoucherCode::parse(get("code")).map_err(at)?.into_string();
        let voucher_type: VoucherType = get("voucher_type").parse().map_err(at)?;
        let discount = match get("discount_value") {
            "" => None,
            text => Some(crate::domain::parse_decimal("discount_value", text).map_err(at)?),
        };
        let discount = DiscountSpec::parse(voucher_type, discount).map_err(at)?;
        let max_uses = MaxUses::new(integer("max_uses", get("max_uses"), 1).map_err(at)?).map_err(at)?.get();
        let times_used = integer("times_used", get("times_used"), 0).map_err(at)?;
        if times_used < 0 || times_used > max_uses {
            return Err(RowError::new(
                line,
                "times_used",
                format!("times_used must be 0 to max_uses ({max_uses}), got {times_used}"),
            )
            .into());
        }
        let when = |field: &'static str| match get(field) {
            "" => Ok(None),
            text => When::parse(field, text).map(Some),
        };
        let window = ValidityWindow::resolve(
            when("valid_from").map_err(at)?,
            when("valid_until").map_err(at)?,
            self.conference.timezone,
        )
        .map_err(at)?;
        let unlocks = flag("unlocks_hidden_tickets", get("unlocks_hidden_tickets"), false).map_err(at)?;
        let is_active = flag("is_active", get("is_active"), true).map_err(at)?;
        // `(none)`: applies to none of the kind (a slug cannot hold parentheses).
        let none = |cell: &str| cell.trim() == Applies::NONE_CSV;
        let (tickets, addons) = (get("applicable_ticket_types"), get("applicable_addons"));
        let applies_none = i64::from(none(tickets)) | (i64::from(none(addons)) << 1);
        let (tickets, addons) = (if none(tickets) { "" } else { tickets }, if none(addons) { "" } else { addons });
        let restriction_set_id = self.restriction_set(tx, line, tickets, addons).await?;
        let recipient = match (get("recipient_email"), get("recipient_name"), get("recipient_tags")) {
            ("", "", "") => None,
            ("", _, _) => {
                return Err(RowError::new(
                    line,
                    "recipient_email",
                    "recipient_email is required when a recipient's name or tags are given",
                )
                .into())
            }
            (email, name, tags) => {
                let tags: BTreeMap<String, String> = match tags {
                    "" => BTreeMap::new(),
                    text => Recipient::tags_from_json(text).ok_or_else(|| {
                        RowError::new(
                            line,
                            "recipient_tags",
                            "recipient_tags must be a JSON object of text values, like {\"company\": \"ACME\"}",
                        )
                    })?,
                };
                let recipient = Recipient::parse(email, name, tags)
                    .map_err(|e| RowError::new(line, format!("recipient_{}", e.field), e.message))?;
                Some(recipient)
            }
        };
        let template_key = TemplateKey {
            voucher_type,
            discount_cents: discount.value().cents(),
            max_uses,
            from: window.from().map(|t| t.timestamp_micros()),
            until: window.until().map(|t| t.timestamp_micros()),
            unlocks,
            restriction_set_id,
            applies_none,
        };
        let created_at = self.created_at;
        let conference_id = self.conference.id;
        self.templates.entry(template_key.clone()).or_insert_with(|| VoucherTemplate {
            conference_id,
            discount,
            max_uses,
            window,
            unlocks_hidden_tickets: unlocks,
            // An import file has no minimums: its vouchers take the defaults.
            min_quantity: crate::VoucherTerms::DEFAULT_MIN_QUANTITY,
            min_subtotal: None,
            budget: None,
            once_per_customer: false,
            restriction_set_id,
            applies_none,
            batch_id: None,
            created_at,
            readable: false,
        });
        Ok(Row { line, code, template_key, times_used, is_active, recipient })
    }

    /// The ticket types' and add-ons' slugs of a restriction set this import used, sorted.
    fn set_slugs(&self, set_id: Option<i64>, applies_none: i64) -> (Applies, Applies) {
        let found = self.sets.iter().find(|(_, id)| Some(**id) == set_id).map(|(key, _)| key);
        let applies = |known: &HashMap<String, i64>, ids: Option<&Vec<i64>>, bit: i64| {
            if applies_none & bit != 0 {
                return Applies::Nothing;
            }
            let ids = ids.map(Vec::as_slice).unwrap_or_default();
            let mut slugs: Vec<String> =
                known.iter().filter(|(_, id)| ids.contains(id)).map(|(slug, _)| slug.clone()).collect();
            slugs.sort();
            Applies::these(slugs)
        };
        (applies(&self.ticket_types, found.map(|k| &k.0), 1), applies(&self.addons, found.map(|k| &k.1), 2))
    }

    /// The restriction set of a row's ticket types and add-ons, found or made once per set.
    async fn restriction_set(
        &mut self,
        tx: &mut dyn StoreTx,
        line: u64,
        ticket_types: &str,
        addons: &str,
    ) -> Result<Option<i64>, Refusal> {
        let lookup = |known: &HashMap<String, i64>, field: &'static str, what: &str, slugs: Vec<String>| {
            let mut ids = Vec::with_capacity(slugs.len());
            for slug in slugs {
                let id = known.get(&slug).ok_or_else(|| {
                    RowError::new(
                        line,
                        field,
                        format!(
                            "{what} {} does not exist in conference {}{}",
                            quoted(&slug),
                            quoted(&self.conference.slug),
                            crate::domain::did_you_mean(
                                &crate::domain::closest(&slug, known.keys().map(String::as_str)).map(str::to_owned)
                            )
                        ),
                    )
                })?;
                ids.push(*id);
            }
            ids.sort_unstable();
            Ok::<_, RowError>(ids)
        };
        let tt = lookup(&self.ticket_types, "applicable_ticket_types", "ticket type", slugs(ticket_types))?;
        let ad = lookup(&self.addons, "applicable_addons", "add-on", slugs(addons))?;
        if tt.is_empty() && ad.is_empty() {
            return Ok(None);
        }
        if let Some(id) = self.sets.get(&(tt.clone(), ad.clone())) {
            return Ok(Some(*id));
        }
        let id = tx
            .restriction_set(self.conference.id, &tt, &ad)
            .await
            .map_err(|e| Refusal::Fatal(VoucherError::from(e)))?;
        self.sets.insert((tt, ad), id);
        Ok(Some(id))
    }
}

/// Imports every row of `reader` (a CSV file with the export's columns; `code` and
/// `voucher_type` are required) into the conference as one new batch, in one transaction.
///
/// # Errors
/// [`VoucherError::InvalidRows`] listing the lines that break a rule, or whose code exists in
/// the conference or earlier in the file (ignoring case), or whose recipient's email is taken by
/// an earlier row; [`VoucherError::Invalid`] for a file whose header is missing a required column
/// or names an unknown one. Nothing is written in any error case.
#[tracing::instrument(level = "debug", skip_all, fields(conference = %conference))]
pub async fn import_vouchers(store: &dyn Store, conference: &str, reader: impl Read) -> Result<Imported, VoucherError> {
    run(store, conference, &BatchLabel::default(), reader, Mode::Commit).await.map(|(imported, _)| imported)
}

/// [`import_vouchers`], the new batch named by `label`.
///
/// # Errors
/// Those of [`import_vouchers`], and [`VoucherError::Invalid`] naming `name` or `note`.
#[tracing::instrument(level = "debug", skip_all, fields(conference = %conference))]
pub async fn import_named(
    store: &dyn Store,
    conference: &str,
    label: &BatchLabel,
    reader: impl Read,
) -> Result<Imported, VoucherError> {
    run(store, conference, label, reader, Mode::Commit).await.map(|(imported, _)| imported)
}

/// The rows a preview shows.
pub const PREVIEW_ROWS: usize = 10;

/// One row of a preview, as checked.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PreviewRow {
    /// Its line in the file.
    pub line: u64,
    /// The code.
    pub code: String,
    /// Kind of discount.
    pub voucher_type: VoucherType,
    /// Percentage or amount.
    pub discount_value: crate::domain::Money,
    /// Uses allowed.
    pub max_uses: i64,
    /// The recipient's email, if the row names one.
    pub recipient: Option<String>,
}

/// What an import of a file would do, found by running it and rolling it back.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImportPreview {
    /// Vouchers it would create.
    pub rows: i64,
    /// Of them, assigned to a recipient.
    pub assigned: i64,
    /// The first [`PREVIEW_ROWS`] rows.
    pub first: Vec<PreviewRow>,
}

/// Checks a file exactly as [`import_vouchers`] would import it (every rule, codes against the
/// conference's unique index), inside a transaction that is rolled back: nothing is written.
///
/// # Errors
/// Those of [`import_vouchers`], with every bad row (the first
/// [`VoucherError::ROWS_SHOWN`] listed).
#[tracing::instrument(level = "debug", skip_all, fields(conference = %conference))]
pub async fn preview_import(
    store: &dyn Store,
    conference: &str,
    reader: impl Read,
) -> Result<ImportPreview, VoucherError> {
    let (imported, first) = run(store, conference, &BatchLabel::default(), reader, Mode::DryRun).await?;
    Ok(ImportPreview { rows: imported.imported, assigned: imported.assigned, first })
}

/// Whether an import is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Commit,
    DryRun,
}

/// The import, committed or (a preview) rolled back; with the first rows as checked.
async fn run(
    store: &dyn Store,
    conference: &str,
    label: &BatchLabel,
    reader: impl Read,
    mode: Mode,
) -> Result<(Imported, Vec<PreviewRow>), VoucherError> {
    let conference = super::catalog::conference(store, conference).await?;
    let mut rows = CsvRows::open(reader, "file", &["code", "voucher_type"])?;
    if let Some(unknown) = rows.columns().iter().find(|c| !IMPORT_COLUMNS.contains(&c.as_str())) {
        return Err(InvalidInput::new(
            "file",
            format!(
                "file: the header names an unknown column {}; the columns are {}",
                quoted(unknown),
                IMPORT_COLUMNS.join(", ")
            ),
        )
        .into());
    }
    let columns =
        Columns { at: IMPORT_COLUMNS.iter().filter_map(|name| rows.index(name).map(|i| (*name, i))).collect() };
    let mut resolver = Resolver::new(store, conference).await?;
    let mut tx = store.begin().await?;
    let mut batch: Option<(i64, TemplateKey)> = None;
    let mut emails: HashSet<String> = HashSet::new();
    let (mut imported, mut assigned) = (0i64, 0i64);
    let mut chunk: Vec<Row> = Vec::with_capacity(CHUNK);
    let mut first_rows: Vec<PreviewRow> = Vec::new();
    loop {
        let next = rows.next_record();
        if let Some((line, cells)) = &next {
            match resolver.row(tx.as_mut(), &columns, *line, cells).await {
                Ok(row) => {
                    if let Some(r) = &row.recipient {
                        if !emails.insert(r.email.clone()) {
                            rows.reject(RowError::new(
                                *line,
                                "recipient_email",
                                format!("{} is given a code twice in this file", quoted(&r.email)),
                            ));
                            continue;
                        }
                    }
                    if first_rows.len() < PREVIEW_ROWS {
                        let template = &resolver.templates[&row.template_key];
                        first_rows.push(PreviewRow {
                            line: row.line,
                            code: row.code.clone(),
                            voucher_type: template.discount.voucher_type(),
                            discount_value: template.discount.value(),
                            max_uses: template.max_uses,
                            recipient: row.recipient.as_ref().map(|r| r.email.clone()),
                        });
                    }
                    chunk.push(row);
                }
                Err(Refusal::Row(e)) => rows.reject(e),
                Err(Refusal::Fatal(e)) => return Err(e),
            }
        }
        let end = next.is_none();
        if chunk.len() >= CHUNK || (end && !chunk.is_empty()) {
            // Written even after a bad row (the transaction is rolled back then): the unique
            // index is what finds the codes that exist.
            {
                let batch_id = match &batch {
                    Some((id, _)) => *id,
                    None => {
                        let first = chunk[0].template_key.clone();
                        let template = &resolver.templates[&first];
                        let id = tx
                            .insert_batch(&NewBatch {
                                prefix: "",
                                label,
                                count: 1,
                                template,
                                source: BatchSource::Import,
                                format: CodeFormat::default(),
                            })
                            .await?;
                        batch = Some((id, first));
                        id
                    }
                };
                let (written, with_recipient) =
                    write_chunk(tx.as_mut(), &resolver, batch_id, &chunk, &mut rows).await?;
                imported += written;
                assigned += with_recipient;
            }
            chunk.clear();
        }
        if end {
            break;
        }
    }
    rows.finish()?;
    let Some((batch_id, first)) = batch else {
        return Err(InvalidInput::new("file", "file: there is no row to import").into());
    };
    tx.set_batch_count(batch_id, imported).await?;
    let template = &resolver.templates[&first];
    let (ticket_types, addons) = resolver.set_slugs(template.restriction_set_id, template.applies_none);
    let batch = Batch {
        alphabet: Alphabet::Alnum,
        length: CodeFormat::DEFAULT_LENGTH,
        check_char: false,
        id: batch_id,
        conference: resolver.conference.slug.clone(),
        prefix: String::new(),
        name: label.name.clone(),
        note: label.note.clone(),
        count: imported,
        voucher_type: template.discount.voucher_type(),
        discount_value: template.discount.value(),
        max_uses: template.max_uses,
        valid_from: template.window.from(),
        valid_until: template.window.until(),
        unlocks_hidden_tickets: template.unlocks_hidden_tickets,
        applicable_ticket_types: ticket_types,
        applicable_addons: addons,
        created_at: template.created_at,
        source: BatchSource::Import,
        min_quantity: template.min_quantity,
        min_subtotal: template.min_subtotal,
        budget: template.budget,
        once_per_customer: template.once_per_customer,
    };
    let changes = serde_json::json!({ "batch": batch_id, "imported": imported, "assigned": assigned });
    super::audit(tx.as_mut(), Some(resolver.conference.id), "batch.import", &format!("batch {batch_id}"), changes)
        .await?;
    let data = super::webhooks::BatchData { batch: &batch, deactivated: None };
    let conference = (resolver.conference.id, resolver.conference.slug.as_str());
    super::webhooks::emit(tx.as_mut(), conference, EventType::BatchCreated, &data, super::now()).await?;
    if mode == Mode::Commit {
        tx.commit().await?;
    }
    // A dry run's transaction is dropped here: rolled back, nothing written.
    Ok((Imported { batch, imported, assigned }, first_rows))
}

/// Writes a chunk of checked rows inside `tx`; a code the unique index refuses is a bad row.
/// Returns the vouchers written and how many of them got a recipient.
async fn write_chunk<R: Read>(
    tx: &mut dyn StoreTx,
    resolver: &Resolver,
    batch_id: i64,
    chunk: &[Row],
    rows: &mut CsvRows<R>,
) -> Result<(i64, i64), VoucherError> {
    // Groups in the order of their first row, so the later of two equal codes is the one named.
    let mut groups: Vec<(&TemplateKey, Vec<&Row>)> = Vec::new();
    let mut at: HashMap<&TemplateKey, usize> = HashMap::new();
    for row in chunk {
        let i = *at.entry(&row.template_key).or_insert_with(|| {
            groups.push((&row.template_key, Vec::new()));
            groups.len() - 1
        });
        groups[i].1.push(row);
    }
    let (mut written, mut assigned) = (0i64, 0i64);
    for (key, group) in groups {
        let mut template = resolver.templates[key].clone();
        template.batch_id = Some(batch_id);
        let codes: Vec<String> = group.iter().map(|r| r.code.clone()).collect();
        let inserted: HashMap<String, i64> =
            tx.insert_vouchers(&template, &codes).await?.into_iter().map(|(id, code)| (code, id)).collect();
        let mut usage = Vec::new();
        let mut recipients = Vec::new();
        let mut taken = HashSet::new();
        for row in group {
            let Some(&id) = inserted.get(&row.code).filter(|id| taken.insert(**id)) else {
                rows.reject(RowError::new(
                    row.line,
                    "code",
                    format!(
                        "{} exists already in the conference or earlier in the file (codes ignore case)",
                        quoted(&row.code)
                    ),
                ));
                continue;
            };
            written += 1;
            if row.times_used != 0 || !row.is_active {
                usage.push((id, row.times_used, row.is_active));
            }
            if let Some(r) = &row.recipient {
                recipients.push((id, r));
            }
        }
        if rows.error_count > 0 {
            // The import fails anyway: nothing more needs writing.
            continue;
        }
        tx.set_usage(&usage).await?;
        if !recipients.is_empty() {
            tx.assign_recipients(&recipients, super::now()).await?;
            assigned += recipients.len() as i64;
        }
    }
    Ok((written, assigned))
}
