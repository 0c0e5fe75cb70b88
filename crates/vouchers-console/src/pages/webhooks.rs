//! Webhooks of a conference: each subscription with its recent deliveries (status, the
//! receiver's last answer) and a Redeliver button; create one (its secret is shown once),
//! disable, enable, rotate the secret. A subscription the sender disabled says why.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use vouchers_core::domain::{Conference, EventType};
use vouchers_core::service::webhooks;
use vouchers_core::store::DeliveryFilter;

use super::id_of;
use crate::error::ConsoleError;
use crate::session::{Posted, Signed};
use crate::view::{page, Nav};
use crate::ConsoleState;

/// Deliveries shown per subscription.
const RECENT: i64 = 10;

#[derive(Template)]
#[template(path = "webhooks.html")]
struct WebhooksPage {
    nav: Option<Nav>,
    slug: String,
    /// The zone the times are in.
    timezone: String,
    webhooks: Vec<WebhookRow>,
    event_types: Vec<&'static str>,
    created: Option<String>,
    error: Option<String>,
    url: String,
}

struct WebhookRow {
    id: i64,
    url: String,
    enabled: bool,
    events: String,
    note: Option<String>,
    deliveries: Vec<DeliveryRow>,
}

struct DeliveryRow {
    id: i64,
    event_type: String,
    event_id: String,
    status: &'static str,
    attempts: i64,
    answer: String,
    response: String,
    next_attempt_at: String,
}

async fn render(
    state: &ConsoleState,
    signed: &Signed,
    conference: &Conference,
    created: Option<String>,
    error: Option<String>,
    url: String,
) -> Result<Response, ConsoleError> {
    let store = state.store.as_ref();
    let hooks = webhooks::list_webhooks(store, &conference.slug).await?;
    let mut rows = Vec::with_capacity(hooks.len());
    for hook in hooks {
        let filter =
            DeliveryFilter { webhook_id: Some(hook.id), limit: RECENT, newest_first: true, ..Default::default() };
        let recent = webhooks::list_deliveries(store, &conference.slug, &filter).await?;
        let all_events = hook.events.len() == EventType::ALL.len();
        rows.push(WebhookRow {
            id: hook.id,
            url: hook.url,
            enabled: hook.enabled,
            events: if all_events { "every event".to_owned() } else { hook.events.join(", ") },
            note: hook.disabled_reason.filter(|_| !hook.enabled),
            deliveries: recent
                .into_iter()
                .map(|d| DeliveryRow {
                    id: d.id,
                    event_type: d.event_type,
                    event_id: d.event_id,
                    status: d.status.as_str(),
                    attempts: d.attempts,
                    answer: match (d.last_status_code, d.last_error) {
                        (Some(code), _) => code.to_string(),
                        (None, Some(error)) => error,
                        (None, None) => String::new(),
                    },
                    response: d.response_body.unwrap_or_default().chars().take(200).collect(),
                    next_attempt_at: d
                        .next_attempt_at
                        .as_ref()
                        .map(|t| crate::view::local(t, conference.timezone))
                        .unwrap_or_default(),
                })
                .collect(),
        });
    }
    let status = if error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let mut response = page(
        status,
        &WebhooksPage {
            nav: Some(Nav::new(signed, Some(conference))),
            slug: conference.slug.clone(),
            timezone: conference.timezone.name().to_owned(),
            webhooks: rows,
            event_types: EventType::ALL.iter().map(|t| t.as_str()).collect(),
            created,
            error,
            url,
        },
    )?;
    response.headers_mut().insert(axum::http::header::CACHE_CONTROL, axum::http::HeaderValue::from_static("no-store"));
    Ok(response)
}

fn back(conference: &Conference) -> Response {
    Redirect::to(&format!("/console/c/{}/webhooks", conference.slug)).into_response()
}

/// The list and the form.
pub(crate) async fn list(
    State(state): State<ConsoleState>,
    signed: Signed,
    Path(conf): Path<String>,
) -> Result<Response, ConsoleError> {
    let conference = signed.conference(&state, &conf).await?;
    render(&state, &signed, &conference, None, None, String::new()).await
}

/// Creates a subscription and shows its secret, once.
pub(crate) async fn create(
    State(state): State<ConsoleState>,
    Path(conf): Path<String>,
    Posted { signed, form }: Posted,
) -> Result<Response, ConsoleError> {
    let conference = signed.conference(&state, &conf).await?;
    let url = form.text("url");
    let events = form.all("event");
    let store = signed.store(&state);
    match webhooks::create_webhook(store.as_ref(), &conference.slug, &url, &events, state.limits.webhooks.policy).await
    {
        Ok(created) => {
            tracing::info!(account = %signed.session.account.email, webhook = created.webhook.id, "webhook created");
            let secret = created.secret.expose().to_owned();
            render(&state, &signed, &conference, Some(secret), None, String::new()).await
        }
        Err(e) if e.is_input_error() => {
            render(&state, &signed, &conference, None, Some(crate::view::said(&e)), url).await
        }
        Err(e) => Err(e.into()),
    }
}

/// Disables a subscription.
pub(crate) async fn disable(
    State(state): State<ConsoleState>,
    Path((conf, id)): Path<(String, String)>,
    Posted { signed, .. }: Posted,
) -> Result<Response, ConsoleError> {
    let conference = signed.conference(&state, &conf).await?;
    webhooks::set_enabled(signed.store(&state).as_ref(), &conference.slug, id_of(&id)?, false).await?;
    Ok(back(&conference))
}

/// Enables a subscription.
pub(crate) async fn enable(
    State(state): State<ConsoleState>,
    Path((conf, id)): Path<(String, String)>,
    Posted { signed, .. }: Posted,
) -> Result<Response, ConsoleError> {
    let conference = signed.conference(&state, &conf).await?;
    webhooks::set_enabled(signed.store(&state).as_ref(), &conference.slug, id_of(&id)?, true).await?;
    Ok(back(&conference))
}

/// Gives a subscription a new secret and shows it, once.
pub(crate) async fn rotate(
    State(state): State<ConsoleState>,
    Path((conf, id)): Path<(String, String)>,
    Posted { signed, .. }: Posted,
) -> Result<Response, ConsoleError> {
    let conference = signed.conference(&state, &conf).await?;
    let rotated = webhooks::rotate_secret(signed.store(&state).as_ref(), &conference.slug, id_of(&id)?).await?;
    let secret = rotated.secret.expose().to_owned();
    render(&state, &signed, &conference, Some(secret), None, String::new()).await
}

/// Queues a delivery again.
pub(crate) async fn redeliver(
    State(state): State<ConsoleState>,
    Path((conf, id)): Path<(String, String)>,
    Posted { signed, .. }: Posted,
) -> Result<Response, ConsoleError> {
    let conference = signed.conference(&state, &conf).await?;
    webhooks::redeliver(signed.store(&state).as_ref(), &conference.slug, id_of(&id)?).await?;
    Ok(back(&conference))
}
