//! The outbox: what was queued, where each message stands, retrying a failed one, and the sender
//! that delivers due messages through a [`Mailer`].
//!
//! A sender claims a few due messages at a time (each claim is one statement: several senders,
//! in one process or in several `serve` instances, never hold one message at once), sends them at
//! the configured rate, and records each result under the claim's attempt number. A sender killed
//! mid-send leaves its claimed messages `sending`; when their lease ends another sender claims
//! them again, so a message whose send had reached the server just before the kill can be
//! delivered twice. It is the very same message (same text, same `Message-ID`): a recipient never
//! gets a second, different code.

use std::time::Duration;

use async_trait::async_trait;
use serde::Serialize;

use crate::domain::{EventType, MessageStatus, OutboxMessage};
use crate::store::{ClaimedMessage, DeliveryResult, OutboxFilter, Store};
use crate::VoucherError;

/// Lists the conference's outbox messages, by id.
#[tracing::instrument(level = "debug", skip_all, fields(conference = %conference, batch = batch_id))]
pub async fn list_outbox(
    store: &dyn Store,
    conference: &str,
    batch_id: Option<i64>,
    status: Option<MessageStatus>,
    after_id: i64,
    limit: i64,
) -> Result<Vec<OutboxMessage>, VoucherError> {
    let conference = super::catalog::conference(store, conference).await?;
    Ok(store.outbox(conference.id, &OutboxFilter { batch_id, status, after_id, limit }).await?)
}

/// Queues a failed message again, due now, with as many attempts again as it had.
///
/// # Errors
/// [`VoucherError::MessageNotFound`] when the conference has no failed message with this id.
#[tracing::instrument(level = "debug", skip_all, fields(conference = %conference, id = id))]
pub async fn retry_message(store: &dyn Store, conference: &str, id: i64) -> Result<(), VoucherError> {
    let conference = super::catalog::conference(store, conference).await?;
    let mut tx = store.begin().await?;
    if !tx.retry_message(conference.id, id, super::now()).await? {
        return Err(VoucherError::MessageNotFound(id));
    }
    super::audit(tx.as_mut(), Some(conference.id), "message.retry", &format!("message {id}"), serde_json::json!({}))
        .await?;
    tx.commit().await?;
    Ok(())
}

/// Why a mail server did not take a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MailError {
    /// Worth trying again later: a 4xx answer, a server that cannot be reached, a timeout.
    #[error("{0}")]
    Temporary(String),
    /// Never worth trying again: a 5xx answer (no such mailbox, refused).
    #[error("{0}")]
    Permanent(String),
}

/// Delivers one message to a mail server.
#[async_trait]
pub trait Mailer: Send + Sync {
    /// Sends `message`; `Ok` once the server accepted it.
    async fn send(&self, message: &ClaimedMessage) -> Result<(), MailError>;
}

/// How a sender works.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SenderSettings {
    /// Messages per second at most.
    pub rate_per_second: f64,
    /// How long a claim holds a message before another sender may take it.
    pub lease: Duration,
    /// The wait before the first retry after a temporary failure; it doubles with each
    /// attempt, up to an hour.
    pub retry_base: Duration,
    /// Messages claimed at once.
    pub claim: i64,
}

impl Default for SenderSettings {
    fn default() -> Self {
        Self { rate_per_second: 10.0, lease: Duration::from_secs(300), retry_base: Duration::from_secs(60), claim: 10 }
    }
}

/// What one delivery round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct DeliveryReport {
    /// Accepted by the server.
    pub sent: u64,
    /// Temporary failures, each tried again when due (a message can count several times).
    pub retried: u64,
    /// Permanent failures, or the last attempt failed.
    pub failed: u64,
}

impl DeliveryReport {
    fn add(&mut self, other: DeliveryReport) {
        self.sent += other.sent;
        self.retried += other.retried;
        self.failed += other.failed;
    }

    /// Messages handled.
    pub fn total(&self) -> u64 {
        self.sent + self.retried + self.failed
    }
}

/// Claims the due messages (at most `settings.claim`) and sends them, at most
/// `settings.rate_per_second`; returns what happened to them.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn deliver_due(
    store: &dyn Store,
    mailer: &dyn Mailer,
    settings: &SenderSettings,
) -> Result<DeliveryReport, VoucherError> {
    deliver_due_until(store, mailer, settings, &mut Stop::never()).await
}

/// [`deliver_due`], stopping before the next message once `stop` is asked: the message being
/// sent is finished and recorded; the claimed ones not yet tried go back to the queue as they
/// were.
async fn deliver_due_until(
    store: &dyn Store,
    mailer: &dyn Mailer,
    settings: &SenderSettings,
    stop: &mut Stop,
) -> Result<DeliveryReport, VoucherError> {
    let now = super::now();
    let lease = chrono::Duration::from_std(settings.lease).unwrap_or(chrono::Duration::minutes(5));
    let claimed = store.claim_outbox(now, now + lease, settings.claim).await?;
    let gap = Duration::from_secs_f64(1.0 / settings.rate_per_second.max(0.001));
    let mut report = DeliveryReport::default();
    for (index, message) in claimed.iter().enumerate() {
        // Every send waits its gap, the first of a round too: rounds follow one another at once
        // while emails are due, and the rate holds across them.
        if !stop.sleep(gap).await {
            // Those not tried go back to the queue at once, for the next sender.
            let unsent = &claimed[index..];
            tracing::info!(unsent = unsent.len(), "mail sender stopping");
            for message in unsent {
                store.finish_outbox(message.id, message.attempt, &DeliveryResult::Unsent, super::now()).await?;
            }
            break;
        }
        let outcome = mailer.send(message).await;
        let now = super::now();
        let (result, counted) = match &outcome {
            Ok(()) => (DeliveryResult::Sent, DeliveryReport { sent: 1, ..Default::default() }),
            Err(MailError::Permanent(error)) => {
                (DeliveryResult::Failed { error }, DeliveryReport { failed: 1, ..Default::default() })
            }
            Err(MailError::Temporary(error)) if message.attempt >= message.attempt_limit => {
                (DeliveryResult::Failed { error }, DeliveryReport { failed: 1, ..Default::default() })
            }
            Err(MailError::Temporary(error)) => {
                let wait = backoff(settings.retry_base, message.attempt);
                let at = now + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::hours(1));
                (DeliveryResult::Retry { error, at }, DeliveryReport { retried: 1, ..Default::default() })
            }
        };
        match &outcome {
            Ok(()) => tracing::info!(outbox_id = message.id, attempt = message.attempt, "mail sent"),
            Err(e) => tracing::warn!(outbox_id = message.id, attempt = message.attempt, error = %e, "mail not sent"),
        }
        if finish(store, message, &result, now).await? {
            report.add(counted);
        } else {
            tracing::warn!(outbox_id = message.id, "the claim ended before the result was recorded");
        }
    }
    Ok(report)
}

/// Records an attempt's result; a message that failed for good writes its `message.failed`
/// event in the same transaction.
async fn finish(
    store: &dyn Store,
    message: &ClaimedMessage,
    result: &DeliveryResult<'_>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<bool, VoucherError> {
    if !matches!(result, DeliveryResult::Failed { .. }) {
        return Ok(store.finish_outbox(message.id, message.attempt, result, now).await?);
    }
    let mut tx = store.begin().await?;
    if !tx.finish_outbox(message.id, message.attempt, result, now).await? {
        return Ok(false);
    }
    if let Some((conference_id, conference, failed)) = tx.outbox_message(message.id).await? {
        #[derive(Serialize)]
        struct Data<'a> {
            message: &'a OutboxMessage,
        }
        let data = Data { message: &failed };
        super::webhooks::emit(tx.as_mut(), (conference_id, &conference), EventType::MessageFailed, &data, now).await?;
    }
    tx.commit().await?;
    Ok(true)
}

/// The wait before attempt `attempt + 1`: `base`, doubled per attempt, at most an hour.
fn backoff(base: Duration, attempt: i64) -> Duration {
    let doublings = u32::try_from(attempt.saturating_sub(1).clamp(0, 20)).unwrap_or(20);
    base.saturating_mul(2u32.saturating_pow(doublings)).min(Duration::from_secs(3600))
}

/// Delivers until nothing is due (what `vouchers send-outbox` does): messages whose retry is
/// due later stay queued.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn drain(
    store: &dyn Store,
    mailer: &dyn Mailer,
    settings: &SenderSettings,
) -> Result<DeliveryReport, VoucherError> {
    let mut report = DeliveryReport::default();
    loop {
        let round = deliver_due(store, mailer, settings).await?;
        if round.total() == 0 {
            return Ok(report);
        }
        report.add(round);
    }
}

/// Asks a running sender to stop: [`run_sender`] finishes the email it is sending, records it,
/// and returns. A clone hears the same stop (the webhook sender's).
#[derive(Debug, Clone)]
pub struct Stop(tokio::sync::watch::Receiver<bool>);

/// The side that asks: [`StopSender::stop`].
#[derive(Debug)]
pub struct StopSender(tokio::sync::watch::Sender<bool>);

impl Stop {
    /// A stop and the handle that asks for it.
    pub fn pair() -> (StopSender, Stop) {
        let (tx, rx) = tokio::sync::watch::channel(false);
        (StopSender(tx), Stop(rx))
    }

    /// A stop nobody can ask for.
    pub(crate) fn never() -> Stop {
        Stop::pair().1
    }

    pub(crate) fn asked(&self) -> bool {
        *self.0.borrow()
    }

    /// Waits `wait`; false when the stop was asked before or during it.
    pub(crate) async fn sleep(&mut self, wait: Duration) -> bool {
        if self.asked() {
            return false;
        }
        let asked = tokio::select! {
            () = tokio::time::sleep(wait) => None,
            changed = self.0.wait_for(|stop| *stop) => Some(changed.is_ok()),
        };
        if asked == Some(false) {
            // The asking side is gone, which asks nothing: sleep out the wait.
            tokio::time::sleep(wait).await;
        }
        !self.asked()
    }
}

impl StopSender {
    /// Asks the sender to stop after the email in flight.
    pub fn stop(&self) {
        self.0.send_replace(true);
    }
}

/// Delivers until `stop` is asked (inside `serve`), looking for due messages every `idle` when
/// there were none; a database outage is logged and waited out. An email being sent when the
/// stop comes is finished and recorded before this returns.
#[tracing::instrument(name = "mail_sender", skip_all)]
pub async fn run_sender(
    store: &dyn Store,
    mailer: &dyn Mailer,
    settings: &SenderSettings,
    idle: Duration,
    mut stop: Stop,
) {
    while !stop.asked() {
        match deliver_due_until(store, mailer, settings, &mut stop).await {
            Ok(report) if report.total() > 0 => continue,
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "the mail sender could not reach the outbox"),
        }
        stop.sleep(idle).await;
    }
    tracing::info!("mail sender stopped");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_an_hour() {
        let base = Duration::from_secs(60);
        assert_eq!(backoff(base, 1), Duration::from_secs(60));
        assert_eq!(backoff(base, 2), Duration::from_secs(120));
        assert_eq!(backoff(base, 4), Duration::from_secs(480));
        assert_eq!(backoff(base, 40), Duration::from_secs(3600));
        assert_eq!(backoff(Duration::ZERO, 3), Duration::ZERO);
    }
}
