//! Bulk generation: the seed's `generate_voucher_codes(config)`.
//!
//! Differences from the original, each closing a gap it documents:
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

use super::codegen::{CodeSource, OsCodeSource};
use super::terms::{CheckedTerms, RawTerms};
use super::Limits;
use crate::domain::{Batch, Prefix, Voucher, VoucherCode, VoucherType, When, CODE_SUFFIX_LEN};
use crate::store::{NewBatch, Store, StoreTx};
use crate::VoucherError;

/// Attempts per code before giving up (the original's budget).
pub const MAX_ATTEMPTS: u32 = 100;

/// Codes inserted per statement. Large batches go in several statements inside the same
/// transaction, so memory stays flat however many codes are asked for.
const CHUNK: usize = 10_000;

/// Configuration for a bulk voucher generation request: the seed's `VoucherBulkConfig`, with the
/// same fields and defaults. Construct with [`VoucherBulkConfig::new`] and set the optional
/// fields directly.
#[derive(Debug, Clone, PartialEq)]
pub struct VoucherBulkConfig {
    /// The conference to create vouchers for (its slug).
    pub conference: String,
    /// Fixed string prepended to each generated code.
    pub prefix: String,
    /// Number of voucher codes to generate (1-500 unless the operator raised the limit).
    pub count: i64,
    /// One of the voucher types.
    pub voucher_type: VoucherType,
    /// Percentage (0-100) or fixed amount depending on type; ignored for `comp`, required for the
    /// other types.
    pub discount_value: Option<Decimal>,
    /// Maximum number of times each voucher can be redeemed (default 1).
    pub max_uses: i64,
    /// Optional start of the validity window.
    pub valid_from: Option<When>,
    /// Optional end of the validity window.
    pub valid_until: Option<When>,
    /// Whether the vouchers reveal hidden ticket types (default false).
    pub unlocks_hidden_tickets: bool,
    /// Optional ticket types (slugs) to restrict to; `None` or empty: all.
    pub applicable_ticket_types: Option<Vec<String>>,
    /// Optional add-ons (slugs) to restrict to; `None` or empty: all.
    pub applicable_addons: Option<Vec<String>>,
}

impl VoucherBulkConfig {
    /// The seed's constructor: the required fields, with `max_uses = 1`, no validity window,
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
            voucher_type,
            discount_value: Some(discount_value),
            max_uses: 1,
            valid_from: None,
            valid_until: None,
            unlocks_hidden_tickets: false,
            applicable_ticket_types: None,
            applicable_addons: None,
        }
    }
}

/// What one `generate` call created: the batch record and its vouchers in generation order.
/// Its JSON form is the API's bulk response, `{"batch": {...}, "vouchers": [...]}`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GeneratedBatch {
    /// The batch row.
    pub batch: Batch,
    /// The vouchers, in generation order, with ids and restrictions.
    pub vouchers: Vec<Voucher>,
}

/// Receives the created vouchers chunk by chunk, before the commit (the call fails, and nothing
/// is committed, if the sink fails).
pub type VoucherSink<'a> = dyn FnMut(&[Voucher]) -> Result<(), VoucherError> + Send + 'a;

/// Generates `config.count` vouchers with cryptographically random codes, all sharing the same
/// configuration, in one transaction.
///
/// # Errors
/// - [`VoucherError::InvalidCount`] if `count` is outside `1..=limits.max_batch`;
/// - [`VoucherError::Invalid`] for any other field breaking its rule (prefix, discount, max uses,
///   validity window), [`VoucherError::UnknownTicketType`] / [`VoucherError::UnknownAddon`] for a
///   restriction outside the conference, [`VoucherError::ConferenceNotFound`];
/// - [`VoucherError::CodeSpaceExhausted`] if a code cannot be made unique in 100 attempts;
/// - [`VoucherError::CodeConflict`] if a concurrent transaction could not be waited out.
///
/// In every error case nothing is written.
pub async fn generate_voucher_codes(
    store: &dyn Store,
    limits: &Limits,
    config: &VoucherBulkConfig,
) -> Result<GeneratedBatch, VoucherError> {
    let mut vouchers = Vec::with_capacity(usize::try_from(config.count).unwrap_or(0).min(CHUNK));
    let batch = generate_with(store, limits, config, &mut OsCodeSource::new(), &mut |chunk: &[Voucher]| {
        vouchers.extend_from_slice(chunk);
        Ok(())
    })
    .await?;
    Ok(GeneratedBatch { batch, vouchers })
}

/// Like [`generate_voucher_codes`], but hands the vouchers to `sink` chunk by chunk instead of
/// collecting them, so a batch of a million codes never sits in memory.
pub async fn generate_voucher_codes_streaming(
    store: &dyn Store,
    limits: &Limits,
    config: &VoucherBulkConfig,
    sink: &mut VoucherSink<'_>,
) -> Result<Batch, VoucherError> {
    generate_with(store, limits, config, &mut OsCodeSource::new(), sink).await
}

/// The generation itself, with the code source injected (tests force collisions through it; the
/// public entry points always pass [`OsCodeSource`]).
pub(crate) async fn generate_with(
    store: &dyn Store,
    limits: &Limits,
    config: &VoucherBulkConfig,
    source: &mut dyn CodeSource,
    sink: &mut VoucherSink<'_>,
) -> Result<Batch, VoucherError> {
    let checked = CheckedConfig::check(limits, config)?;
    let mut tx = store.begin().await?;
    let batch = generate_in_tx(tx.as_mut(), &checked, source, sink).await?;
    tx.commit().await.map_err(conflict_or_store)?;
    Ok(batch)
}

/// A configuration whose rules that need no database have been checked.
pub(crate) struct CheckedConfig<'a> {
    pub(crate) config: &'a VoucherBulkConfig,
    prefix: Prefix,
    terms: CheckedTerms<'a>,
}

impl<'a> CheckedConfig<'a> {
    /// Checks the count bound, the prefix and the terms, before any transaction starts.
    pub(crate) fn check(limits: &Limits, config: &'a VoucherBulkConfig) -> Result<Self, VoucherError> {
        if config.count < 1 || config.count > limits.max_batch {
            return Err(VoucherError::InvalidCount { count: config.count, max: limits.max_batch });
        }
        let prefix = Prefix::parse(&config.prefix)?;
        let terms = RawTerms {
            voucher_type: config.voucher_type,
            discount_value: config.discount_value,
            max_uses: config.max_uses,
            valid_from: config.valid_from,
            valid_until: config.valid_until,
            unlocks_hidden_tickets: config.unlocks_hidden_tickets,
            applicable_ticket_types: config.applicable_ticket_types.as_deref(),
            applicable_addons: config.applicable_addons.as_deref(),
        }
        .check()?;
        Ok(Self { config, prefix, terms })
    }
}

/// The generation inside a transaction the caller opened and will commit: batch row, vouchers
/// and restriction links. The caller may write more in the same transaction (an idempotency
/// record) before it commits.
pub(crate) async fn generate_in_tx(
    tx: &mut dyn StoreTx,
    checked: &CheckedConfig<'_>,
    source: &mut dyn CodeSource,
    sink: &mut VoucherSink<'_>,
) -> Result<Batch, VoucherError> {
    let CheckedConfig { config, prefix, terms } = checked;
    let (conference, resolved) = terms.resolve(&mut *tx, &config.conference).await?;
    let mut resolved = resolved;
    let batch_id = tx
        .insert_batch(&NewBatch { prefix: prefix.as_str(), count: config.count, template: &resolved.template })
        .await?;
    resolved.template.batch_id = Some(batch_id);
    let template = &resolved.template;

    // `count` is at most `max_batch`, an operator setting that fits in memory as a usize.
    let mut remaining = usize::try_from(config.count).unwrap_or(usize::MAX);
    while remaining > 0 {
        let size = remaining.min(CHUNK);
        remaining -= size;
        let created = insert_chunk(&mut *tx, template, prefix, size, source).await?;
        let chunk: Vec<Voucher> =
            created.into_iter().map(|(id, code)| resolved.voucher(&conference.slug, id, code)).collect();
        sink(&chunk)?;
    }

    Ok(Batch {
        id: batch_id,
        conference: conference.slug.clone(),
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
    })
}

/// A lost race that cannot be waited out is [`VoucherError::CodeConflict`]; anything else stays
/// a store error.
pub(crate) fn conflict_or_store(error: crate::store::StoreError) -> VoucherError {
    match error {
        crate::store::StoreError::Conflict(_) => VoucherError::CodeConflict,
        other => VoucherError::Store(other),
    }
}

/// Inserts `size` fresh codes and returns `(id, code)` in generation order.
///
/// Each round draws a candidate for every slot still open, skipping candidates already drawn in
/// this chunk, and inserts them all in one statement that skips whatever the unique index
/// refuses (an existing code, ignoring case). Refused slots get a new candidate in the next
/// round. A slot that has used up [`MAX_ATTEMPTS`] fails the whole call, and the transaction is
/// rolled back when `tx` is dropped.
async fn insert_chunk(
    tx: &mut dyn crate::store::StoreTx,
    template: &crate::store::VoucherTemplate,
    prefix: &Prefix,
    size: usize,
    source: &mut dyn CodeSource,
) -> Result<Vec<(i64, String)>, VoucherError> {
    let mut created: Vec<Option<(i64, String)>> = vec![None; size];
    let mut attempts = vec![0u32; size];
    let mut drawn: HashSet<[u8; CODE_SUFFIX_LEN]> = HashSet::with_capacity(size);
    let mut open: Vec<usize> = (0..size).collect();
    let mut suffix = [0u8; CODE_SUFFIX_LEN];

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
                source.fill_suffix(&mut suffix)?;
                if drawn.insert(suffix) {
                    break;
                }
            }
            candidates.push(VoucherCode::generated(prefix, &suffix).into_string());
        }
        let inserted: HashMap<String, i64> = tx
            .insert_vouchers(template, &candidates)
            .await
            .map_err(conflict_or_store)?
            .into_iter()
            .map(|(id, code)| (code, id))
            .collect();
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

#[cfg(any(test, feature = "testing"))]
/// Test entry point: generation with an injected code source.
pub async fn generate_with_source(
    store: &dyn Store,
    limits: &Limits,
    config: &VoucherBulkConfig,
    source: &mut dyn CodeSource,
) -> Result<GeneratedBatch, VoucherError> {
    let mut vouchers = Vec::new();
    let batch = generate_with(store, limits, config, source, &mut |chunk: &[Voucher]| {
        vouchers.extend_from_slice(chunk);
        Ok(())
    })
    .await?;
    Ok(GeneratedBatch { batch, vouchers })
}
