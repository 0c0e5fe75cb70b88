//! The terms shared by every voucher of one write (a generated batch, or one voucher added by
//! hand): checked once, resolved against the conference inside the transaction.

use rust_decimal::Decimal;

use crate::domain::{Conference, DiscountSpec, MaxUses, Slug, ValidityWindow, Voucher, VoucherType, When};
use crate::store::{StoreTx, VoucherTemplate};
use crate::VoucherError;

/// Terms as the caller gave them.
pub(crate) struct RawTerms<'a> {
    pub voucher_type: VoucherType,
    pub discount_value: Option<Decimal>,
    pub max_uses: i64,
    pub valid_from: Option<When>,
    pub valid_until: Option<When>,
    pub unlocks_hidden_tickets: bool,
    pub applicable_ticket_types: Option<&'a [String]>,
    pub applicable_addons: Option<&'a [String]>,
}

/// Terms checked without the database: discount and max uses.
pub(crate) struct CheckedTerms<'a> {
    raw: RawTerms<'a>,
    discount: DiscountSpec,
    max_uses: MaxUses,
}

impl<'a> RawTerms<'a> {
    /// Checks the rules that need no database.
    pub fn check(self) -> Result<CheckedTerms<'a>, VoucherError> {
        let discount = DiscountSpec::parse(self.voucher_type, self.discount_value)?;
        let max_uses = MaxUses::new(self.max_uses)?;
        Ok(CheckedTerms { raw: self, discount, max_uses })
    }
}

/// Terms resolved inside the transaction: ready to insert.
pub(crate) struct ResolvedTerms {
    pub template: VoucherTemplate,
    pub ticket_types: Vec<String>,
    pub addons: Vec<String>,
}

impl ResolvedTerms {
    /// A voucher just inserted with these terms (as stored: nothing used yet, active).
    pub fn voucher(&self, conference: &str, id: i64, code: String) -> Voucher {
        let t = &self.template;
        Voucher {
            id,
            conference: conference.to_owned(),
            code,
            voucher_type: t.discount.voucher_type(),
            discount_value: t.discount.value(),
            max_uses: t.max_uses,
            times_used: 0,
            valid_from: t.window.from(),
            valid_until: t.window.until(),
            unlocks_hidden_tickets: t.unlocks_hidden_tickets,
            is_active: true,
            applicable_ticket_types: self.ticket_types.clone(),
            applicable_addons: self.addons.clone(),
            batch_id: t.batch_id,
            created_at: t.created_at,
            recipient: None,
        }
    }
}

/// Sorted, distinct slugs; `None` and an empty list both mean "applies to all".
fn distinct(slugs: Option<&[String]>) -> Vec<String> {
    let mut slugs: Vec<String> = slugs.unwrap_or_default().iter().map(|s| s.trim().to_owned()).collect();
    slugs.sort();
    slugs.dedup();
    slugs
}

impl CheckedTerms<'_> {
    /// Loads the conference, reads local times in its time zone, checks that every restriction
    /// belongs to it and finds or creates the shared restriction set.
    pub async fn resolve(
        &self,
        tx: &mut dyn StoreTx,
        conference_slug: &str,
    ) -> Result<(Conference, ResolvedTerms), VoucherError> {
        let conference = tx
            .conference(conference_slug)
            .await?
            .ok_or_else(|| VoucherError::ConferenceNotFound(conference_slug.to_owned()))?;
        let window = ValidityWindow::resolve(self.raw.valid_from, self.raw.valid_until, conference.timezone)?;

        let ticket_types = distinct(self.raw.applicable_ticket_types);
        let addons = distinct(self.raw.applicable_addons);
        // A value that is not even a slug names nothing; refuse it before it reaches the database
        // (PostgreSQL rejects text with NUL bytes as an error, not as "no such row").
        let not_slug = |slugs: &[String]| slugs.iter().find(|s| Slug::parse("slug", s).is_err()).cloned();
        if let Some(slug) = not_slug(&ticket_types) {
            return Err(VoucherError::UnknownTicketType {
                field: "applicable_ticket_types",
                conference: conference.slug.clone(),
                slug,
            });
        }
        if let Some(slug) = not_slug(&addons) {
            return Err(VoucherError::UnknownAddon {
                field: "applicable_addons",
                conference: conference.slug.clone(),
                slug,
            });
        }
        let (tt_ids, addon_ids) = if ticket_types.is_empty() && addons.is_empty() {
            (Vec::new(), Vec::new())
        } else {
            let found = tx.restriction_ids(conference.id, &ticket_types, &addons).await?;
            let tt_ids =
                resolve_ids(found.ticket_types, &ticket_types).map_err(|slug| VoucherError::UnknownTicketType {
                    field: "applicable_ticket_types",
                    conference: conference.slug.clone(),
                    slug,
                })?;
            let addon_ids = resolve_ids(found.addons, &addons).map_err(|slug| VoucherError::UnknownAddon {
                field: "applicable_addons",
                conference: conference.slug.clone(),
                slug,
            })?;
            (tt_ids, addon_ids)
        };
        let restriction_set_id = if tt_ids.is_empty() && addon_ids.is_empty() {
            None
        } else {
            Some(tx.restriction_set(conference.id, &tt_ids, &addon_ids).await?)
        };
        let template = VoucherTemplate {
            conference_id: conference.id,
            discount: self.discount,
            max_uses: self.max_uses.get(),
            window,
            unlocks_hidden_tickets: self.raw.unlocks_hidden_tickets,
            restriction_set_id,
            batch_id: None,
            created_at: super::now(),
            readable: false,
        };
        Ok((conference, ResolvedTerms { template, ticket_types, addons }))
    }
}

/// Ids for `wanted` slugs, sorted; the first slug the database did not find is the error.
fn resolve_ids(found: Vec<(i64, String)>, wanted: &[String]) -> Result<Vec<i64>, String> {
    if let Some(missing) = wanted.iter().find(|w| !found.iter().any(|(_, s)| s == *w)) {
        return Err(missing.clone());
    }
    let mut ids: Vec<i64> = found.into_iter().map(|(id, _)| id).collect();
    ids.sort_unstable();
    Ok(ids)
}
