//! What every page shows (the navigation bar) and how values are shown: times in the
//! conference's time zone, amounts, statuses.

use askama::Template;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use vouchers_core::domain::{Conference, Recipient, Voucher, VoucherStatus, VoucherType};

use crate::error::ConsoleError;
use crate::session::Signed;

/// The conference a page is about, for the navigation bar.
pub(crate) struct ConferenceNav {
    pub slug: String,
    pub name: String,
}

/// The navigation bar: the signed-in account, its Sign out form, the current conference.
pub(crate) struct Nav {
    pub email: String,
    pub role: &'static str,
    pub csrf: String,
    pub conference: Option<ConferenceNav>,
    pub is_admin: bool,
    /// What the last change did ("25 vouchers deactivated"), shown once.
    pub flash: Option<String>,
}

impl Nav {
    /// The bar for `signed`, on a page about `conference` (if any).
    pub fn new(signed: &Signed, conference: Option<&Conference>) -> Self {
        let account = &signed.session.account;
        Self {
            email: account.email.clone(),
            role: account.role.as_str(),
            csrf: signed.session.csrf_token.clone(),
            conference: conference.map(|c| ConferenceNav { slug: c.slug.clone(), name: c.name.clone() }),
            is_admin: account.role == vouchers_core::domain::Role::Admin,
            flash: signed.flash.clone(),
        }
    }
}

/// Renders a page with a status.
pub(crate) fn page(status: StatusCode, template: &impl Template) -> Result<Response, ConsoleError> {
    Ok((status, Html(template.render()?)).into_response())
}

/// Renders a page with 200.
pub(crate) fn ok(template: &impl Template) -> Result<Response, ConsoleError> {
    page(StatusCode::OK, template)
}

/// Renders a form page that the browser may keep for Back (its idempotency key with it), so
/// that going back and submitting again replays the first answer instead of a second batch.
pub(crate) fn cacheable_form(template: &impl Template) -> Result<Response, ConsoleError> {
    let mut response = ok(template)?;
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("private"));
    Ok(response)
}

/// An instant in `tz`, to read: `2027-05-14 09:00`.
pub(crate) fn local(t: &DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string()
}

/// An instant in `tz` as a `datetime-local` input's value: `2027-05-14T09:00`.
pub(crate) fn input_value(t: &Option<DateTime<Utc>>, tz: Tz) -> String {
    t.map(|t| t.with_timezone(&tz).format("%Y-%m-%dT%H:%M").to_string()).unwrap_or_default()
}

/// A discount for people: `25% off`, `free`, `20.00 off`.
pub(crate) fn discount(kind: VoucherType, value: &vouchers_core::domain::Money) -> String {
    match kind {
        VoucherType::Comp => "free".to_owned(),
        VoucherType::Percentage => format!("{}% off", value.amount().normalize()),
        VoucherType::FixedAmount => format!("{value} off"),
    }
}

/// A voucher as a table row shows it.
pub(crate) struct VoucherRow {
    pub code: String,
    pub kind: String,
    pub discount: String,
    pub uses: String,
    pub window: String,
    pub status: &'static str,
    /// The status's colour class (`status-active`, `status-used-up`, ...).
    pub status_class: &'static str,
    pub batch: String,
    pub recipient: Option<RecipientView>,
    /// What it applies to, in words.
    pub applies: String,
}

/// Who a voucher was handed to, as pages show it.
pub(crate) struct RecipientView {
    pub name: String,
    pub email: String,
    /// `company: ACME, track: web`; empty without tags.
    pub tags: String,
}

impl RecipientView {
    /// The view of `recipient`.
    pub fn new(recipient: &Recipient) -> Self {
        Self {
            name: recipient.name.clone(),
            email: recipient.email.clone(),
            tags: recipient.tags.iter().map(|(k, v)| format!("{k}: {v}")).collect::<Vec<_>>().join(", "),
        }
    }
}

impl VoucherRow {
    /// The row of `voucher` at `now`, times in `tz`.
    pub fn new(voucher: &Voucher, tz: Tz, now: DateTime<Utc>) -> Self {
        let from = voucher.valid_from.as_ref().map(|t| local(t, tz));
        let until = voucher.valid_until.as_ref().map(|t| local(t, tz));
        let window = match (from, until) {
            (None, None) => "always".to_owned(),
            (Some(f), None) => format!("from {f}"),
            (None, Some(u)) => format!("until {u}"),
            (Some(f), Some(u)) => format!("{f} to {u}"),
        };
        Self {
            code: voucher.code.clone(),
            kind: voucher.voucher_type.to_string(),
            discount: discount(voucher.voucher_type, &voucher.discount_value),
            uses: format!("{} / {}", voucher.times_used, voucher.max_uses),
            window,
            status: VoucherStatus::of(voucher, now).label(),
            status_class: match VoucherStatus::of(voucher, now) {
                VoucherStatus::Active => "status-active",
                VoucherStatus::Inactive => "status-inactive",
                VoucherStatus::UsedUp => "status-used-up",
                VoucherStatus::NotYetValid => "status-not-yet-valid",
                VoucherStatus::Expired => "status-expired",
            },
            batch: voucher.batch_id.map(|b| b.to_string()).unwrap_or_else(|| "by hand".to_owned()),
            recipient: voucher.recipient.as_ref().map(RecipientView::new),
            applies: vouchers_core::domain::applies_in_words(
                &voucher.applicable_ticket_types,
                &voucher.applicable_addons,
            ),
        }
    }
}

/// A field's error message, if the form has one for it.
pub(crate) fn field_error<'a>(errors: &'a [(String, String)], field: &str) -> Option<&'a str> {
    errors.iter().find(|(f, _)| f == field).map(|(_, m)| m.as_str())
}

/// A refusal as the console says it: the rule's message with the field named by its label
/// ("Discount value must be ...", from the one table of fields, `vouchers_core::domain::FIELDS`).
pub(crate) fn said(error: &vouchers_core::VoucherError) -> String {
    let message = error.to_string();
    match error.field() {
        Some(field) => vouchers_core::domain::labelled(&message, field),
        None => message,
    }
}

/// A rule's refusal of one field as the console says it, the field named by its label.
pub(crate) fn told(error: &vouchers_core::domain::InvalidInput) -> String {
    vouchers_core::domain::labelled(&error.message, error.field)
}

/// A table's order, from its `sort` and `dir` query parameters: one of the table's columns
/// (anything else is the table's default), ascending unless `dir=desc`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Sort {
    pub column: &'static str,
    pub descending: bool,
}

impl Sort {
    /// The order asked for among `columns` (their keys), else `default` ascending.
    pub fn of(
        query: &std::collections::HashMap<String, String>,
        columns: &[(&'static str, &str)],
        default: &'static str,
    ) -> Self {
        let column = query.get("sort").and_then(|s| columns.iter().find(|(k, _)| k == s)).map_or(default, |(k, _)| *k);
        Self { column, descending: query.get("dir").is_some_and(|d| d == "desc") }
    }

    /// Orders `rows` by `key` for this sort's column (`key` gives each row's value for a
    /// column), stable so equal values keep their order.
    pub fn apply<T, K: Ord>(&self, rows: &mut [T], key: impl Fn(&T, &str) -> K) {
        rows.sort_by(|a, b| {
            let order = key(a, self.column).cmp(&key(b, self.column));
            if self.descending {
                order.reverse()
            } else {
                order
            }
        });
    }

    /// The header cells: each column a link that sorts by it (the current one toggles its
    /// direction), with `aria-sort` on the current one.
    pub fn headers(&self, base: &str, columns: &[(&'static str, &str)]) -> Vec<SortHeader> {
        columns
            .iter()
            .map(|(key, label)| {
                let current = *key == self.column;
                let dir = if current && !self.descending { "desc" } else { "asc" };
                SortHeader {
                    label: (*label).to_owned(),
                    href: format!("{base}?sort={key}&dir={dir}"),
                    aria: match (current, self.descending) {
                        (false, _) => "none",
                        (true, false) => "ascending",
                        (true, true) => "descending",
                    },
                    arrow: match (current, self.descending) {
                        (false, _) => "",
                        (true, false) => " ▲",
                        (true, true) => " ▼",
                    },
                }
            })
            .collect()
    }
}

/// A sortable column's header cell.
pub(crate) struct SortHeader {
    pub label: String,
    pub href: String,
    /// `aria-sort`: none, ascending or descending.
    pub aria: &'static str,
    /// ▲ or ▼ on the current column (hidden from screen readers, which read `aria-sort`).
    pub arrow: &'static str,
}

/// A rule's message as a form shows it: each field name of `labels` (`start_date`) replaced by
/// the label the person sees (`First day`), whole words only, so that the message names the
/// field as labelled ("Last day must not be before First day").
pub(crate) fn labelled(message: &str, labels: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(message.len());
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        let shown = labels.iter().find(|(field, _)| *field == word.as_str()).map_or(word.as_str(), |(_, l)| *l);
        out.push_str(shown);
        word.clear();
    };
    for c in message.chars() {
        if c.is_ascii_alphanumeric() || c == '_' {
            word.push(c);
        } else {
            flush(&mut word, &mut out);
            out.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sort_from_the_query() {
        let columns = [("name", "Name"), ("count", "Count")];
        let query = |pairs: &[(&str, &str)]| pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        let sort = Sort::of(&query(&[("sort", "count"), ("dir", "desc")]), &columns, "name");
        assert_eq!(sort, Sort { column: "count", descending: true });
        assert_eq!(
            Sort::of(&query(&[("sort", "drop table")]), &columns, "name"),
            Sort { column: "name", descending: false }
        );
        let mut rows = vec![("b", 1), ("a", 3), ("c", 2)];
        sort.apply(&mut rows, |r, column| if column == "count" { r.1 } else { 0 });
        assert_eq!(rows, vec![("a", 3), ("c", 2), ("b", 1)]);
        let headers = sort.headers("/x", &columns);
        assert_eq!((headers[0].aria, headers[0].href.as_str()), ("none", "/x?sort=name&dir=asc"));
        assert_eq!(
            (headers[1].aria, headers[1].href.as_str(), headers[1].arrow),
            ("descending", "/x?sort=count&dir=asc", " ▼")
        );
    }

    #[test]
    fn messages_name_fields_by_their_labels() {
        let labels = [("start_date", "First day"), ("end_date", "Last day"), ("name", "Name")];
        assert_eq!(
            labelled("end_date must not be before start_date (2027-05-13 < 2027-05-14)", &labels),
            "Last day must not be before First day (2027-05-13 < 2027-05-14)"
        );
        assert_eq!(
            labelled("name must be 1 to 200 characters, got 0", &labels),
            "Name must be 1 to 200 characters, got 0"
        );
        assert_eq!(labelled("renamed names: name_x", &labels), "renamed names: name_x");
    }
}
