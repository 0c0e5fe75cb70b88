//! A conference's audit log: who did what, newest first, [`PAGE`] records a page ("Older
//! records" continues before the last one's id), filtered by action (the fixed list
//! [`AUDIT_ACTIONS`]), actor (text its name contains) and days from/to in the conference's time
//! zone. Each record's changes are shown as `key: value` lines: at most [`MAX_PAIRS`] of them,
//! each value cut to [`MAX_VALUE`] characters.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono_tz::Tz;
use serde::Deserialize;
use serde_json::Value;
use vouchers_core::domain::{local_days, parse_date, quoted, AuditRecord, InvalidInput, AUDIT_ACTIONS};
use vouchers_core::service::audit;
use vouchers_core::store::AuditFilter;
use vouchers_core::VoucherError;

use crate::error::ConsoleError;
use crate::session::Signed;
use crate::view::{field_error, labelled, page, Nav};
use crate::ConsoleState;

/// Records shown per page.
const PAGE: i64 = 50;

/// The most `key: value` lines shown per record (the rest are counted).
const MAX_PAIRS: usize = 20;

/// The most characters shown of one value.
const MAX_VALUE: usize = 200;

/// The filters and their labels, as messages name them.
const LABELS: [(&str, &str); 6] =
    [("action", "Action"), ("actor", "Actor"), ("from", "From"), ("to", "To"), ("since", "From"), ("until", "To")];

/// The page's query: its filters, and where the page starts.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct AuditParams {
    action: Option<String>,
    actor: Option<String>,
    from: Option<String>,
    to: Option<String>,
    before: Option<String>,
}

impl AuditParams {
    fn text(value: &Option<String>) -> String {
        value.as_deref().map(str::trim).unwrap_or_default().to_owned()
    }

    /// The filter for a page of `limit` records, or each field's message.
    fn filter(&self, tz: Tz, limit: i64) -> Result<AuditFilter, Vec<(String, String)>> {
        let mut errors = Vec::new();
        let mut fail = |e: InvalidInput| errors.push((e.field.to_owned(), labelled(&e.message, &LABELS)));
        let action = Some(Self::text(&self.action)).filter(|a| !a.is_empty());
        if let Some(action) = action.as_deref().filter(|a| !AUDIT_ACTIONS.contains(a)) {
            let message = format!("action must be one of the listed actions, got {}", quoted(action));
            fail(InvalidInput::new("action", message));
        }
        let day = |field: &'static str, text: String| (!text.is_empty()).then(|| parse_date(field, &text)).transpose();
        let from = day("from", Self::text(&self.from)).map_err(&mut fail).ok().flatten();
        let to = day("to", Self::text(&self.to)).map_err(&mut fail).ok().flatten();
        let (since, until) = local_days(from, to, tz).map_err(&mut fail).unwrap_or_default();
        if !errors.is_empty() {
            return Err(errors);
        }
        let before_id = self.before.as_deref().and_then(|b| b.trim().parse::<i64>().ok());
        Ok(AuditFilter { since, until, action, actor: self.actor.clone(), before_id, limit })
    }

    /// This page's link with these filters, starting before record `before`.
    fn link(&self, before: Option<i64>) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        for (name, value) in [("action", &self.action), ("actor", &self.actor), ("from", &self.from), ("to", &self.to)]
        {
            if let Some(value) = value.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
                query.append_pair(name, value);
            }
        }
        if let Some(before) = before {
            query.append_pair("before", &before.to_string());
        }
        format!("audit?{}", query.finish())
    }
}

/// One record as the table shows it.
struct Row {
    at: String,
    action: String,
    actor: String,
    subject: String,
    details: Vec<(String, String)>,
}

/// At most [`MAX_VALUE`] characters of `text`, with an ellipsis when cut.
fn cut(text: &str) -> String {
    if text.chars().count() <= MAX_VALUE {
        return text.to_owned();
    }
    let mut shown: String = text.chars().take(MAX_VALUE).collect();
    shown.push('…');
    shown
}

/// A value for people: text as it is, a change as `old → new`, nothing as `none`, anything else
/// as JSON.
fn shown(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Null => "none".to_owned(),
        Value::Object(map) if map.len() == 2 && map.contains_key("old") && map.contains_key("new") => {
            format!("{} → {}", shown(&map["old"]), shown(&map["new"]))
        }
        other => other.to_string(),
    }
}

/// A record's changes as `(key, value)` lines, bounded by [`MAX_PAIRS`] and [`MAX_VALUE`].
fn details(changes: &Value) -> Vec<(String, String)> {
    match changes {
        Value::Object(map) => {
            let mut lines: Vec<(String, String)> =
                map.iter().take(MAX_PAIRS).map(|(key, value)| (cut(key), cut(&shown(value)))).collect();
            if map.len() > MAX_PAIRS {
                lines.push(("more".to_owned(), format!("{} fields not shown", map.len() - MAX_PAIRS)));
            }
            lines
        }
        Value::Null => Vec::new(),
        other => vec![("value".to_owned(), cut(&shown(other)))],
    }
}

fn row(record: &AuditRecord, tz: Tz) -> Row {
    Row {
        at: record.at.with_timezone(&tz).format("%Y-%m-%d %H:%M:%S").to_string(),
        action: record.action.clone(),
        actor: record.actor.to_string(),
        subject: record.target.clone(),
        details: details(&record.changes),
    }
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    nav: Option<Nav>,
    slug: String,
    timezone: String,
    actions: &'static [&'static str],
    action: String,
    actor: String,
    from: String,
    to: String,
    rows: Vec<Row>,
    next: Option<String>,
    errors: Vec<(String, String)>,
    filtered: bool,
}

impl AuditPage {
    fn error(&self, field: &str) -> Option<&str> {
        field_error(&self.errors, field)
    }
}

/// The audit log page.
pub(crate) async fn list(
    State(state): State<ConsoleState>,
    signed: Signed,
    Path(conf): Path<String>,
    Query(params): Query<AuditParams>,
) -> Result<Response, ConsoleError> {
    let conference = signed.conference(&state, &conf).await?;
    let tz = conference.timezone;
    let (rows, next, errors) = match params.filter(tz, PAGE + 1) {
        Ok(filter) => match audit::audit_log(state.store.as_ref(), &conference.slug, &filter).await {
            Ok(mut found) => {
                let page_len = usize::try_from(PAGE).unwrap_or(50);
                let more = found.len() > page_len;
                found.truncate(page_len);
                let next = if more { found.last().map(|r| params.link(Some(r.id))) } else { None };
                (found.iter().map(|r| row(r, tz)).collect(), next, Vec::new())
            }
            Err(VoucherError::Invalid(e)) => {
                (Vec::new(), None, vec![(e.field.to_owned(), labelled(&e.message, &LABELS))])
            }
            Err(e) => return Err(e.into()),
        },
        Err(errors) => (Vec::new(), None, errors),
    };
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let text = AuditParams::text;
    let view = AuditPage {
        nav: Some(Nav::new(&signed, Some(&conference))),
        slug: conference.slug.clone(),
        timezone: tz.name().to_owned(),
        actions: AUDIT_ACTIONS,
        action: text(&params.action),
        actor: text(&params.actor),
        from: text(&params.from),
        to: text(&params.to),
        filtered: [&params.action, &params.actor, &params.from, &params.to].iter().any(|v| !text(v).is_empty()),
        rows,
        next,
        errors,
    };
    page(status, &view)
}
