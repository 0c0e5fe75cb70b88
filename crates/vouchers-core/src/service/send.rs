//! Queueing the messages of a batch: one message per assigned voucher that has none yet, rendered
//! from a template and written to the outbox in one transaction. A sender
//! ([`super::outbox::deliver_due`]) delivers them later; nothing here talks to a mail server.

use rand::rngs::OsRng;
use rand::TryRngCore;
use serde::Serialize;

use crate::domain::{Conference, MessageContext, MessageTemplate, Recipient, RenderedMessage};
use crate::store::{MessageVoucher, NewMessage, Store, StoreTx, VoucherFilter};
use crate::VoucherError;

/// Vouchers rendered and queued per statement: at most 200 x 256 KiB of rendered mail in memory.
const PAGE: i64 = 200;

/// Attempts a message gets before a temporary failure fails it.
pub const ATTEMPT_LIMIT: i64 = 8;

/// What [`queue_messages`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Queued {
    /// The batch.
    pub batch_id: i64,
    /// Messages written to the outbox now (assigned vouchers that had a message already are
    /// left alone).
    pub queued: u64,
}

/// Queues one message per assigned voucher of the batch that has none yet, in one transaction.
///
/// # Errors
/// [`VoucherError::ConferenceNotFound`], [`VoucherError::BatchNotFound`]; a template that cannot
/// be filled in for a recipient is [`VoucherError::Invalid`] and nothing is queued.
#[tracing::instrument(level = "debug", skip_all, fields(conference = %conference, batch = batch_id))]
pub async fn queue_messages(
    store: &dyn Store,
    conference: &str,
    batch_id: i64,
    template: &MessageTemplate,
) -> Result<Queued, VoucherError> {
    let conference = batch_of(store, conference, batch_id).await?;
    let mut tx = store.begin().await?;
    let queued = queue_batch_messages(tx.as_mut(), &conference, batch_id, template).await?;
    let changes = serde_json::json!({ "queued": queued });
    super::audit(tx.as_mut(), Some(conference.id), "batch.send", &format!("batch {batch_id}"), changes).await?;
    tx.commit().await?;
    Ok(Queued { batch_id, queued })
}

/// The conference, when it has this batch.
pub(crate) async fn batch_of(store: &dyn Store, conference: &str, batch_id: i64) -> Result<Conference, VoucherError> {
    let conference = super::catalog::conference(store, conference).await?;
    store
        .batch(&conference, batch_id)
        .await?
        .ok_or_else(|| VoucherError::BatchNotFound { conference: conference.slug.clone(), id: batch_id })?;
    Ok(conference)
}

/// Renders and queues, inside `tx`, the messages of every assigned voucher of the batch that has
/// none yet (as `tx` sees them: assignments made earlier in `tx` count); returns how many.
pub(crate) async fn queue_batch_messages(
    tx: &mut dyn StoreTx,
    conference: &Conference,
    batch_id: i64,
    template: &MessageTemplate,
) -> Result<u64, VoucherError> {
    let mut queued = 0;
    let mut after_id = 0;
    loop {
        let page = tx.vouchers_awaiting_message(batch_id, after_id, PAGE).await?;
        let Some(last) = page.last() else { break };
        after_id = last.id;
        let (page, rendered) = render_page(template, conference, page).await?;
        let mut messages = Vec::with_capacity(page.len());
        for (voucher, rendered) in page.iter().zip(&rendered) {
            messages.push(NewMessage {
                conference_id: conference.id,
                batch_id,
                voucher_id: Some(voucher.id),
                recipient: &voucher.recipient,
                rendered,
                message_key: message_key()?,
                attempt_limit: ATTEMPT_LIMIT,
            });
        }
        queued += tx.queue_messages(&messages, super::now()).await?;
    }
    Ok(queued)
}

/// Renders a page of messages on a blocking thread: however long a template takes to fill in,
/// the async workers go on serving other requests.
async fn render_page(
    template: &MessageTemplate,
    conference: &Conference,
    page: Vec<MessageVoucher>,
) -> Result<(Vec<MessageVoucher>, Vec<RenderedMessage>), VoucherError> {
    let (template, conference) = (template.clone(), conference.clone());
    let (page, rendered) = tokio::task::spawn_blocking(move || {
        let rendered: Result<Vec<RenderedMessage>, VoucherError> =
            page.iter().map(|v| render(&template, &conference, v)).collect();
        (page, rendered)
    })
    .await
    .map_err(|e| VoucherError::Task(Box::new(e)))?;
    Ok((page, rendered?))
}

fn render(
    template: &MessageTemplate,
    conference: &Conference,
    voucher: &MessageVoucher,
) -> Result<RenderedMessage, VoucherError> {
    let context = MessageContext::new(
        &voucher.code,
        &voucher.recipient,
        &conference.name,
        conference.timezone,
        voucher.voucher_type,
        voucher.discount_value,
        voucher.valid_until,
    );
    Ok(template.render(&context)?)
}

/// 128 random bits from the operating system, as hex: the unique part of a `Message-ID`.
pub(crate) fn message_key() -> Result<String, VoucherError> {
    let mut bytes = [0u8; 16];
    OsRng.try_fill_bytes(&mut bytes).map_err(|e| VoucherError::Random(Box::new(e)))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// A message as the first recipient of the batch still waiting for one would get it (`None`
/// when every assigned voucher has a message): what the console shows before queueing.
#[tracing::instrument(level = "debug", skip_all, fields(conference = %conference, batch = batch_id))]
pub async fn preview_first_message(
    store: &dyn Store,
    conference: &str,
    batch_id: i64,
    template: &MessageTemplate,
) -> Result<Option<(Recipient, RenderedMessage)>, VoucherError> {
    let conference = batch_of(store, conference, batch_id).await?;
    let filter =
        VoucherFilter { batch_id: Some(batch_id), awaiting_message: true, limit: Some(1), ..Default::default() };
    let Some(voucher) = store.vouchers(&conference, &filter).await?.into_iter().next() else { return Ok(None) };
    let Some(recipient) = voucher.recipient else { return Ok(None) };
    let waiting = MessageVoucher {
        id: voucher.id,
        batch_id,
        code: voucher.code,
        voucher_type: voucher.voucher_type,
        discount_value: voucher.discount_value,
        valid_until: voucher.valid_until,
        recipient,
    };
    let (mut page, mut rendered) = render_page(template, &conference, vec![waiting]).await?;
    match (page.pop(), rendered.pop()) {
        (Some(waiting), Some(rendered)) => Ok(Some((waiting.recipient, rendered))),
        _ => Ok(None),
    }
}
