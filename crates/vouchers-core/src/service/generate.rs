//! Bulk generation: `generate_voucher_codes(config)`, ported from the Django `voucher_service`
//! module (the README's "The rules" section lists what it keeps).
//!
//! Differences from that service, each closing a gap it documents:
//! - existing codes are never loaded; the unique index decides, inside the transaction, and a
//!   code it refuses is replaced by a fresh one (so two organizers generating with the same
//!   prefix at once both succeed);
//! - restrictions are written once per batch as a shared restriction set, not as
//!   count x (ticket types + add-ons) link rows;
//! - ticket types and add-ons must belong to the batch's conference;
//! - the batch itself is recorded;
//! - vouchers come back in generation order.

use std::collections::{HashMap, HashSet};

use rust_decimal::Decimal;

use super::assign::RecipientList;
use super::codegen::{CodeSource, OsCodeSource};
use super::idempotent::{self, IdempotencyKey};
use super::terms::{CheckedTerms, ResolvedTerms, VoucherTerms};
use super::Limits;
use crate::domain::{
    Alphabet, Batch, BatchLabel, BatchSource, CodeFormat, CodeMaker, EventType, Guessing, Prefix, Recipient, Voucher,
    VoucherCode, VoucherType,
};
use crate::store::{NewBatch, Store, StoreTx};
use crate::VoucherError;

/// Attempts per code before giving up (the Django service's budget).
pub const MAX_ATTEMPTS: u32 = 100;

/// Codes inserted per statement. Large batches go in several statements inside the same
/// transaction, so memory stays flat however many codes are asked for.
const CHUNK: usize = 10_000;

/// Configuration for a bulk voucher generation request: the Django service's
/// `VoucherBulkConfig`, with the same fields and defaults. Construct with [`VoucherBulkConfig::new`] and set the optional
/// fields directly.
#[derive(Debug, Clone, PartialEq)]
pub struct VoucherBulkConfig {
    /// The conference to create vouchers for (its slug).
    pub conference: String,
    /// Fixed string prepended to each generated code.
    pub prefix: String,
    /// Number of voucher codes to generate (1-500 unless the operator raised the limit).
    pub count: i64,
    /// What every voucher gives, how often and when.
    pub terms: VoucherTerms,
    /// The symbols of the random part (default `alnum`, `A-Z0-9`).
    pub alphabet: Alphabet,
    /// Random characters after the prefix, 6 to 32 (default 8).
    pub length: i64,
    /// Append a check character (default false).
    pub check_char: bool,
    /// Create the batch even when its codes could be guessed faster than the deployment's floor
    /// (default false).
    pub allow_weak_codes: bool,
    /// The batch's name for people (at most 100 characters; default none).
    pub name: String,
    /// A note on the batch (at most 2,000 characters; default none).
    pub note: String,
}

impl VoucherBulkConfig {
    /// The Django service's constructor: the required fields, with `max_uses = 1`, no validity window,
    /// `unlocks_hidden_tickets = false` and no restrictions.
    pub fn new(
        conference: impl Into<String>,
        prefix: impl Into<String>,
        count: i64,
        voucher_type: VoucherType,
        discount_value: Decimal,
    ) -> Self {
        Self {
            conference: conference.into(),
            prefix: prefix.into(),
            count,
            terms: VoucherTerms::new(voucher_type, Some(discount_value)),
            alphabet: Alphabet::default(),
            length: i64::from(CodeFormat::DEFAULT_LENGTH),
            check_char: false,
            allow_weak_codes: false,
            name: String::new(),
            note: String::new(),
        }
    }
}

/// What one `generate` call created: the batch record and its vouchers in generation order.
/// Its JSON form is the API's bulk response, `{"batch": {...}, "vouchers": [...]}`, and what an
/// idempotency key stores for replay.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GeneratedBatch {
    /// The batch row.
    pub batch: Batch,
    /// What the batch's vouchers apply to, in words ("individual tickets; every add-on"), so that
    /// an organizer sees at once when a comp ticket also makes every add-on free.
    #[serde(default)]
    pub applies_to: String,
    /// The vouchers, in generation order, with ids and restrictions (empty when they went to a
    /// [`GenerateOptions::sink`]).
    pub vouchers: Vec<Voucher>,
    /// How guessable the batch's codes are, with every active code of the conference sharing
    /// their prefix and format, at the deployment's failed-lookup limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guessing: Option<Guessing>,
}

/// Receives the created vouchers chunk by chunk, before the commit (the call fails, and nothing
/// is committed, if the sink fails).
pub type VoucherSink<'a> = dyn FnMut(&[Voucher]) -> std::io::Result<()> + Send + 'a;

/// How [`generate_voucher_codes_with`] runs: where the vouchers go, and whether the call is
/// safe to retry. The default collects the vouchers in the answer, with no key.
#[derive(Default)]
pub struct GenerateOptions<'a> {
    /// Hands the vouchers over chunk by chunk instead of collecting them, so a batch of a million
    /// codes never sits in memory. A replayed answer is handed over the same way.
    pub sink: Option<&'a mut VoucherSink<'a>>,
    /// A key naming this request within the conference: a retry with the same key and the same
    /// configuration answers the first batch (nothing is created); with another configuration it
    /// is [`VoucherError::IdempotencyKeyReused`]. The key is stored in the batch's own
    /// transaction, so it exists exactly when its batch does.
    pub idempotency_key: Option<&'a IdempotencyKey>,
    /// One recipient per code: the batch makes exactly as many codes as the list holds (`count`
    /// must equal its length) and assigns them in list order, in the batch's transaction.
    pub recipients: Option<&'a RecipientList>,
    /// Where the random suffixes come from (tests force collisions through it); the operating
    /// system's CSPRNG when `None`.
    #[cfg(any(test, feature = "testing"))]
    pub code_source: Option<&'a mut dyn CodeSource>,
}

/// The answer of [`generate_voucher_codes_with`].
#[derive(Debug, Clone, PartialEq)]
pub struct Generated {
    /// The batch and, unless a sink took them, its vouchers.
    pub generated: GeneratedBatch,
    /// True when an idempotency key answered a retry from the first call's stored answer.
    pub replayed: bool,
}

/// Generates `config.count` vouchers with cryptographically random codes, all sharing the same
/// configuration, in one transaction. (The signature of the Django service this port started
/// from; [`generate_voucher_codes_with`] takes options.)
///
/// # Errors
/// - [`VoucherError::InvalidCount`] if `count` is outside `1..=limits.max_batch`;
/// - [`VoucherError::Invalid`] for any other field breaking its rule (prefix, discount, max uses,
///   validity window), [`VoucherError::UnknownTicketType`] / [`VoucherError::UnknownAddon`] for a
///   restriction outside the conference, [`VoucherError::ConferenceNotFound`];
/// - [`VoucherError::WeakCodes`] if the codes could be guessed faster than the floor of
///   `limits.guessing` and `config.allow_weak_codes` is not set;
/// - [`VoucherError::CodeSpaceExhausted`] if a code cannot be made unique in 100 attempts;
/// - [`VoucherError::CodeConflict`] if a concurrent transaction could not be waited out.
///
/// In every error case nothing is written.
#[tracing::instrument(level = "debug", skip_all, fields(conference = %config.conference, count = config.count))]
pub async fn generate_voucher_codes(
    store: &dyn Store,
    limits: &Limits,
    config: &VoucherBulkConfig,
) -> Result<GeneratedBatch, VoucherError> {
    Ok(generate_voucher_codes_with(store, limits, config, GenerateOptions::default()).await?.generated)
}

/// [`generate_voucher_codes`] with options: a sink for streaming, an idempotency key.
///
/// # Errors
/// Those of [`generate_voucher_codes`]; [`VoucherError::Sink`] when the sink fails;
/// [`VoucherError::IdempotencyKeyReused`] when the key was used with another configuration.
#[tracing::instrument(level = "debug", skip_all, fields(conference = %config.conference, count = config.count))]
pub async fn generate_voucher_codes_with(
    store: &dyn Store,
    limits: &Limits,
    config: &VoucherBulkConfig,
    options: GenerateOptions<'_>,
) -> Result<Generated, VoucherError> {
    let checked = CheckedConfig::check(limits, config)?;
    #[cfg(any(test, feature = "testing"))]
    let GenerateOptions { mut sink, idempotency_key, recipients, code_source } = options;
    #[cfg(not(any(test, feature = "testing")))]
    let (GenerateOptions { mut sink, idempotency_key, recipients }, code_source) =
        (options, None::<&mut dyn CodeSource>);
    if let Some(list) = recipients {
        if i64::try_from(list.len()).ok() != Some(config.count) {
            return Err(crate::domain::InvalidInput::new(
                "recipients",
                format!(
                    "recipients: the list has {} recipients but count is {}; they must be equal",
                    list.len(),
                    config.count
                ),
            )
            .into());
        }
    }

    let mut tx = store.begin().await?;
    let key = match idempotency_key {
        None => None,
        Some(key) => match idempotent::claim(tx.as_mut(), config, key).await? {
            idempotent::Claim::Replay(generated) => {
                drop(tx);
                return Ok(Generated { generated: hand_over(*generated, sink)?, replayed: true });
            }
            idempotent::Claim::New(held) => Some(held),
        },
    };

    // The vouchers are kept for the answer unless a sink takes them; an idempotency key keeps
    // them anyway, for the stored answer.
    let keep = sink.is_none() || key.is_some();
    let mut vouchers: Vec<Voucher> = Vec::new();
    if keep {
        vouchers.reserve(usize::try_from(config.count).unwrap_or(0).min(CHUNK));
    }
    let mut os_source = OsCodeSource::new();
    let source: &mut dyn CodeSource = match code_source {
        Some(source) => source,
        None => &mut os_source,
    };
    let mut collect = |chunk: &[Voucher]| -> Result<(), VoucherError> {
        if let Some(sink) = sink.as_deref_mut() {
            sink(chunk).map_err(VoucherError::Sink)?;
        }
        if keep {
            vouchers.extend_from_slice(chunk);
        }
        Ok(())
    };
    let recipients = recipients.map(RecipientList::recipients);
    let (conference_id, batch, guessing) =
        generate_in_tx(tx.as_mut(), limits, &checked, source, recipients, &mut collect).await?;
    let applies_to = batch.applies();
    let mut generated = GeneratedBatch { batch, applies_to, vouchers, guessing: Some(guessing) };
    if let Some(held) = key {
        held.record(tx.as_mut(), &generated).await?;
    }
    let changes = serde_json::to_value(&generated.batch).map_err(VoucherError::StoredAnswer)?;
    let target = format!("batch {}", generated.batch.id);
    super::audit(tx.as_mut(), Some(conference_id), "batch.generate", &target, changes).await?;
    let data = super::webhooks::BatchData { batch: &generated.batch, deactivated: None };
    let conference = (conference_id, generated.batch.conference.as_str());
    super::webhooks::emit(tx.as_mut(), conference, EventType::BatchCreated, &data, super::now()).await?;
    tx.commit().await?;
    if sink.is_some() {
        generated.vouchers = Vec::new();
    }
    Ok(Generated { generated, replayed: false })
}

/// A replayed answer: handed to the sink chunk by chunk when there is one, like a fresh batch.
fn hand_over(
    mut generated: GeneratedBatch,
    sink: Option<&mut VoucherSink<'_>>,
) -> Result<GeneratedBatch, VoucherError> {
    if let Some(sink) = sink {
        for chunk in generated.vouchers.chunks(CHUNK) {
            sink(chunk).map_err(VoucherError::Sink)?;
        }
        generated.vouchers = Vec::new();
    }
    Ok(generated)
}

/// The guessing figure of the batch about to be made in `conference_id` (its codes and every
/// active code of the conference with the same prefix and format); [`VoucherError::WeakCodes`]
/// when it is under the floor and weak codes are not allowed. Read before the batch is written,
/// in its transaction: a refused batch costs no insert.
async fn guessing_of(
    tx: &mut dyn StoreTx,
    conference_id: i64,
    limits: &Limits,
    checked: &CheckedConfig<'_>,
) -> Result<Guessing, VoucherError> {
    let CheckedConfig { config, prefix, format, .. } = checked;
    let groups = tx.active_codes_by_prefix(conference_id, format).await?;
    let existing = super::guessing::active_with_prefix(&groups, prefix.as_str(), format);
    let active = existing.saturating_add(config.count);
    let guessing = Guessing::of(format, active, &limits.guessing);
    if guessing.weak && !config.allow_weak_codes {
        return Err(VoucherError::WeakCodes {
            expected: guessing.expected.trim_start_matches("about ").to_owned(),
            per_minute: limits.guessing.attacker_rate(),
            // The floor is set in days (`VOUCHERS_GUESSING_FLOOR_DAYS`), so it is said in days.
            floor: format!("{} days", limits.guessing.floor.as_secs() / 86_400),
            advice: Guessing::advice(format, active, config.count, &limits.guessing),
        });
    }
    Ok(guessing)
}

/// A configuration whose rules that need no database have been checked.
struct CheckedConfig<'a> {
    config: &'a VoucherBulkConfig,
    prefix: Prefix,
    format: CodeFormat,
    terms: CheckedTerms<'a>,
    label: BatchLabel,
}

impl<'a> CheckedConfig<'a> {
    /// Checks the count bound, the prefix and the terms, before any transaction starts.
    fn check(limits: &Limits, config: &'a VoucherBulkConfig) -> Result<Self, VoucherError> {
        if config.count < 1 || config.count > limits.max_batch {
            return Err(VoucherError::InvalidCount { count: config.count, max: limits.max_batch });
        }
        let prefix = Prefix::parse(&config.prefix)?;
        let format = CodeFormat::new(config.alphabet, config.length, config.check_char)?;
        let terms = config.terms.check()?;
        let label = BatchLabel::parse(&config.name, &config.note)?;
        Ok(Self { config, prefix, format, terms, label })
    }
}

/// The generation inside a transaction the caller opened and will commit: batch row, vouchers
/// and restriction links. The caller may write more in the same transaction (an idempotency
/// record) before it commits.
async fn generate_in_tx(
    tx: &mut dyn StoreTx,
    limits: &Limits,
    checked: &CheckedConfig<'_>,
    source: &mut dyn CodeSource,
    recipients: Option<&[Recipient]>,
    sink: &mut (dyn FnMut(&[Voucher]) -> Result<(), VoucherError> + Send),
) -> Result<(i64, Batch, Guessing), VoucherError> {
    let CheckedConfig { config, prefix, format, .. } = checked;
    let (conference, resolved, guessing) = insert_batch_row(&mut *tx, limits, checked).await?;
    let template = &resolved.template;
    let batch_id = template.batch_id.unwrap_or_default();

    // `count` is at most `max_batch`, an operator setting that fits in memory as a usize.
    let mut remaining = usize::try_from(config.count).unwrap_or(usize::MAX);
    while remaining > 0 {
        let size = remaining.min(CHUNK);
        remaining -= size;
        let created = insert_chunk(&mut *tx, template, prefix, format, size, source).await?;
        let mut chunk: Vec<Voucher> =
            created.into_iter().map(|(id, code)| resolved.voucher(&conference.slug, id, code)).collect();
        if let Some(recipients) = recipients {
            // A new batch: no email of the (checked, duplicate-free) list can hold a code of it yet.
            let offset = recipients.len() - remaining - size;
            let pairs: Vec<(i64, &Recipient)> =
                chunk.iter().map(|v| v.id).zip(&recipients[offset..offset + size]).collect();
            tx.assign_recipients(&pairs, super::now()).await?;
            for (voucher, recipient) in chunk.iter_mut().zip(&recipients[offset..offset + size]) {
                voucher.recipient = Some(recipient.clone());
            }
        }
        sink(&chunk)?;
    }

    Ok((
        conference.id,
        Batch {
            id: batch_id,
            conference: conference.slug.clone(),
            name: checked.label.name.clone(),
            note: checked.label.note.clone(),
            prefix: prefix.to_string(),
            count: config.count,
            voucher_type: template.discount.voucher_type(),
            discount_value: template.discount.value(),
            max_uses: template.max_uses,
            valid_from: template.window.from(),
            valid_until: template.window.until(),
            unlocks_hidden_tickets: template.unlocks_hidden_tickets,
            applicable_ticket_types: resolved.ticket_types,
            applicable_addons: resolved.addons,
            created_at: template.created_at,
            source: BatchSource::Generate,
            alphabet: format.alphabet,
            length: format.length,
            check_char: format.check_char,
            min_quantity: template.min_quantity,
            min_subtotal: template.min_subtotal,
            budget: template.budget,
            once_per_customer: template.once_per_customer,
        },
        guessing,
    ))
}

/// The batch row of a checked configuration, inside `tx`: the terms resolved against the
/// conference, the guessing figure checked, the row written. Its vouchers are not (the terms
/// come back with the batch's id set, ready for them).
async fn insert_batch_row(
    tx: &mut dyn StoreTx,
    limits: &Limits,
    checked: &CheckedConfig<'_>,
) -> Result<(crate::domain::Conference, ResolvedTerms, Guessing), VoucherError> {
    let CheckedConfig { config, prefix, format, terms, label } = checked;
    let (conference, mut resolved) = terms.resolve(&mut *tx, &config.conference).await?;
    let guessing = guessing_of(&mut *tx, conference.id, limits, checked).await?;
    resolved.template.readable = format.alphabet == Alphabet::Readable;
    let batch_id = tx
        .insert_batch(&NewBatch {
            prefix: prefix.as_str(),
            label,
            count: config.count,
            template: &resolved.template,
            source: BatchSource::Generate,
            format: *format,
        })
        .await?;
    resolved.template.batch_id = Some(batch_id);
    Ok((conference, resolved, guessing))
}

/// A batch whose vouchers are minted one at a time later ([`mint_one`]): the row of `config`
/// (its `count` the codes it will hold at most, for the guessing figure), written inside `tx`
/// with no voucher yet. Checked like any `generate` (count, prefix, terms, guessing floor).
pub(crate) async fn insert_empty_batch(
    tx: &mut dyn StoreTx,
    limits: &Limits,
    config: &VoucherBulkConfig,
) -> Result<(crate::domain::Conference, Batch), VoucherError> {
    let checked = CheckedConfig::check(limits, config)?;
    let (conference, resolved, _) = insert_batch_row(tx, limits, &checked).await?;
    let t = &resolved.template;
    let batch = Batch {
        id: t.batch_id.unwrap_or_default(),
        conference: conference.slug.clone(),
        name: checked.label.name.clone(),
        note: checked.label.note.clone(),
        prefix: checked.prefix.to_string(),
        count: config.count,
        voucher_type: t.discount.voucher_type(),
        discount_value: t.discount.value(),
        max_uses: t.max_uses,
        valid_from: t.window.from(),
        valid_until: t.window.until(),
        unlocks_hidden_tickets: t.unlocks_hidden_tickets,
        applicable_ticket_types: resolved.ticket_types.clone(),
        applicable_addons: resolved.addons.clone(),
        created_at: t.created_at,
        source: BatchSource::Generate,
        alphabet: checked.format.alphabet,
        length: checked.format.length,
        check_char: checked.format.check_char,
        min_quantity: t.min_quantity,
        min_subtotal: t.min_subtotal,
        budget: t.budget,
        once_per_customer: t.once_per_customer,
    };
    Ok((conference, batch))
}

/// Mints one fresh voucher of `batch` (its terms and code format, as the batch row keeps them),
/// inside `tx`; returns the voucher as inserted.
pub(crate) async fn mint_one(tx: &mut dyn StoreTx, batch: &Batch) -> Result<Voucher, VoucherError> {
    let terms = VoucherTerms {
        voucher_type: batch.voucher_type,
        discount_value: Some(batch.discount_value.amount()),
        max_uses: batch.max_uses,
        valid_from: batch.valid_from.map(crate::domain::When::Instant),
        valid_until: batch.valid_until.map(crate::domain::When::Instant),
        unlocks_hidden_tickets: batch.unlocks_hidden_tickets,
        applicable_ticket_types: batch.applicable_ticket_types.clone(),
        applicable_addons: batch.applicable_addons.clone(),
        min_quantity: batch.min_quantity,
        min_subtotal: batch.min_subtotal.map(|m| m.amount()),
        budget: batch.budget.map(|m| m.amount()),
        once_per_customer: batch.once_per_customer,
    };
    let checked = terms.check()?;
    let (conference, mut resolved) = checked.resolve(&mut *tx, &batch.conference).await?;
    let format = CodeFormat::new(batch.alphabet, i64::from(batch.length), batch.check_char)?;
    let prefix = Prefix::parse(&batch.prefix)?;
    resolved.template.readable = format.alphabet == Alphabet::Readable;
    resolved.template.batch_id = Some(batch.id);
    let mut source = OsCodeSource::new();
    let created = insert_chunk(&mut *tx, &resolved.template, &prefix, &format, 1, &mut source).await?;
    let (id, code) = created
        .into_iter()
        .next()
        .ok_or_else(|| VoucherError::CodeSpaceExhausted { prefix: batch.prefix.clone(), attempts: MAX_ATTEMPTS })?;
    Ok(resolved.voucher(&conference.slug, id, code))
}

/// Inserts `size` fresh codes of `format` and returns `(id, code)` in generation order.
///
/// Each round draws a candidate for every slot still open, skipping candidates already drawn in
/// this chunk, and inserts them all in one statement that skips whatever the unique index
/// refuses (an existing code, ignoring case; for a readable code, one with the same folded key).
/// Drawn symbols are canonical (no readable code holds `I L O U`), so two different draws never
/// fold to the same key. Refused slots get a new candidate in the next
/// round. A slot that has used up [`MAX_ATTEMPTS`] fails the whole call, and the transaction is
/// rolled back when `tx` is dropped.
async fn insert_chunk(
    tx: &mut dyn crate::store::StoreTx,
    template: &crate::store::VoucherTemplate,
    prefix: &Prefix,
    format: &CodeFormat,
    size: usize,
    source: &mut dyn CodeSource,
) -> Result<Vec<(i64, String)>, VoucherError> {
    const MAX: usize = CodeFormat::MAX_LENGTH as usize;
    let mut created: Vec<Option<(i64, String)>> = vec![None; size];
    let mut attempts = vec![0u32; size];
    let mut drawn: HashSet<[u8; MAX]> = HashSet::with_capacity(size);
    let mut open: Vec<usize> = (0..size).collect();
    let length = usize::from(format.length);
    let mut suffix = [0u8; MAX];
    let maker = CodeMaker::new(*format, prefix.as_str());

    while !open.is_empty() {
        let mut candidates = Vec::with_capacity(open.len());
        for &slot in &open {
            loop {
                if attempts[slot] == MAX_ATTEMPTS {
                    return Err(VoucherError::CodeSpaceExhausted {
                        prefix: prefix.to_string(),
                        attempts: MAX_ATTEMPTS,
                    });
                }
                attempts[slot] += 1;
                source.fill_suffix(format.alphabet, &mut suffix[..length])?;
                if drawn.insert(suffix) {
                    break;
                }
            }
            candidates.push(VoucherCode::generated(&maker, &suffix[..length]).into_string());
        }
        let inserted: HashMap<String, i64> =
            tx.insert_vouchers(template, &candidates).await?.into_iter().map(|(id, code)| (code, id)).collect();
        let mut still_open = Vec::new();
        for (slot, code) in open.iter().zip(candidates) {
            match inserted.get(&code) {
                Some(&id) => created[*slot] = Some((id, code)),
                None => still_open.push(*slot),
            }
        }
        if !still_open.is_empty() {
            tracing::debug!(collisions = still_open.len(), "codes taken already; drawing replacements");
        }
        open = still_open;
    }
    Ok(created.into_iter().flatten().collect())
}
