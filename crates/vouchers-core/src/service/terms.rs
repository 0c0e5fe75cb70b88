//! The terms shared by every voucher of one write (a generated batch, or one voucher added by
//! hand): declared once ([`VoucherTerms`]), checked once, resolved against the conference inside
//! the transaction.

use rust_decimal::Decimal;

use crate::domain::{
    closest, Applies, Budget, Conference, DiscountSpec, InvalidInput, MaxUses, Money, Slug, ValidityWindow, Voucher,
    VoucherType, When,
};
use crate::store::{applies_none_bits, StoreTx, VoucherTemplate};
use crate::VoucherError;

/// The terms every voucher of one write shares (a generated batch, one voucher added by hand):
/// kind of discount, uses, validity window, what it unlocks and applies to. The one declaration
/// of them and of their defaults ([`VoucherTerms::new`]); the CLI's flags, the API's bodies and
/// the console's forms each convert into it once.
#[derive(Debug, Clone, PartialEq)]
pub struct VoucherTerms {
    /// Kind of discount.
    pub voucher_type: VoucherType,
    /// Percentage (0-100) or amount, depending on the type; ignored for `comp`, required
    /// otherwise.
    pub discount_value: Option<Decimal>,
    /// Uses allowed per voucher (default [`VoucherTerms::DEFAULT_MAX_USES`]).
    pub max_uses: i64,
    /// Optional start of the validity window.
    pub valid_from: Option<When>,
    /// Optional end of the validity window (inclusive).
    pub valid_until: Option<When>,
    /// Reveals the conference's hidden ticket types (default false).
    pub unlocks_hidden_tickets: bool,
    /// Ticket types it applies to: all (the default), none, or these slugs.
    pub applicable_ticket_types: Applies,
    /// Add-ons it applies to: all (the default), none, or these slugs.
    pub applicable_addons: Applies,
    /// Qualifying items a cart needs, 1 to [`VoucherTerms::MAX_MIN_QUANTITY`] (default 1).
    pub min_quantity: i64,
    /// Qualifying subtotal a cart needs, more than 0 (default none).
    pub min_subtotal: Option<Decimal>,
    /// The most discount all of a voucher's redemptions may give together, more than 0 (default
    /// none).
    pub budget: Option<Decimal>,
    /// A customer may hold or redeem at most one code of the batch (default false).
    pub once_per_customer: bool,
}

impl VoucherTerms {
    /// Uses per voucher when none is given.
    pub const DEFAULT_MAX_USES: i64 = 1;

    /// Qualifying items a cart needs when none is given: any cart with one.
    pub const DEFAULT_MIN_QUANTITY: i64 = crate::domain::DEFAULT_MIN_QUANTITY;

    /// The largest minimum quantity.
    pub const MAX_MIN_QUANTITY: i64 = 10_000;

    /// Terms with the defaults: one use, no window, unlocks nothing, applies to everything.
    pub fn new(voucher_type: VoucherType, discount_value: Option<Decimal>) -> Self {
        Self {
            voucher_type,
            discount_value,
            max_uses: Self::DEFAULT_MAX_USES,
            valid_from: None,
            valid_until: None,
            unlocks_hidden_tickets: false,
            applicable_ticket_types: Applies::All,
            applicable_addons: Applies::All,
            min_quantity: Self::DEFAULT_MIN_QUANTITY,
            min_subtotal: None,
            budget: None,
            once_per_customer: false,
        }
    }

    /// Checks the rules that need no database.
    pub(crate) fn check(&self) -> Result<CheckedTerms<'_>, VoucherError> {
        let discount = DiscountSpec::parse(self.voucher_type, self.discount_value)?;
        let max_uses = MaxUses::new(self.max_uses)?;
        if !(1..=Self::MAX_MIN_QUANTITY).contains(&self.min_quantity) {
            let message =
                format!("min_quantity must be from 1 to {}, got {}", Self::MAX_MIN_QUANTITY, self.min_quantity);
            return Err(InvalidInput::new("min_quantity", message).into());
        }
        let min_subtotal = self.min_subtotal.map(|value| Money::parse("min_subtotal", value)).transpose()?;
        if min_subtotal.is_some_and(|m| m.cents() == 0) {
            let message = "min_subtotal must be more than 0 (leave it out for no minimum)";
            return Err(InvalidInput::new("min_subtotal", message).into());
        }
        let budget = self.budget.map(Budget::parse).transpose()?.map(Budget::get);
        Ok(CheckedTerms { raw: self, discount, max_uses, min_subtotal, budget })
    }
}

/// Terms checked without the database: discount, max uses and the minimums.
pub(crate) struct CheckedTerms<'a> {
    raw: &'a VoucherTerms,
    discount: DiscountSpec,
    max_uses: MaxUses,
    min_subtotal: Option<Money>,
    budget: Option<Money>,
}

/// Terms resolved inside the transaction: ready to insert.
pub(crate) struct ResolvedTerms {
    pub template: VoucherTemplate,
    pub ticket_types: Applies,
    pub addons: Applies,
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
            min_quantity: t.min_quantity,
            min_subtotal: t.min_subtotal,
            uses_held: 0,
            budget: t.budget,
            budget_used: Money::ZERO,
            once_per_customer: t.once_per_customer,
        }
    }
}

/// Sorted, distinct slugs; an empty list means "applies to all".
fn distinct(slugs: &[String]) -> Vec<String> {
    let mut slugs: Vec<String> = slugs.iter().map(|s| s.trim().to_owned()).collect();
    slugs.sort();
    slugs.dedup();
    slugs
}

/// What `applies` resolves to, sorted and distinct, as the store keeps it.
fn normalized(applies: &Applies) -> Applies {
    match applies {
        Applies::Only(slugs) => Applies::these(distinct(slugs)),
        other => other.clone(),
    }
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

        let applies_tickets = normalized(&self.raw.applicable_ticket_types);
        let applies_addons = normalized(&self.raw.applicable_addons);
        let (ticket_types, addons) = (applies_tickets.slugs().to_vec(), applies_addons.slugs().to_vec());
        // A value that is not even a slug names nothing; refuse it before it reaches the database
        // (PostgreSQL rejects text with NUL bytes as an error, not as "no such row").
        let not_slug = |slugs: &[String]| slugs.iter().find(|s| Slug::parse("slug", s).is_err()).cloned();
        if let Some(slug) = not_slug(&ticket_types) {
            return Err(VoucherError::UnknownTicketType {
                field: "applicable_ticket_types",
                conference: conference.slug.clone(),
                slug,
                suggestion: None,
            });
        }
        if let Some(slug) = not_slug(&addons) {
            return Err(VoucherError::UnknownAddon {
                field: "applicable_addons",
                conference: conference.slug.clone(),
                slug,
                suggestion: None,
            });
        }
        let (tt_ids, addon_ids) = if ticket_types.is_empty() && addons.is_empty() {
            (Vec::new(), Vec::new())
        } else {
            let found = tx.restriction_ids(conference.id, &ticket_types, &addons).await?;
            let (tt_ids, addon_ids) =
                (resolve_ids(found.ticket_types, &ticket_types), resolve_ids(found.addons, &addons));
            if tt_ids.is_err() || addon_ids.is_err() {
                // An unknown slug: the closest known one may be what was meant.
                let (known_tt, known_addons) = tx.catalog_slugs(conference.id).await?;
                let near =
                    |slug: &str, known: &[String]| closest(slug, known.iter().map(String::as_str)).map(str::to_owned);
                if let Err(slug) = tt_ids {
                    return Err(VoucherError::UnknownTicketType {
                        field: "applicable_ticket_types",
                        conference: conference.slug.clone(),
                        suggestion: near(&slug, &known_tt),
                        slug,
                    });
                }
                if let Err(slug) = addon_ids {
                    return Err(VoucherError::UnknownAddon {
                        field: "applicable_addons",
                        conference: conference.slug.clone(),
                        suggestion: near(&slug, &known_addons),
                        slug,
                    });
                }
            }
            (tt_ids.unwrap_or_default(), addon_ids.unwrap_or_default())
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
            min_quantity: self.raw.min_quantity,
            min_subtotal: self.min_subtotal,
            budget: self.budget,
            once_per_customer: self.raw.once_per_customer,
            restriction_set_id,
            applies_none: applies_none_bits(&applies_tickets, &applies_addons),
            batch_id: None,
            created_at: super::now(),
            readable: false,
        };
        Ok((conference, ResolvedTerms { template, ticket_types: applies_tickets, addons: applies_addons }))
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
