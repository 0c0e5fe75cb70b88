//! A conference's vouchers: the list (search by code or prefix, filters by batch and status,
//! pages of 50), one voucher with a chosen code, a voucher's page (its terms, its redemptions)
//! and its edit form.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use vouchers_core::domain::{
    applies_in_words, minimum_in_words, parse_decimal, Alphabet, Budget, CodePrefix, Conference, MaxUses,
    VoucherStatus, When,
};
use vouchers_core::service::add::{add_voucher, AddVoucher};
use vouchers_core::service::manage::{update_voucher, VoucherUpdate};
use vouchers_core::service::{catalog, query};
use vouchers_core::store::{RedemptionRecord, VoucherFilter, VoucherOrder};
use vouchers_core::VoucherTerms;

use super::terms::{self, addon_choices, ticket_type_choices, Choice};
use crate::error::ConsoleError;
use crate::form::FormData;
use crate::session::{Posted, Signed};
use crate::view::{field_error, input_value, local, page, Nav, VoucherRow};
use crate::ConsoleState;

/// Vouchers per page.
const PAGE: i64 = 50;

/// The list's search and filters, as the query string gives them.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ListQuery {
    #[serde(default)]
    pub q: String,
    #[serde(default)]
    pub batch: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub after: String,
    /// `newest` or `code`; anything else is oldest first.
    #[serde(default)]
    pub order: String,
}

/// The list's orders: `(value, label)`, the first the default.
const ORDERS: [(&str, &str); 3] = [("", "Oldest first"), ("newest", "Newest first"), ("code", "Code, A to Z")];

#[derive(Template)]
#[template(path = "vouchers.html")]
struct ListPage {
    nav: Option<Nav>,
    slug: String,
    timezone: String,
    q: String,
    batch: String,
    status: String,
    statuses: Vec<(&'static str, &'static str)>,
    order: String,
    orders: Vec<(&'static str, &'static str)>,
    rows: Vec<VoucherRow>,
    next: Option<String>,
    first_page: bool,
    error: Option<String>,
    /// The batches to choose from (the newest [`BATCH_CHOICES`]), as `(id, label)`.
    batches: Vec<(String, String)>,
    /// The most vouchers one bulk action touches.
    max_bulk: usize,
}

/// The most batches the list's batch menu offers (the newest).
const BATCH_CHOICES: i64 = 1000;

/// The batches of the list's menu: the newest first, `Batch 3 (SPONSOR-)`.
async fn batch_choices(state: &ConsoleState, conference: &str) -> Result<Vec<(String, String)>, ConsoleError> {
    let mut batches = query::list_batches(state.store.as_ref(), conference, 0, i64::MAX).await?;
    batches.reverse();
    batches.truncate(usize::try_from(BATCH_CHOICES).unwrap_or(1000));
    Ok(batches
        .into_iter()
        .map(|b| {
            let label = if b.prefix.is_empty() { b.title() } else { format!("{} ({})", b.title(), b.prefix) };
            (b.id.to_string(), label)
        })
        .collect())
}

/// The list's filter from its query: the store's filter (without paging), or the message
/// naming the field that is wrong.
pub(crate) fn filter_of(params: &ListQuery, now: chrono::DateTime<chrono::Utc>) -> Result<VoucherFilter, String> {
    let prefix = CodePrefix::parse(&params.q).map_err(|e| crate::view::told(&e))?;
    let batch = super::batch_filter(&params.batch)?;
    let status = match params.status.trim() {
        "" => None,
        text => Some(VoucherStatus::parse(text).map_err(|e| crate::view::told(&e))?),
    };
    Ok(VoucherFilter { prefix, batch_id: batch, status: status.map(|s| (s, now)), ..VoucherFilter::default() })
}

/// The list's order from its query, with the page after `after` (an id, or a code by code).
fn order_of(params: &ListQuery) -> (VoucherOrder, Option<i64>) {
    let after = params.after.trim();
    let id = after.parse::<i64>().ok().filter(|a| *a > 0);
    match params.order.trim() {
        "newest" => (VoucherOrder::Newest, id),
        "code" => (VoucherOrder::Code { after: Some(after.to_owned()).filter(|a| !a.is_empty()) }, None),
        _ => (VoucherOrder::Oldest, id),
    }
}

impl ListQuery {
    /// The filter a bulk form carries in its hidden fields.
    pub(crate) fn from_form(form: &FormData) -> Self {
        Self {
            q: form.text("q"),
            batch: form.text("batch"),
            status: form.text("status"),
            after: String::new(),
            order: form.text("order"),
        }
    }

    /// The list's address with this filter (first page).
    pub(crate) fn url(&self, slug: &str) -> String {
        let query = form_urlencoded::Serializer::new(String::new())
            .append_pair("q", self.q.trim())
            .append_pair("batch", self.batch.trim())
            .append_pair("status", self.status.trim())
            .append_pair("order", self.order.trim())
            .finish();
        format!("/console/c/{slug}/vouchers?{query}")
    }
}

/// The list.
pub(crate) async fn list(
    State(state): State<ConsoleState>,
    signed: Signed,
    Path(conf): Path<String>,
    Query(params): Query<ListQuery>,
) -> Result<Response, ConsoleError> {
    let conference = signed.conference(&state, &conf).await?;
    render_list(&state, &signed, &conference, &params, None).await
}

/// The list with this filter; `refused` is a bulk action's refusal, shown above it with 422.
pub(crate) async fn render_list(
    state: &ConsoleState,
    signed: &Signed,
    conference: &Conference,
    params: &ListQuery,
    refused: Option<String>,
) -> Result<Response, ConsoleError> {
    let now = vouchers_core::now();
    let (order, after) = order_of(params);
    let first_page = match &order {
        VoucherOrder::Code { after } => after.is_none(),
        _ => after.is_none(),
    };
    let by_code = matches!(order, VoucherOrder::Code { .. });
    let (filter, mut error) = match filter_of(params, now) {
        Ok(filter) => (Some(filter), None),
        Err(message) => (None, Some(message)),
    };
    let mut vouchers = match filter {
        Some(filter) => {
            let filter = VoucherFilter { after_id: after, limit: Some(PAGE + 1), order, ..filter };
            query::list_vouchers(state.store.as_ref(), &conference.slug, &filter).await?
        }
        None => Vec::new(),
    };
    let more = vouchers.len() > usize::try_from(PAGE).unwrap_or(usize::MAX);
    vouchers.truncate(usize::try_from(PAGE).unwrap_or(usize::MAX));
    let next =
        if more { vouchers.last().map(|v| if by_code { v.code.clone() } else { v.id.to_string() }) } else { None };
    let rows = vouchers.iter().map(|v| VoucherRow::new(v, conference.timezone, now)).collect();
    if refused.is_some() {
        error = refused;
    }
    let status_code = if error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let list = ListPage {
        nav: Some(Nav::new(signed, Some(conference))),
        slug: conference.slug.clone(),
        timezone: conference.timezone.name().to_owned(),
        q: params.q.trim().to_owned(),
        batch: params.batch.trim().to_owned(),
        status: params.status.trim().to_owned(),
        statuses: VoucherStatus::ALL.iter().map(|s| (s.as_str(), s.label())).collect(),
        order: ORDERS
            .iter()
            .find(|(value, _)| *value == params.order.trim())
            .map_or("", |(value, _)| *value)
            .to_owned(),
        orders: ORDERS.to_vec(),
        rows,
        next,
        first_page,
        error,
        batches: batch_choices(state, &conference.slug).await?,
        max_bulk: vouchers_core::service::manage::MAX_BULK,
    };
    page(status_code, &list)
}

#[derive(Template)]
#[template(path = "voucher_new.html")]
struct NewPage {
    nav: Option<Nav>,
    slug: String,
    timezone: String,
    values: FormData,
    ticket_types: Vec<Choice>,
    addons: Vec<Choice>,
    errors: Vec<(String, String)>,
}

impl NewPage {
    fn error(&self, field: &str) -> Option<&str> {
        field_error(&self.errors, field)
    }

    fn value(&self, field: &str) -> String {
        self.values.text(field)
    }

    fn selected(&self, kind: &str) -> bool {
        super::terms::type_selected(&self.values, kind)
    }

    fn scope_is(&self, kind: &str, scope: &str) -> bool {
        super::terms::scope(&self.values, kind) == scope
    }
}

async fn render_new(
    state: &ConsoleState,
    signed: &Signed,
    conference: &Conference,
    values: FormData,
    errors: Vec<(String, String)>,
) -> Result<Response, ConsoleError> {
    let store = state.store.as_ref();
    let ticket_types = ticket_type_choices(&catalog::list_ticket_types(store, &conference.slug).await?, &values);
    let addons = addon_choices(&catalog::list_addons(store, &conference.slug).await?, &values);
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let form = NewPage {
        nav: Some(Nav::new(signed, Some(conference))),
        slug: conference.slug.clone(),
        timezone: conference.timezone.name().to_owned(),
        values,
        ticket_types,
        addons,
        errors,
    };
    page(status, &form)
}

/// The form for one voucher with a chosen code.
pub(crate) async fn new_form(
    State(state): State<ConsoleState>,
    signed: Signed,
    Path(conf): Path<String>,
) -> Result<Response, ConsoleError> {
    let conference = signed.conference(&state, &conf).await?;
    let mut defaults = FormData::default();
    defaults.set("max_uses", &VoucherTerms::DEFAULT_MAX_USES.to_string());
    render_new(&state, &signed, &conference, defaults, Vec::new()).await
}

/// Adds the voucher and shows it, or the form again with the rule each field broke.
pub(crate) async fn add(
    State(state): State<ConsoleState>,
    Path(conf): Path<String>,
    Posted { signed, form }: Posted,
) -> Result<Response, ConsoleError> {
    let conference = signed.conference(&state, &conf).await?;
    let mut errors = Vec::new();
    let terms = terms::parse(&form, &mut errors);
    if !errors.is_empty() {
        return render_new(&state, &signed, &conference, form, errors).await;
    }
    let request = AddVoucher {
        conference: conference.slug.clone(),
        code: form.text("code"),
        alphabet: if form.checked("readable") { Alphabet::Readable } else { Alphabet::Alnum },
        terms,
    };
    match add_voucher(signed.store(&state).as_ref(), &request).await {
        Ok(voucher) => {
            Ok(Redirect::to(&format!("/console/c/{}/vouchers/{}", conference.slug, voucher.code)).into_response())
        }
        Err(e) if e.is_input_error() => {
            let field = e.field().unwrap_or("code").to_owned();
            render_new(&state, &signed, &conference, form, vec![(field, crate::view::said(&e))]).await
        }
        Err(e) => Err(e.into()),
    }
}

/// What the voucher page shows of one redemption.
struct RedemptionRow {
    order_ref: String,
    redeemed_at: String,
    released_at: String,
}

#[derive(Template)]
#[template(path = "voucher.html")]
struct VoucherPage {
    nav: Option<Nav>,
    slug: String,
    timezone: String,
    row: VoucherRow,
    unlocks: bool,
    minimum: String,
    held: i64,
    budget: String,
    once_per_customer: bool,
    applies: String,
    redemptions: Vec<RedemptionRow>,
    values: FormData,
    errors: Vec<(String, String)>,
    saved: bool,
}

impl VoucherPage {
    fn error(&self, field: &str) -> Option<&str> {
        field_error(&self.errors, field)
    }

    fn value(&self, field: &str) -> String {
        self.values.text(field)
    }
}

async fn render_voucher(
    state: &ConsoleState,
    signed: &Signed,
    conference: &Conference,
    code: &str,
    values: Option<FormData>,
    errors: Vec<(String, String)>,
    saved: bool,
) -> Result<Response, ConsoleError> {
    let (voucher, redemptions) =
        match query::voucher_with_redemptions(state.store.as_ref(), &conference.slug, code).await {
            Ok(found) => found,
            Err(vouchers_core::VoucherError::VoucherNotFound { .. }) => return Err(ConsoleError::NotFound),
            Err(e) => return Err(e.into()),
        };
    let tz = conference.timezone;
    let values = values.unwrap_or_else(|| {
        let mut current = FormData::default();
        if voucher.is_active {
            current.set("is_active", "on");
        }
        current.set("max_uses", &voucher.max_uses.to_string());
        current.set("valid_from", &input_value(&voucher.valid_from, tz));
        current.set("valid_until", &input_value(&voucher.valid_until, tz));
        current.set("budget", &voucher.budget.map(|b| b.to_string()).unwrap_or_default());
        current
    });
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let view = VoucherPage {
        nav: Some(Nav::new(signed, Some(conference))),
        slug: conference.slug.clone(),
        timezone: tz.name().to_owned(),
        row: VoucherRow::new(&voucher, tz, vouchers_core::now()),
        unlocks: voucher.unlocks_hidden_tickets,
        minimum: minimum_in_words(voucher.min_quantity, voucher.min_subtotal),
        held: voucher.uses_held,
        budget: match voucher.budget {
            Some(budget) => format!("{} of {budget} given", voucher.budget_used),
            None => "none".to_owned(),
        },
        once_per_customer: voucher.once_per_customer,
        applies: applies_in_words(&voucher.applicable_ticket_types, &voucher.applicable_addons),
        redemptions: redemptions
            .iter()
            .map(|r: &RedemptionRecord| RedemptionRow {
                order_ref: r.order_ref.clone(),
                redeemed_at: local(&r.redeemed_at, tz),
                released_at: r.released_at.as_ref().map(|t| local(t, tz)).unwrap_or_default(),
            })
            .collect(),
        values,
        errors,
        saved,
    };
    page(status, &view)
}

/// Query of the voucher page: `saved=1` after an edit.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct VoucherQuery {
    #[serde(default)]
    saved: Option<String>,
}

/// A voucher's page.
pub(crate) async fn show(
    State(state): State<ConsoleState>,
    signed: Signed,
    Path((conf, code)): Path<(String, String)>,
    Query(params): Query<VoucherQuery>,
) -> Result<Response, ConsoleError> {
    let conference = signed.conference(&state, &conf).await?;
    render_voucher(&state, &signed, &conference, &code, None, Vec::new(), params.saved.is_some()).await
}

/// Changes the voucher's state, uses and window; or shows the rule a field broke.
pub(crate) async fn edit(
    State(state): State<ConsoleState>,
    Path((conf, code)): Path<(String, String)>,
    Posted { signed, form }: Posted,
) -> Result<Response, ConsoleError> {
    let conference = signed.conference(&state, &conf).await?;
    let mut errors = Vec::new();
    let max_uses = match form.text("max_uses").parse::<i64>() {
        Ok(n) => MaxUses::new(n).map_err(|e| errors.push(("max_uses".to_owned(), crate::view::told(&e)))).ok(),
        Err(_) => {
            errors.push(("max_uses".to_owned(), "max_uses must be a whole number".to_owned()));
            None
        }
    };
    let mut bound = |field: &'static str| match form.get(field).filter(|v| !v.is_empty()) {
        None => Some(None),
        Some(text) => match When::parse(field, text) {
            Ok(when) => Some(Some(when)),
            Err(e) => {
                errors.push((field.to_owned(), crate::view::told(&e)));
                None
            }
        },
    };
    let valid_from = bound("valid_from");
    let valid_until = bound("valid_until");
    let budget = match form.get("budget").filter(|v| !v.is_empty()) {
        None => Some(None),
        Some(text) => match parse_decimal("budget", text).and_then(Budget::parse) {
            Ok(budget) => Some(Some(budget)),
            Err(e) => {
                errors.push(("budget".to_owned(), crate::view::told(&e)));
                None
            }
        },
    };
    if !errors.is_empty() {
        return render_voucher(&state, &signed, &conference, &code, Some(form), errors, false).await;
    }
    let update =
        VoucherUpdate { is_active: Some(form.checked("is_active")), max_uses, valid_from, valid_until, budget };
    match update_voucher(signed.store(&state).as_ref(), &conference.slug, &code, &update).await {
        Ok(voucher) => {
            let to = format!("/console/c/{}/vouchers/{}?saved=1", conference.slug, voucher.code);
            Ok(Redirect::to(&to).into_response())
        }
        Err(vouchers_core::VoucherError::VoucherNotFound { .. }) => Err(ConsoleError::NotFound),
        Err(e) if e.is_input_error() => {
            let field = e.field().unwrap_or("max_uses").to_owned();
            render_voucher(&state, &signed, &conference, &code, Some(form), vec![(field, crate::view::said(&e))], false)
                .await
        }
        Err(e) => Err(e.into()),
    }
}
