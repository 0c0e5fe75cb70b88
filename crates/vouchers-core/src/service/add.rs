//! One voucher with a code the organizer chose (`PYCON-KEYNOTE`): the same rules as a generated
//! batch, and no batch.

use rust_decimal::Decimal;

use super::terms::VoucherTerms;
use crate::domain::{Alphabet, Voucher, VoucherCode, VoucherType};
use crate::store::Store;
use crate::VoucherError;

/// A request for one voucher with a chosen code.
#[derive(Debug, Clone, PartialEq)]
pub struct AddVoucher {
    /// The conference (slug).
    pub conference: String,
    /// The code: 1-100 characters of `A-Z a-z 0-9 - _ .`, starting with a letter or a digit.
    pub code: String,
    /// What the voucher gives, how often and when.
    pub terms: VoucherTerms,
    /// `readable`: the code is matched with folding (case, `O`/`0`, `I`/`L`/`1`, hyphens and
    /// spaces), and no other code of the conference may fold to the same key. `alnum` (default):
    /// matched ignoring case only.
    pub alphabet: Alphabet,
}

impl AddVoucher {
    /// A request with the defaults: one use, no window, no restrictions.
    pub fn new(
        conference: impl Into<String>,
        code: impl Into<String>,
        voucher_type: VoucherType,
        discount_value: Option<Decimal>,
    ) -> Self {
        Self {
            conference: conference.into(),
            code: code.into(),
            terms: VoucherTerms::new(voucher_type, discount_value),
            alphabet: Alphabet::default(),
        }
    }
}

/// Creates the voucher; a code already taken in the conference (ignoring case; for a readable
/// code, or beside one, by the folded key) is a [`VoucherError::Duplicate`] and nothing is
/// written.
#[tracing::instrument(level = "debug", skip_all, fields(conference = %request.conference))]
pub async fn add_voucher(store: &dyn Store, request: &AddVoucher) -> Result<Voucher, VoucherError> {
    let code = VoucherCode::parse(&request.code)?;
    let terms = request.terms.check()?;

    let mut tx = store.begin().await?;
    let (conference, mut resolved) = terms.resolve(tx.as_mut(), &request.conference).await?;
    resolved.template.readable = request.alphabet == Alphabet::Readable;
    let inserted = tx.insert_vouchers(&resolved.template, &[code.as_str().to_owned()]).await?;
    let Some((id, stored_code)) = inserted.into_iter().next() else {
        drop(tx);
        // Which rule refused it: the same code ignoring case, or a folded key shared with a
        // readable code.
        let existing = store.voucher_by_code(&conference, code.as_str()).await?.map(|v| v.code);
        let same = existing.is_some_and(|c| c.eq_ignore_ascii_case(code.as_str()));
        let rule = if same {
            "codes ignore case"
        } else {
            "a readable code, and a code beside one, is compared ignoring case, hyphens, spaces, O/0 and I/L/1"
        };
        return Err(VoucherError::Duplicate {
            what: "voucher code",
            field: "code",
            value: code.into_string(),
            scope: format!(" in conference {:?} ({rule})", conference.slug),
        });
    };
    let voucher = resolved.voucher(&conference.slug, id, stored_code);
    let changes = serde_json::to_value(&voucher).map_err(VoucherError::StoredAnswer)?;
    super::audit(tx.as_mut(), Some(conference.id), "voucher.add", &voucher.code, changes).await?;
    tx.commit().await?;
    Ok(voucher)
}
