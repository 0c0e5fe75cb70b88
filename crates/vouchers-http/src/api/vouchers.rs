//! Vouchers of a conference: add one, generate a batch (`/bulk`, optionally idempotent), list,
//! show and change one.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Deserializer};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use vouchers_core::domain::{
    Alphabet, Applies, Budget, CodeFormat, CodePrefix, InvalidInput, MaxUses, Voucher, VoucherType, When,
};
use vouchers_core::service::add::{add_voucher, AddVoucher};
use vouchers_core::service::allotments::AllotmentRequest;
use vouchers_core::service::idempotent::IdempotencyKey;
use vouchers_core::service::manage::{update_voucher, VoucherUpdate};
use vouchers_core::service::query;
use vouchers_core::store::VoucherFilter;
use vouchers_core::{
    generate_voucher_codes_with, GenerateOptions, GeneratedBatch, VoucherBulkConfig, VoucherError, VoucherTerms,
};

use crate::auth::Managed;
use crate::error::{ApiError, ErrorResponses};
use crate::extract::{ApiJson, ApiPath, ApiQuery, DecimalInput};
use crate::pagination::{page, Page, PageParams, Position};
use crate::AppState;

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(add, list)).routes(routes!(bulk)).routes(routes!(show, patch))
}

fn one() -> i64 {
    VoucherTerms::DEFAULT_MAX_USES
}

fn min_quantity() -> i64 {
    VoucherTerms::DEFAULT_MIN_QUANTITY
}

fn eight() -> i64 {
    i64::from(CodeFormat::DEFAULT_LENGTH)
}

/// Declares a request body: its own fields, then the voucher terms' fields, declared here once
/// for every body that carries terms (`AddVoucherRequest`, `BulkRequest`), with
/// `terms(&self)`, the one conversion into the core's [`VoucherTerms`]. A macro rather than
/// `#[serde(flatten)]`: a flattened struct cannot refuse unknown fields and loses the path of a
/// bad value, and the API names the field of every bad value.
macro_rules! body_with_terms {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $( $(#[$field_meta:meta])* pub $field:ident : $ty:ty, )*
        }
    ) => {
        $(#[$meta])*
        pub struct $name {
            $( $(#[$field_meta])* pub $field: $ty, )*
            /// comp, percentage or fixed_amount.
            pub voucher_type: VoucherType,
            /// Percentage (0-100) or amount; required unless comp.
            #[serde(default)]
            pub discount_value: Option<DecimalInput>,
            /// Uses allowed per voucher (default 1).
            #[serde(default = "one")]
            #[schema(default = 1, minimum = 1, maximum = 2147483647)]
            pub max_uses: i64,
            /// Start of the validity window: RFC 3339, or YYYY-MM-DDTHH:MM in the conference's
            /// time zone.
            #[serde(default)]
            pub valid_from: Option<String>,
            /// End of the validity window (inclusive), same forms.
            #[serde(default)]
            pub valid_until: Option<String>,
            /// Reveal the conference's hidden ticket types.
            #[serde(default)]
            pub unlocks_hidden_tickets: bool,
            /// Ticket type slugs it applies to; absent, `null` or empty: all; `"none"`: none.
            #[serde(default)]
            pub applicable_ticket_types: Option<Applies>,
            /// Add-on slugs it applies to; absent, `null` or empty: all; `"none"`: none (a
            /// speaker's comp ticket that must not make the tutorials free).
            #[serde(default)]
            pub applicable_addons: Option<Applies>,
            /// Qualifying items (of the lines it applies to) a cart needs to use it, 1 to 10,000
            /// (default 1); a cart with fewer is refused with `below_minimum`.
            #[serde(default = "min_quantity")]
            #[schema(default = 1, minimum = 1, maximum = 10000)]
            pub min_quantity: i64,
            /// Qualifying subtotal a cart needs to use it (default none); a cart below it is
            /// refused with `below_minimum`.
            #[serde(default)]
            pub min_subtotal: Option<DecimalInput>,
            /// The most discount all of a voucher's redemptions may give together (default none);
            /// a redemption's discount is capped at what is left, and with nothing left the code
            /// is refused with `budget_exhausted`.
            #[serde(default)]
            pub budget: Option<DecimalInput>,
            /// A customer may hold or redeem at most one code of the batch (default false); hold
            /// and redeem then require `customer_email`.
            #[serde(default)]
            pub once_per_customer: bool,
        }

        impl $name {
            /// The terms, checked where the core checks nothing (times in the conference's zone
            /// are read here).
            fn terms(&self) -> Result<VoucherTerms, VoucherError> {
                Ok(VoucherTerms {
                    voucher_type: self.voucher_type,
                    discount_value: self.discount_value.map(|d| d.0),
                    max_uses: self.max_uses,
                    valid_from: when("valid_from", self.valid_from.as_deref())?,
                    valid_until: when("valid_until", self.valid_until.as_deref())?,
                    unlocks_hidden_tickets: self.unlocks_hidden_tickets,
                    applicable_ticket_types: self.applicable_ticket_types.clone().unwrap_or_default(),
                    applicable_addons: self.applicable_addons.clone().unwrap_or_default(),
                    min_quantity: self.min_quantity,
                    min_subtotal: self.min_subtotal.map(|d| d.0),
                    budget: self.budget.map(|d| d.0),
                    once_per_customer: self.once_per_customer,
                })
            }
        }
    };
}

/// Deserializes a present field (even `null`) as `Some`, so that `null` can mean "remove".
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(deserializer: D) -> Result<Option<T>, D::Error> {
    T::deserialize(deserializer).map(Some)
}

fn when(field: &'static str, value: Option<&str>) -> Result<Option<When>, VoucherError> {
    Ok(value.map(|v| When::parse(field, v)).transpose()?)
}

body_with_terms! {
    /// One voucher with a code you choose.
    #[derive(Debug, Deserialize, ToSchema)]
    #[serde(deny_unknown_fields)]
    pub struct AddVoucherRequest {
        /// 1-100 characters of A-Z a-z 0-9 - _ . starting with a letter or digit.
        #[schema(example = "PYCON-KEYNOTE")]
        pub code: String,
        /// `readable`: the code is matched with folding (case, O/0, I/L/1, hyphens and spaces) and
        /// no other code may fold the same; `alnum` (default): matched ignoring case.
        #[serde(default)]
        pub alphabet: Alphabet,
    }
}

body_with_terms! {
    /// `VoucherBulkConfig` (the bulk generation's configuration, with the Django service's field
    /// names and defaults), as JSON.
    #[derive(Debug, Deserialize, ToSchema)]
    #[serde(deny_unknown_fields)]
    pub struct BulkRequest {
        /// Text in front of every code: at most 20 characters of A-Z a-z 0-9 - _ .
        #[serde(default)]
        #[schema(example = "SPONSOR-")]
        pub prefix: String,
        /// How many codes, 1 to 500 (the server's batch limit).
        #[schema(example = 20)]
        pub count: i64,
        /// The random characters' alphabet: `alnum` (A-Z0-9, the default) or `readable`
        /// (Crockford's Base32, 0-9 A-Z without I L O U; typed codes matched with folding).
        #[serde(default)]
        pub alphabet: Alphabet,
        /// Random characters after the prefix, 6 to 32 (default 8).
        #[serde(default = "eight")]
        #[schema(default = 8, minimum = 6, maximum = 32)]
        pub length: i64,
        /// Append a check character, so that a typo answers `mistyped`.
        #[serde(default)]
        pub check_char: bool,
        /// Create the batch even if its codes could be guessed faster than the server's floor
        /// (`weak_codes` otherwise).
        #[serde(default)]
        pub allow_weak_codes: bool,
        /// The batch's name for people, at most 100 characters on one line (default none).
        #[serde(default)]
        #[schema(example = "Sponsors 2027")]
        pub name: String,
        /// A note on the batch, at most 2,000 characters (default none).
        #[serde(default)]
        pub note: String,
    }
}

body_with_terms! {
    /// A new sponsor allotment: the sponsor, its passes and deadline, the attendee email, and the
    /// terms and format of every pass's code (those of `/vouchers/bulk`; once per customer is
    /// implied).
    #[derive(Debug, Deserialize, ToSchema)]
    #[serde(deny_unknown_fields)]
    pub struct CreateAllotment {
        /// The sponsor's name.
        #[schema(example = "ACME Corp")]
        pub sponsor: String,
        /// The sponsor's contact email (reminders go there).
        #[schema(example = "sponsors@acme.example")]
        pub contact: String,
        /// Passes, 1 to the server's batch limit.
        #[schema(example = 5)]
        pub seats: i64,
        /// When unassigned passes are returned: RFC 3339, or YYYY-MM-DDTHH:MM in the
        /// conference's time zone; in the future.
        #[schema(example = "2027-04-30T23:59")]
        pub deadline: String,
        /// Days before the deadline the contact is reminded while passes are left (default
        /// `[7, 1]`; `[]`: none).
        #[serde(default)]
        pub reminder_days: Option<Vec<i64>>,
        /// The attendee email's subject template (default: a built-in one).
        #[serde(default)]
        pub subject: Option<String>,
        /// Its plain-text template (`{{ sponsor }}` and the placeholders of `send`).
        #[serde(default)]
        pub template: Option<String>,
        /// Its HTML template.
        #[serde(default)]
        pub html_template: Option<String>,
        /// Text in front of every code.
        #[serde(default)]
        pub prefix: String,
        /// The random characters' alphabet: `alnum` (default) or `readable`.
        #[serde(default)]
        pub alphabet: Alphabet,
        /// Random characters after the prefix, 6 to 32 (default 8).
        #[serde(default = "eight")]
        #[schema(default = 8, minimum = 6, maximum = 32)]
        pub length: i64,
        /// Append a check character.
        #[serde(default)]
        pub check_char: bool,
        /// Create it even if its codes could be guessed faster than the server's floor.
        #[serde(default)]
        pub allow_weak_codes: bool,
    }
}

impl CreateAllotment {
    /// The use case's request for the conference `conference`.
    pub(crate) fn request(self, conference: String) -> Result<AllotmentRequest, VoucherError> {
        let terms = self.terms()?;
        Ok(AllotmentRequest {
            deadline: When::parse("deadline", &self.deadline)?,
            sponsor: self.sponsor,
            contact: self.contact,
            seats: self.seats,
            reminder_days: self.reminder_days,
            subject: self.subject,
            template: self.template,
            html_template: self.html_template,
            codes: VoucherBulkConfig {
                conference,
                prefix: self.prefix,
                count: self.seats,
                terms,
                alphabet: self.alphabet,
                length: self.length,
                check_char: self.check_char,
                allow_weak_codes: self.allow_weak_codes,
                name: String::new(),
                note: String::new(),
            },
        })
    }
}

/// Changes to one voucher; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VoucherPatch {
    /// Activate or deactivate.
    #[serde(default)]
    pub is_active: Option<bool>,
    /// Uses allowed: 1 to 2,147,483,647, and at least the uses consumed.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 2147483647)]
    pub max_uses: Option<i64>,
    /// New start of the window; `null` removes it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub valid_from: Option<Option<String>>,
    /// New end of the window; `null` removes it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub valid_until: Option<Option<String>>,
    /// New budget (more than 0); `null` removes it. Below what was given already, nothing more
    /// is given.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub budget: Option<Option<DecimalInput>>,
}

/// Filters and paging of the voucher list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VoucherListParams {
    /// Only codes starting with this text, ignoring case.
    pub prefix: Option<String>,
    /// Only vouchers of this batch.
    pub batch: Option<i64>,
    /// Only active (true) or inactive (false) vouchers.
    pub active: Option<bool>,
    /// Only the voucher(s) assigned to this recipient email (ignoring case).
    pub recipient: Option<String>,
    /// Items per page, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Adds one voucher with a chosen code.
#[utoipa::path(
    post,
    path = "/api/v1/conferences/{conf}/vouchers",
    tag = "vouchers",
    params(("conf" = String, Path, description = "The conference's slug", example = "pycon")),
    request_body = AddVoucherRequest,
    responses((status = 201, description = "Created", body = Voucher), ErrorResponses),
    security(("bearer" = []))
)]
async fn add(
    State(state): State<AppState>,
    Managed { principal, conference }: Managed,
    ApiJson(body): ApiJson<AddVoucherRequest>,
) -> Result<(StatusCode, Json<Voucher>), ApiError> {
    let terms = body.terms()?;
    let request = AddVoucher { conference: conference.slug, code: body.code, terms, alphabet: body.alphabet };
    let voucher = add_voucher(principal.store(&state).as_ref(), &request).await?;
    Ok((StatusCode::CREATED, Json(voucher)))
}

/// Generates a batch of random codes in one transaction. With an `Idempotency-Key`, a retry of
/// the same request answers the first response (header `Idempotent-Replayed: true`) instead of
/// creating a second batch; the same key with a different body is a 422.
#[utoipa::path(
    post,
    path = "/api/v1/conferences/{conf}/vouchers/bulk",
    tag = "vouchers",
    params(
        ("conf" = String, Path, description = "The conference's slug", example = "pycon"),
        ("Idempotency-Key" = Option<String>, Header, description = "1-255 visible ASCII characters naming this request; retries with the same key and body get the first response"),
    ),
    request_body = BulkRequest,
    responses((status = 201, description = "The batch and its vouchers", body = GeneratedBatch), ErrorResponses),
    security(("bearer" = []))
)]
async fn bulk(
    State(state): State<AppState>,
    Managed { principal, conference }: Managed,
    headers: HeaderMap,
    ApiJson(body): ApiJson<BulkRequest>,
) -> Result<Response, ApiError> {
    let mut keys = headers.get_all("idempotency-key").iter();
    let key = match (keys.next(), keys.next()) {
        (None, _) => None,
        (Some(_), Some(_)) => {
            return Err(VoucherError::from(InvalidInput::new(
                "Idempotency-Key",
                "Idempotency-Key must be sent once; this request has several",
            ))
            .into())
        }
        (Some(value), None) => {
            let text = value.to_str().map_err(|_| {
                VoucherError::from(InvalidInput::new("Idempotency-Key", "Idempotency-Key must be visible ASCII"))
            })?;
            Some(IdempotencyKey::parse(text).map_err(VoucherError::from)?)
        }
    };
    let terms = body.terms()?;
    let config = VoucherBulkConfig {
        conference: conference.slug,
        prefix: body.prefix,
        count: body.count,
        terms,
        alphabet: body.alphabet,
        length: body.length,
        check_char: body.check_char,
        allow_weak_codes: body.allow_weak_codes,
        name: body.name,
        note: body.note,
    };
    let options = GenerateOptions { idempotency_key: key.as_ref(), ..GenerateOptions::default() };
    let answer = generate_voucher_codes_with(principal.store(&state).as_ref(), &state.limits, &config, options).await?;
    let mut response = (StatusCode::CREATED, Json(answer.generated)).into_response();
    if answer.replayed {
        response.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Ok(response)
}

/// The conference's vouchers, in creation order.
#[utoipa::path(
    get,
    path = "/api/v1/conferences/{conf}/vouchers",
    tag = "vouchers",
    params(("conf" = String, Path, description = "The conference's slug", example = "pycon"), VoucherListParams),
    responses((status = 200, description = "A page of vouchers", body = Page<Voucher>), ErrorResponses),
    security(("bearer" = []))
)]
async fn list(
    State(state): State<AppState>,
    Managed { principal, conference }: Managed,
    ApiQuery(params): ApiQuery<VoucherListParams>,
) -> Result<Json<Page<Voucher>>, ApiError> {
    let paging = PageParams { limit: params.limit, cursor: params.cursor };
    let limit = paging.limit()?;
    let filter = VoucherFilter {
        prefix: params.prefix.as_deref().map(CodePrefix::parse).transpose().map_err(VoucherError::from)?.flatten(),
        batch_id: params.batch,
        active: params.active,
        recipient_email: params.recipient.as_deref().map(query::recipient_filter).transpose()?,
        after_id: Some(paging.after_id()?),
        limit: Some(limit + 1),
        ..VoucherFilter::default()
    };
    let vouchers = query::list_vouchers(principal.store(&state).as_ref(), &conference.slug, &filter).await?;
    Ok(Json(page(vouchers, limit, |v| Position::Id(v.id))))
}

/// One voucher; the code is matched ignoring case.
#[utoipa::path(
    get,
    path = "/api/v1/conferences/{conf}/vouchers/{code}",
    tag = "vouchers",
    params(
        ("conf" = String, Path, description = "The conference's slug", example = "pycon"),
        ("code" = String, Path, description = "The code, any case", example = "PYCON-KEYNOTE"),
    ),
    responses((status = 200, description = "The voucher", body = Voucher), ErrorResponses),
    security(("bearer" = []))
)]
async fn show(
    State(state): State<AppState>,
    Managed { principal, conference }: Managed,
    ApiPath(path): ApiPath<(String, String)>,
) -> Result<Json<Voucher>, ApiError> {
    let (_, code) = path;
    Ok(Json(query::find_voucher(principal.store(&state).as_ref(), &conference.slug, &code).await?))
}

/// Changes `is_active`, `max_uses` or the validity window of one voucher, in one transaction.
#[utoipa::path(
    patch,
    path = "/api/v1/conferences/{conf}/vouchers/{code}",
    tag = "vouchers",
    params(
        ("conf" = String, Path, description = "The conference's slug", example = "pycon"),
        ("code" = String, Path, description = "The code, any case", example = "PYCON-KEYNOTE"),
    ),
    request_body = VoucherPatch,
    responses((status = 200, description = "The voucher as changed", body = Voucher), ErrorResponses),
    security(("bearer" = []))
)]
async fn patch(
    State(state): State<AppState>,
    Managed { principal, conference }: Managed,
    ApiPath(path): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<VoucherPatch>,
) -> Result<Json<Voucher>, ApiError> {
    let (_, code) = path;
    let bound = |field: &'static str, value: Option<Option<String>>| -> Result<Option<Option<When>>, VoucherError> {
        Ok(match value {
            None => None,
            Some(None) => Some(None),
            Some(Some(text)) => Some(Some(When::parse(field, &text)?)),
        })
    };
    let update = VoucherUpdate {
        is_active: body.is_active,
        max_uses: body.max_uses.map(MaxUses::new).transpose().map_err(VoucherError::from)?,
        valid_from: bound("valid_from", body.valid_from)?,
        valid_until: bound("valid_until", body.valid_until)?,
        budget: match body.budget {
            None => None,
            Some(None) => Some(None),
            Some(Some(value)) => Some(Some(Budget::parse(value.0).map_err(VoucherError::from)?)),
        },
    };
    Ok(Json(update_voucher(principal.store(&state).as_ref(), &conference.slug, &code, &update).await?))
}
