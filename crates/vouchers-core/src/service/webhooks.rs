//! Webhooks: subscriptions (create, list, enable, disable, rotate the secret), the events every
//! use case writes in its own transaction ([`emit`]), the deliveries (list, redeliver), and the
//! sender that POSTs them through a [`WebhookClient`].
//!
//! A sender leases a subscription (one statement; several senders in one process or several
//! `serve` instances never lease one at once), then sends its pending deliveries in id order,
//! each only after the one before it was delivered: a receiver gets one subscription's events in
//! the order they were written. A delivery that is not answered with a 2xx within the timeout is
//! tried again on the [`RetrySchedule`], and the ones after it wait. A sender killed mid-delivery
//! leaves the lease to run out; the next sender sends the same delivery, with the same event id,
//! which is what the receiver de-duplicates on.

use std::net::SocketAddr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rand::rngs::OsRng;
use rand::{Rng, TryRngCore};
use serde::Serialize;

use crate::domain::{
    forbidden_address, signature_header, Conference, Delivery, DeliveryStatus, Event, EventSet, EventType,
    InvalidInput, RetrySchedule, TargetPolicy, Webhook, WebhookSecret, WebhookUrl,
};
use crate::store::{AttemptResult, ClaimedWebhook, DeliveryFilter, DueDelivery, NewEvent, NewWebhook, Store, StoreTx};
use crate::VoucherError;

use super::outbox::Stop;

/// How long the old secret keeps signing after a rotation.
pub const ROTATION_OVERLAP: chrono::Duration = chrono::Duration::hours(24);

/// The most of a receiver's answer kept on the delivery, in bytes.
pub const RESPONSE_KEPT: usize = 4096;

/// The most subscriptions one conference may have.
pub const MAX_WEBHOOKS: usize = 20;

/// A fresh event id: `evt_` and 26 characters (130 random bits).
pub fn new_event_id() -> String {
    random_text("evt_", 26)
}

fn random_text(prefix: &str, len: usize) -> String {
    const ALPHABET: &[u8] = b"0123456789abcdefghjkmnpqrstvwxyz";
    let mut bytes = vec![0u8; len];
    if OsRng.try_fill_bytes(&mut bytes).is_err() {
        rand::rng().fill(&mut bytes[..]);
    }
    let mut text = String::with_capacity(prefix.len() + len);
    text.push_str(prefix);
    text.extend(bytes.iter().map(|b| char::from(ALPHABET[usize::from(b & 31)])));
    text
}

/// A fresh signing secret: `whsec_` and 43 characters (256 random bits, base64url).
fn new_secret() -> Result<WebhookSecret, VoucherError> {
    use base64::Engine;
    let mut bytes = [0u8; 32];
    OsRng.try_fill_bytes(&mut bytes).map_err(|e| VoucherError::Random(Box::new(e)))?;
    let text = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    Ok(WebhookSecret::new(format!("{}{text}", WebhookSecret::PREFIX)))
}

/// The body of an event: `{"id", "type", "created_at", "conference", "data"}`, and its id.
pub fn event_body<D: Serialize>(
    conference: &str,
    event: EventType,
    data: &D,
    now: DateTime<Utc>,
) -> Result<(String, String), VoucherError> {
    let id = new_event_id();
    let body = Event { id: &id, event_type: event.as_str(), created_at: now, conference, data };
    let body = serde_json::to_string(&body).map_err(VoucherError::StoredAnswer)?;
    Ok((id, body))
}

/// What a redemption's event body holds in place of the voucher's count of uses; the statement
/// that consumes the use writes the count it left there. A value in the body cannot hold it: a
/// quote inside a JSON string is escaped, and this has two that are not.
pub const TIMES_USED: &str = "\"times_used\":__TIMES_USED__";

/// `body` (a `voucher.redeemed` event whose voucher has `times_used` uses) with [`TIMES_USED`]
/// in place of its count.
pub fn with_times_used_placeholder(body: &str, times_used: i64) -> String {
    body.replacen(&format!("\"times_used\":{times_used}"), TIMES_USED, 1)
}

/// Writes `event` with `data` for every enabled subscription of the conference that wants it,
/// inside `tx`: it is delivered if and only if the transaction commits.
pub(crate) async fn emit<D: Serialize>(
    tx: &mut dyn StoreTx,
    (conference_id, conference): (i64, &str),
    event: EventType,
    data: &D,
    now: DateTime<Utc>,
) -> Result<(), VoucherError> {
    let (id, body) = event_body(conference, event, data, now)?;
    let new = NewEvent { conference_id, event_id: &id, event_type: event, body: &body, now };
    tx.queue_event(&new).await?;
    Ok(())
}

/// The `data` of a voucher event: the voucher as the API shows it after the change, and the
/// order or cart it concerns (left out when the event has none).
#[derive(Debug, Serialize)]
pub(crate) struct VoucherData<'a> {
    pub voucher: &'a crate::domain::Voucher,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_ref: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cart_ref: Option<&'a str>,
}

/// The `data` of a batch event: the batch as the API shows it, and how many vouchers a
/// deactivation turned off.
#[derive(Debug, Serialize)]
pub(crate) struct BatchData<'a> {
    pub batch: &'a crate::domain::Batch,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deactivated: Option<u64>,
}

/// A subscription just created or whose secret was just rotated, with the secret to show once.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookWithSecret {
    /// The subscription.
    pub webhook: Webhook,
    /// The signing secret: shown this once.
    #[serde(serialize_with = "expose")]
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub secret: WebhookSecret,
}

fn expose<S: serde::Serializer>(secret: &WebhookSecret, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(secret.expose())
}

/// Checks `url` against the rules that need no DNS, then resolves its host and refuses it when
/// any address is internal (unless `policy.allow_private`) or when it does not resolve.
pub async fn check_target(url: &str, policy: TargetPolicy) -> Result<WebhookUrl, InvalidInput> {
    let url = WebhookUrl::parse(url, policy)?;
    if policy.allow_private {
        return Ok(url);
    }
    if let Some((host, port)) = url.domain() {
        let addresses = resolve(host, port).await.map_err(|e| InvalidInput::new("url", e))?;
        if let Err(e) = judge_addresses(host, &addresses) {
            return Err(InvalidInput::new("url", e));
        }
    }
    Ok(url)
}

async fn resolve(host: &str, port: u16) -> Result<Vec<SocketAddr>, String> {
    let found = tokio::time::timeout(Duration::from_secs(5), tokio::net::lookup_host((host, port)))
        .await
        .map_err(|_| format!("url's host {host} did not resolve within 5 seconds"))?
        .map_err(|e| format!("url's host {host} does not resolve ({e})"))?;
    Ok(found.collect())
}

/// Refuses a host whose addresses include an internal one, or that has none.
fn judge_addresses(host: &str, addresses: &[SocketAddr]) -> Result<(), String> {
    if addresses.is_empty() {
        return Err(format!("url's host {host} resolves to no address"));
    }
    // The address itself is not said: an organizer must not map the deployment's network.
    for address in addresses {
        if let Some(reason) = forbidden_address(address.ip()) {
            return Err(format!("url must not point at a {reason} address ({host} resolves to one)"));
        }
    }
    Ok(())
}

/// Subscribes `url` to `events` (every type when empty) of the conference; the secret is shown
/// once, in the answer.
#[tracing::instrument(level = "debug", skip_all, fields(conference = %conference))]
pub async fn create_webhook(
    store: &dyn Store,
    conference: &str,
    url: &str,
    events: &[String],
    policy: TargetPolicy,
) -> Result<WebhookWithSecret, VoucherError> {
    let events = EventSet::parse(events)?;
    let url = check_target(url, policy).await?;
    let conference = super::catalog::conference(store, conference).await?;
    let secret = new_secret()?;
    let now = super::now();
    let mut tx = store.begin().await?;
    if store.webhooks(conference.id, None).await?.len() >= MAX_WEBHOOKS {
        return Err(InvalidInput::new("url", format!("a conference may have at most {MAX_WEBHOOKS} webhooks")).into());
    }
    let new =
        NewWebhook { conference_id: conference.id, url: url.as_str(), secret: &secret, events: events.bits(), now };
    let id = tx.insert_webhook(&new).await?;
    let changes = serde_json::json!({"url": url.as_str(), "events": events.names()});
    super::audit(tx.as_mut(), Some(conference.id), "webhook.create", &format!("webhook {id}"), changes).await?;
    tx.commit().await?;
    let webhook = Webhook {
        id,
        url: url.as_str().to_owned(),
        events: events.names(),
        enabled: true,
        disabled_reason: None,
        created_at: now,
    };
    Ok(WebhookWithSecret { webhook, secret })
}

/// The conference's subscriptions, by id.
pub async fn list_webhooks(store: &dyn Store, conference: &str) -> Result<Vec<Webhook>, VoucherError> {
    let conference = super::catalog::conference(store, conference).await?;
    Ok(store.webhooks(conference.id, None).await?)
}

async fn one_webhook(store: &dyn Store, conference: &Conference, id: i64) -> Result<Webhook, VoucherError> {
    store.webhooks(conference.id, Some(id)).await?.into_iter().next().ok_or(VoucherError::WebhookNotFound(id))
}

/// The slug of the conference that has subscription `id` (the command line names a subscription
/// by id alone).
pub async fn conference_of_webhook(store: &dyn Store, id: i64) -> Result<String, VoucherError> {
    for conference in store.conferences().await? {
        if !store.webhooks(conference.id, Some(id)).await?.is_empty() {
            return Ok(conference.slug);
        }
    }
    Err(VoucherError::WebhookNotFound(id))
}

/// The slug of the conference that has delivery `id`.
pub async fn conference_of_delivery(store: &dyn Store, id: i64) -> Result<String, VoucherError> {
    let filter = DeliveryFilter { after_id: id.saturating_sub(1), limit: 1, ..Default::default() };
    for conference in store.conferences().await? {
        if store.deliveries(conference.id, &filter).await?.first().is_some_and(|d| d.id == id) {
            return Ok(conference.slug);
        }
    }
    Err(VoucherError::DeliveryNotFound(id))
}

/// Enables or disables a subscription. A disabled one gets no new events; its pending
/// deliveries wait until it is enabled again.
#[tracing::instrument(level = "debug", skip_all, fields(conference = %conference, id = id))]
pub async fn set_enabled(store: &dyn Store, conference: &str, id: i64, enabled: bool) -> Result<Webhook, VoucherError> {
    let conference = super::catalog::conference(store, conference).await?;
    let mut tx = store.begin().await?;
    if !tx.set_webhook_enabled(conference.id, id, enabled, None, super::now()).await? {
        return Err(VoucherError::WebhookNotFound(id));
    }
    let action = if enabled { "webhook.enable" } else { "webhook.disable" };
    super::audit(tx.as_mut(), Some(conference.id), action, &format!("webhook {id}"), serde_json::json!({})).await?;
    tx.commit().await?;
    one_webhook(store, &conference, id).await
}

/// Gives a subscription a new secret, shown once; the old one keeps signing (a second `v1=`) for
/// [`ROTATION_OVERLAP`], so receivers can switch without missing a delivery.
#[tracing::instrument(level = "debug", skip_all, fields(conference = %conference, id = id))]
pub async fn rotate_secret(store: &dyn Store, conference: &str, id: i64) -> Result<WebhookWithSecret, VoucherError> {
    let conference = super::catalog::conference(store, conference).await?;
    let secret = new_secret()?;
    let now = super::now();
    let mut tx = store.begin().await?;
    if !tx.rotate_webhook_secret(conference.id, id, &secret, now + ROTATION_OVERLAP, now).await? {
        return Err(VoucherError::WebhookNotFound(id));
    }
    let target = format!("webhook {id}");
    super::audit(tx.as_mut(), Some(conference.id), "webhook.rotate_secret", &target, serde_json::json!({})).await?;
    tx.commit().await?;
    Ok(WebhookWithSecret { webhook: one_webhook(store, &conference, id).await?, secret })
}

/// The conference's deliveries, by id.
pub async fn list_deliveries(
    store: &dyn Store,
    conference: &str,
    filter: &DeliveryFilter,
) -> Result<Vec<Delivery>, VoucherError> {
    let conference = super::catalog::conference(store, conference).await?;
    Ok(store.deliveries(conference.id, filter).await?)
}

/// Queues a delivery again, due now, with the same event id and body.
#[tracing::instrument(level = "debug", skip_all, fields(conference = %conference, id = id))]
pub async fn redeliver(store: &dyn Store, conference: &str, id: i64) -> Result<Delivery, VoucherError> {
    let conference = super::catalog::conference(store, conference).await?;
    let mut tx = store.begin().await?;
    if !tx.redeliver(conference.id, id, super::now()).await? {
        return Err(VoucherError::DeliveryNotFound(id));
    }
    let target = format!("delivery {id}");
    super::audit(tx.as_mut(), Some(conference.id), "webhook.redeliver", &target, serde_json::json!({})).await?;
    tx.commit().await?;
    let filter = DeliveryFilter { after_id: id.saturating_sub(1), limit: 1, ..Default::default() };
    let found = store.deliveries(conference.id, &filter).await?.into_iter().next();
    found.filter(|d| d.id == id).ok_or(VoucherError::DeliveryNotFound(id))
}

/// Whether the process is serving requests now. The sender gives way to checkout: while busy,
/// it sends only deliveries older than [`MAX_DEFER`].
pub trait Busy: Send + Sync {
    /// True while requests are being served.
    fn busy(&self) -> bool;
}

/// Never busy: a sender with nothing to give way to (`vouchers send-outbox`, the tests).
#[derive(Debug, Clone, Copy, Default)]
pub struct NeverBusy;

impl Busy for NeverBusy {
    fn busy(&self) -> bool {
        false
    }
}

/// How long a delivery may wait for checkout to go quiet before it is sent anyway.
pub const MAX_DEFER: chrono::Duration = chrono::Duration::seconds(30);

/// A receiver's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// Its status code.
    pub status: u16,
    /// The start of its body (at most [`RESPONSE_KEPT`] bytes).
    pub body: String,
}

/// POSTs one delivery.
#[async_trait]
pub trait WebhookClient: Send + Sync {
    /// Sends `body` to `url` with `headers`; `Err` when no answer came (refused target, no
    /// connection, timeout), in words.
    async fn post(&self, url: &WebhookUrl, headers: &[(&'static str, String)], body: &str) -> Result<Answer, String>;
}

/// How the sender works.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WebhookSettings {
    /// Where deliveries may go (checked again before every attempt).
    pub policy: TargetPolicy,
    /// When failed deliveries are tried again (`VOUCHERS_WEBHOOK_RETRY_SECONDS` sets its base).
    pub schedule: RetrySchedule,
    /// How long a lease holds a subscription before another sender may take it; every recorded
    /// attempt renews it.
    pub lease: Duration,
    /// Subscriptions leased at once.
    pub claim: i64,
    /// Deliveries sent to one subscription per lease, at most.
    pub per_lease: usize,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self {
            policy: TargetPolicy::default(),
            schedule: RetrySchedule::default(),
            lease: Duration::from_secs(120),
            claim: 10,
            per_lease: 500,
        }
    }
}

/// What one delivery round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct WebhookReport {
    /// Answered with a 2xx.
    pub delivered: u64,
    /// Not delivered, to be tried again.
    pub retried: u64,
    /// Not delivered for 3 days: failed, and their subscription disabled.
    pub failed: u64,
}

impl WebhookReport {
    fn add(&mut self, other: WebhookReport) {
        self.delivered += other.delivered;
        self.retried += other.retried;
        self.failed += other.failed;
    }

    /// Deliveries attempted.
    pub fn total(&self) -> u64 {
        self.delivered + self.retried + self.failed
    }
}

/// Leases the subscriptions with a delivery due at `now` and sends their due deliveries in
/// order, each after the one before it was delivered.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn deliver_due(
    store: &dyn Store,
    client: &dyn WebhookClient,
    settings: &WebhookSettings,
    now: DateTime<Utc>,
) -> Result<WebhookReport, VoucherError> {
    deliver_due_until(store, client, settings, now, &Stop::never(), &NeverBusy).await
}

/// [`deliver_due`] giving way to `busy`: while it is busy, deliveries younger than
/// [`MAX_DEFER`] at `now` wait.
pub async fn deliver_due_giving_way(
    store: &dyn Store,
    client: &dyn WebhookClient,
    settings: &WebhookSettings,
    now: DateTime<Utc>,
    busy: &dyn Busy,
) -> Result<WebhookReport, VoucherError> {
    deliver_due_until(store, client, settings, now, &Stop::never(), busy).await
}

/// [`deliver_due`], stopping before the next delivery once `stop` is asked (the one in flight
/// is finished and recorded), and leaving for later the deliveries younger than [`MAX_DEFER`]
/// while `busy` says requests are being served.
async fn deliver_due_until(
    store: &dyn Store,
    client: &dyn WebhookClient,
    settings: &WebhookSettings,
    now: DateTime<Utc>,
    stop: &Stop,
    busy: &dyn Busy,
) -> Result<WebhookReport, VoucherError> {
    let owner = random_text("sender_", 16);
    let lease = chrono::Duration::from_std(settings.lease).unwrap_or(chrono::Duration::minutes(2));
    let claimed = store.claim_webhooks(&owner, now, now + lease, settings.claim).await?;
    let mut report = WebhookReport::default();
    for webhook in &claimed {
        let sent = deliver_to(store, client, settings, &owner, webhook, now, stop, busy).await;
        // The lease ends either way; a delivery not recorded is sent again by the next round.
        store.release_webhook(webhook.id, &owner).await?;
        report.add(sent?);
    }
    Ok(report)
}

/// Deliveries sent before their results are recorded (in one transaction): a sender killed
/// before recording sends at most this many again.
pub const RECORD_EVERY: usize = 50;

/// What one attempt came to, before it is recorded.
#[derive(Debug)]
enum Outcome {
    Delivered { status: u16, body: String },
    NotDelivered { status: Option<u16>, error: String, body: Option<String>, at: Option<DateTime<Utc>> },
}

impl Outcome {
    fn result(&self) -> AttemptResult<'_> {
        match self {
            Outcome::Delivered { status, body } => {
                AttemptResult::Delivered { status_code: i64::from(*status), response: body }
            }
            Outcome::NotDelivered { status, error, body, at } => AttemptResult::NotDelivered {
                status_code: status.map(i64::from),
                error,
                response: body.as_deref(),
                at: *at,
            },
        }
    }

    fn counted(&self) -> WebhookReport {
        match self {
            Outcome::Delivered { .. } => WebhookReport { delivered: 1, ..Default::default() },
            Outcome::NotDelivered { at: Some(_), .. } => WebhookReport { retried: 1, ..Default::default() },
            Outcome::NotDelivered { at: None, .. } => WebhookReport { failed: 1, ..Default::default() },
        }
    }
}

/// Sends one leased subscription's due deliveries, in id order, stopping at the first one not
/// delivered (the ones after it wait their turn). Results are recorded every
/// [`RECORD_EVERY`] deliveries, or sooner when a quarter of the lease has passed.
#[allow(clippy::too_many_arguments)]
async fn deliver_to(
    store: &dyn Store,
    client: &dyn WebhookClient,
    settings: &WebhookSettings,
    owner: &str,
    webhook: &ClaimedWebhook,
    now: DateTime<Utc>,
    stop: &Stop,
    busy: &dyn Busy,
) -> Result<WebhookReport, VoucherError> {
    let mut report = WebhookReport::default();
    let lease = chrono::Duration::from_std(settings.lease).unwrap_or(chrono::Duration::minutes(2));
    // The round's clock: `now` when it began, moved on by the time it has taken (a signature's
    // `t`, a delivery's time and the next attempt are the moment they happen).
    let entered = std::time::Instant::now();
    let clock = || now + chrono::Duration::from_std(entered.elapsed()).unwrap_or_default();
    let mut sent = 0;
    while sent < settings.per_lease && !stop.asked() {
        let limit = RECORD_EVERY.min(settings.per_lease - sent);
        let page = store.pending_deliveries(webhook.id, owner, limit as i64).await?;
        let started = std::time::Instant::now();
        let mut outcomes: Vec<(&DueDelivery, Outcome)> = Vec::with_capacity(page.len());
        let mut blocked = false;
        for delivery in &page {
            let deferred = delivery.created_at > now - MAX_DEFER && busy.busy();
            if deferred || delivery.next_attempt_at > now || stop.asked() || started.elapsed() > settings.lease / 4 {
                blocked = true;
                break;
            }
            let sent_at = clock();
            let outcome = match attempt(client, settings.policy, webhook, delivery, sent_at).await {
                Ok(answer) if (200..300).contains(&answer.status) => {
                    Outcome::Delivered { status: answer.status, body: answer.body }
                }
                answer => {
                    let first = delivery.first_attempt_at.unwrap_or(sent_at);
                    let jitter = rand::rng().random();
                    let at = settings.schedule.next_attempt(first, delivery.attempts + 1, clock(), jitter);
                    match answer {
                        Ok(answer) => Outcome::NotDelivered {
                            status: Some(answer.status),
                            error: format!("the receiver answered {}", answer.status),
                            body: Some(answer.body),
                            at,
                        },
                        Err(error) => Outcome::NotDelivered { status: None, error, body: None, at },
                    }
                }
            };
            let delivered = matches!(outcome, Outcome::Delivered { .. });
            outcomes.push((delivery, outcome));
            if !delivered {
                blocked = true;
                break;
            }
        }
        sent += outcomes.len();
        let recorded_at = clock();
        if !outcomes.is_empty() && !record(store, owner, webhook, &outcomes, recorded_at, recorded_at + lease).await? {
            break;
        }
        for (_, outcome) in &outcomes {
            report.add(outcome.counted());
        }
        if blocked || page.len() < limit {
            break;
        }
    }
    Ok(report)
}

/// Records attempts in one transaction; a delivery that failed for good disables its
/// subscription, with an audit record, in the same transaction. False (nothing recorded) when
/// the lease was lost.
async fn record(
    store: &dyn Store,
    owner: &str,
    webhook: &ClaimedWebhook,
    outcomes: &[(&DueDelivery, Outcome)],
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
) -> Result<bool, VoucherError> {
    let mut tx = store.begin().await?;
    let mut results = Vec::with_capacity(outcomes.len());
    for (delivery, outcome) in outcomes {
        match outcome {
            // One line per delivered event would double the log of a busy checkout: debug.
            Outcome::Delivered { status, .. } => {
                tracing::debug!(webhook = webhook.id, delivery = delivery.id, status, "webhook delivered")
            }
            Outcome::NotDelivered { error, at, .. } => {
                tracing::warn!(webhook = webhook.id, delivery = delivery.id, %error, retry = at.is_some(), "webhook not delivered")
            }
        }
        results.push((delivery.id, outcome.result()));
    }
    if !tx.record_attempts(owner, webhook.id, &results, now, lease_until).await? {
        tracing::warn!(webhook = webhook.id, "the lease ended before the results were recorded");
        return Ok(false);
    }
    if let Some((delivery, Outcome::NotDelivered { at: None, error, .. })) = outcomes.last() {
        let reason = format!(
            "disabled on {}: deliveries failed for 3 days (event {}, last error: {error})",
            crate::domain::format_rfc3339(&now),
            delivery.event_id
        );
        tx.set_webhook_enabled(webhook.conference_id, webhook.id, false, Some(&reason), now).await?;
        let changes = serde_json::json!({"reason": reason});
        let target = format!("webhook {}", webhook.id);
        super::audit(tx.as_mut(), Some(webhook.conference_id), "webhook.disable", &target, changes).await?;
    }
    tx.commit().await?;
    Ok(true)
}

/// One attempt: the target is checked again (an IP address written in it; a name is checked by
/// the client's resolver), then the body is POSTed signed with every live secret.
async fn attempt(
    client: &dyn WebhookClient,
    policy: TargetPolicy,
    webhook: &ClaimedWebhook,
    delivery: &DueDelivery,
    now: DateTime<Utc>,
) -> Result<Answer, String> {
    let url = WebhookUrl::parse(&webhook.url, policy).map_err(|e| format!("refused target: {}", e.message))?;
    let secrets: Vec<&WebhookSecret> = webhook.secrets.iter().collect();
    let headers = [
        ("content-type", "application/json".to_owned()),
        ("vouchers-event-id", delivery.event_id.clone()),
        ("vouchers-event-type", delivery.event_type.clone()),
        ("vouchers-signature", signature_header(&secrets, now.timestamp(), &delivery.body)),
    ];
    client.post(&url, &headers, &delivery.body).await
}

/// Delivers until nothing is due at the time of each round (what `vouchers send-outbox` does):
/// deliveries waiting for a retry stay queued.
pub async fn drain(
    store: &dyn Store,
    client: &dyn WebhookClient,
    settings: &WebhookSettings,
) -> Result<WebhookReport, VoucherError> {
    let mut report = WebhookReport::default();
    loop {
        let round = deliver_due(store, client, settings, super::now()).await?;
        if round.total() == 0 {
            return Ok(report);
        }
        report.add(round);
    }
}

/// Delivers until `stop` is asked (inside `serve`), looking for due deliveries again at once
/// after a full round, otherwise after `idle`; a database outage is logged and waited out. While
/// `busy` (the server has requests in flight), deliveries younger than [`MAX_DEFER`] wait: a
/// burst of checkouts is not slowed by its own events, which follow it.
#[tracing::instrument(name = "webhook_sender", skip_all)]
pub async fn run_sender(
    store: &dyn Store,
    client: &dyn WebhookClient,
    settings: &WebhookSettings,
    idle: Duration,
    mut stop: Stop,
    busy: &dyn Busy,
) {
    while !stop.asked() {
        match deliver_due_until(store, client, settings, super::now(), &stop, busy).await {
            // A full round: more may be due at once. A round that found less waits for the next
            // look, so a busy checkout's events go out in rounds of many, not in a round (a
            // lease, a record, a release: three writes) per event.
            Ok(report) if report.total() as usize >= settings.per_lease => continue,
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "the webhook sender could not reach the database"),
        }
        stop.sleep(idle).await;
    }
    tracing::info!("webhook sender stopped");
}

/// Parses a `status` filter.
pub fn parse_status(status: Option<&str>) -> Result<Option<DeliveryStatus>, InvalidInput> {
    status.map(DeliveryStatus::parse).transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_host_is_refused_when_any_of_its_addresses_is_internal() {
        let public: SocketAddr = "93.184.216.34:443".parse().unwrap();
        let loopback: SocketAddr = "127.0.0.1:443".parse().unwrap();
        let mapped: SocketAddr = "[::ffff:169.254.169.254]:443".parse().unwrap();
        assert!(judge_addresses("a.example", &[public]).is_ok());
        let refused = judge_addresses("a.example", &[public, loopback]).unwrap_err();
        assert!(refused.contains("loopback") && !refused.contains("127.0.0.1"), "{refused}");
        assert!(judge_addresses("a.example", &[mapped]).unwrap_err().contains("link-local"));
        assert!(judge_addresses("a.example", &[]).unwrap_err().contains("no address"));
    }

    #[test]
    fn event_ids_and_secrets_are_random_and_shaped() {
        let (a, b) = (new_event_id(), new_event_id());
        assert_ne!(a, b);
        assert!(a.starts_with("evt_") && a.len() == 30);
        let secret = new_secret().unwrap();
        assert!(secret.expose().starts_with("whsec_") && secret.expose().len() == 49);
    }
}
