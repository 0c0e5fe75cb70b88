//! Idempotency keys of bulk generation: a retry of the same request (a client whose connection
//! dropped after the commit) gets the first answer instead of a second batch.
//!
//! [`super::generate::generate_voucher_codes_with`] claims the key first inside the batch's own
//! transaction and stores its answer in that same transaction, so a key exists exactly when its
//! batch does. A concurrent duplicate waits on the key's unique index until the first commits,
//! then reads the stored answer.

use std::fmt::Write as _;

use sha2::{Digest, Sha256};

use super::generate::GeneratedBatch;
use crate::domain::{Applies, InvalidInput};
use crate::store::{IdempotencyClaim, StoreTx};
use crate::{VoucherBulkConfig, VoucherError};

/// The longest key accepted.
const KEY_MAX: usize = 255;

/// A client-chosen key naming one logical request: 1 to 255 visible ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// Checks a key as sent in the `Idempotency-Key` header.
    pub fn parse(value: &str) -> Result<Self, InvalidInput> {
        const FIELD: &str = "Idempotency-Key";
        let len = value.len();
        if len == 0 || len > KEY_MAX {
            return Err(InvalidInput::new(
                FIELD,
                format!("Idempotency-Key must be 1 to {KEY_MAX} characters, got {len}"),
            ));
        }
        if !value.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(InvalidInput::new(FIELD, "Idempotency-Key may contain only visible ASCII characters"));
        }
        Ok(Self(value.to_owned()))
    }

    /// The key.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A fingerprint of what the request asks for, so that the same key with a different request
/// can be refused. Restrictions are sets (order and repeats do not matter); amounts compare by
/// value (`25` and `25.00` are the same request).
pub fn request_fingerprint(config: &VoucherBulkConfig) -> String {
    fn set(slugs: &[String]) -> Vec<&str> {
        let mut slugs: Vec<&str> = slugs.iter().map(|s| s.trim()).collect();
        slugs.sort_unstable();
        slugs.dedup();
        slugs
    }
    let terms = &config.terms;
    let canonical = serde_json::json!({
        "prefix": config.prefix,
        "count": config.count,
        "voucher_type": terms.voucher_type.as_str(),
        "discount_value": terms.discount_value.map(|d| d.normalize().to_string()),
        "max_uses": terms.max_uses,
        "valid_from": terms.valid_from.map(|w| w.to_string()),
        "valid_until": terms.valid_until.map(|w| w.to_string()),
        "unlocks_hidden_tickets": terms.unlocks_hidden_tickets,
        "applicable_ticket_types": set(terms.applicable_ticket_types.slugs()),
        "applicable_addons": set(terms.applicable_addons.slugs()),
    });
    // "none" joined later too: a request without it keeps its fingerprint.
    let mut canonical = canonical;
    let kinds =
        [("applicable_ticket_types", &terms.applicable_ticket_types), ("applicable_addons", &terms.applicable_addons)];
    for (key, applies) in kinds {
        if *applies == Applies::Nothing {
            canonical[key] = Applies::NONE.into();
        }
    }
    // The code format joined the request later: a request in the alnum format keeps the
    // fingerprint it had, so a retry across the upgrade still replays.
    let format = (config.alphabet, config.length, config.check_char);
    if format != (Default::default(), i64::from(crate::domain::CodeFormat::DEFAULT_LENGTH), false) {
        canonical["alphabet"] = config.alphabet.as_str().into();
        canonical["length"] = config.length.into();
        canonical["check_char"] = config.check_char.into();
    }
    // So did the minimums: a request without any keeps its fingerprint too.
    if terms.min_quantity != crate::VoucherTerms::DEFAULT_MIN_QUANTITY || terms.min_subtotal.is_some() {
        canonical["min_quantity"] = terms.min_quantity.into();
        canonical["min_subtotal"] = terms.min_subtotal.map(|d| d.normalize().to_string()).into();
    }
    // And the budget and once per customer.
    if let Some(budget) = terms.budget {
        canonical["budget"] = budget.normalize().to_string().into();
    }
    if terms.once_per_customer {
        canonical["once_per_customer"] = true.into();
    }
    // And the batch's name and note.
    if !config.name.trim().is_empty() || !config.note.trim().is_empty() {
        canonical["name"] = config.name.trim().into();
        canonical["note"] = config.note.trim().replace("\r\n", "\n").into();
    }
    let digest = Sha256::digest(canonical.to_string().as_bytes());
    digest.iter().fold(String::with_capacity(64), |mut hex, b| {
        let _ = write!(hex, "{b:02x}");
        hex
    })
}

/// What a key holds when a generation claims it.
pub(super) enum Claim {
    /// The key is new; this transaction holds it until it commits or rolls back.
    New(HeldKey),
    /// A committed request used the key with the same configuration: its answer.
    Replay(Box<GeneratedBatch>),
}

/// A key claimed by the running transaction, to record its answer in.
pub(super) struct HeldKey {
    conference_id: i64,
    key: String,
}

/// Claims `key` inside the generation's transaction, or reads the answer of the request that
/// used it. A concurrent claim of the same key waits until the other transaction ends.
pub(super) async fn claim(
    tx: &mut dyn StoreTx,
    config: &VoucherBulkConfig,
    key: &IdempotencyKey,
) -> Result<Claim, VoucherError> {
    let fingerprint = request_fingerprint(config);
    let conference = tx
        .conference(&config.conference)
        .await?
        .ok_or_else(|| VoucherError::ConferenceNotFound(config.conference.clone()))?;
    match tx.claim_idempotency_key(conference.id, key.as_str(), &fingerprint, super::now()).await? {
        IdempotencyClaim::New => Ok(Claim::New(HeldKey { conference_id: conference.id, key: key.as_str().to_owned() })),
        IdempotencyClaim::Existing { request_hash, .. } if request_hash != fingerprint => {
            Err(VoucherError::IdempotencyKeyReused { key: key.as_str().to_owned() })
        }
        IdempotencyClaim::Existing { response, .. } => {
            let mut answer: Box<GeneratedBatch> =
                serde_json::from_str(&response).map_err(VoucherError::StoredAnswer)?;
            // An answer stored before it carried the words.
            answer.applies_to = answer.batch.applies();
            Ok(Claim::Replay(answer))
        }
    }
}

impl HeldKey {
    /// Stores the answer with the key, in the same transaction as the batch.
    pub(super) async fn record(self, tx: &mut dyn StoreTx, answer: &GeneratedBatch) -> Result<(), VoucherError> {
        let body = serde_json::to_string(answer).map_err(VoucherError::StoredAnswer)?;
        tx.record_idempotent_response(self.conference_id, &self.key, &body).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::VoucherType;
    use rust_decimal::Decimal;

    #[test]
    fn keys_are_checked() {
        assert!(IdempotencyKey::parse("retry-7f3a").is_ok());
        assert_eq!(IdempotencyKey::parse("").unwrap_err().field, "Idempotency-Key");
        assert!(IdempotencyKey::parse("a b").is_err());
        assert!(IdempotencyKey::parse(&"k".repeat(256)).is_err());
    }

    #[test]
    fn fingerprints_compare_meaning_not_spelling() {
        let a = VoucherBulkConfig::new("c", "P-", 5, VoucherType::Percentage, Decimal::new(25, 0));
        let mut b = VoucherBulkConfig::new("c", "P-", 5, VoucherType::Percentage, Decimal::new(2500, 2));
        assert_eq!(request_fingerprint(&a), request_fingerprint(&b));
        b.count = 6;
        assert_ne!(request_fingerprint(&a), request_fingerprint(&b));
        let mut c = a.clone();
        c.terms.applicable_addons = vec!["x".into(), "y".into()].into();
        let mut d = a.clone();
        d.terms.applicable_addons = vec!["y".into(), "x".into(), "x".into()].into();
        assert_eq!(request_fingerprint(&c), request_fingerprint(&d));
    }
}
