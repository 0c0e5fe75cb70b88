//! A store that writes as someone: every transaction it begins names that actor in its audit
//! records. The faces wrap the shared store per request (an API token, a console account, the
//! command line's user); the use cases do not change.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{
    AuditFilter, Backend, CheckoutKey, CheckoutView, ClaimedMessage, ClaimedWebhook, DeliveryFilter, DeliveryResult,
    DueDelivery, NewRedemption, OutboxFilter, RedeemOutcome, RedemptionFilter, RedemptionRecord, Store, StoreError,
    StoreTx, StoredAccount, StoredPasswordLink, StoredSession, StoredSponsorSession, UsageRow, VoucherFilter,
};
use crate::domain::Delivery;
use crate::domain::{
    Account, Actor, AddOn, Allotment, ApiToken, Attendee, AuditRecord, Batch, BatchFunnel, CodeFormat, Conference,
    Money, OutboxMessage, RedemptionEntry, TicketType, UseState, Voucher, Webhook,
};

/// `store`, writing as `actor`.
pub fn acting(store: Arc<dyn Store>, actor: Actor) -> Arc<dyn Store> {
    Arc::new(Acting { inner: store, actor })
}

struct Acting {
    inner: Arc<dyn Store>,
    actor: Actor,
}

#[async_trait]
impl Store for Acting {
    fn backend(&self) -> Backend {
        self.inner.backend()
    }

    async fn begin_as(&self, actor: &Actor) -> Result<Box<dyn StoreTx>, StoreError> {
        self.inner.begin_as(actor).await
    }

    async fn begin(&self) -> Result<Box<dyn StoreTx>, StoreError> {
        self.inner.begin_as(&self.actor).await
    }

    async fn redeem_as(&self, actor: &Actor, new: &NewRedemption<'_>) -> Result<RedeemOutcome, StoreError> {
        self.inner.redeem_as(actor, new).await
    }

    async fn redeem(&self, new: &NewRedemption<'_>) -> Result<RedeemOutcome, StoreError> {
        self.inner.redeem_as(&self.actor, new).await
    }

    async fn audit_log(&self, conference_id: i64, filter: &AuditFilter) -> Result<Vec<AuditRecord>, StoreError> {
        self.inner.audit_log(conference_id, filter).await
    }

    async fn conference(&self, slug: &str) -> Result<Option<Conference>, StoreError> {
        self.inner.conference(slug).await
    }

    async fn checkout_view(&self, key: &CheckoutKey<'_>) -> Result<CheckoutView, StoreError> {
        self.inner.checkout_view(key).await
    }

    async fn conferences(&self) -> Result<Vec<Conference>, StoreError> {
        self.inner.conferences().await
    }

    async fn ticket_types(&self, conference: &Conference) -> Result<Vec<TicketType>, StoreError> {
        self.inner.ticket_types(conference).await
    }

    async fn addons(&self, conference: &Conference) -> Result<Vec<AddOn>, StoreError> {
        self.inner.addons(conference).await
    }

    async fn vouchers(&self, conference: &Conference, filter: &VoucherFilter) -> Result<Vec<Voucher>, StoreError> {
        self.inner.vouchers(conference, filter).await
    }

    async fn live_holds(&self, voucher_id: i64, now: DateTime<Utc>) -> Result<UseState, StoreError> {
        self.inner.live_holds(voucher_id, now).await
    }

    async fn voucher_by_code(&self, conference: &Conference, code: &str) -> Result<Option<Voucher>, StoreError> {
        self.inner.voucher_by_code(conference, code).await
    }

    async fn batch(&self, conference: &Conference, id: i64) -> Result<Option<Batch>, StoreError> {
        self.inner.batch(conference, id).await
    }

    async fn batches(&self, conference: &Conference, after_id: i64, limit: i64) -> Result<Vec<Batch>, StoreError> {
        self.inner.batches(conference, after_id, limit).await
    }

    async fn usage(&self, conference: &Conference) -> Result<Vec<UsageRow>, StoreError> {
        self.inner.usage(conference).await
    }

    async fn check_formats(&self, conference_id: i64) -> Result<Vec<(String, CodeFormat)>, StoreError> {
        self.inner.check_formats(conference_id).await
    }

    async fn token_by_hash(&self, hash: &str) -> Result<Option<ApiToken>, StoreError> {
        self.inner.token_by_hash(hash).await
    }

    async fn tokens(&self) -> Result<Vec<ApiToken>, StoreError> {
        self.inner.tokens().await
    }

    async fn account_by_email(&self, email: &str) -> Result<Option<StoredAccount>, StoreError> {
        self.inner.account_by_email(email).await
    }

    async fn account(&self, id: i64) -> Result<Option<Account>, StoreError> {
        self.inner.account(id).await
    }

    async fn accounts(&self) -> Result<Vec<Account>, StoreError> {
        self.inner.accounts().await
    }

    async fn session_by_hash(&self, hash: &str) -> Result<Option<StoredSession>, StoreError> {
        self.inner.session_by_hash(hash).await
    }

    async fn password_link(&self, hash: &str) -> Result<Option<StoredPasswordLink>, StoreError> {
        self.inner.password_link(hash).await
    }

    async fn failed_lookups(
        &self,
        token_id: i64,
        address: &str,
        since: DateTime<Utc>,
    ) -> Result<(i64, Option<DateTime<Utc>>), StoreError> {
        self.inner.failed_lookups(token_id, address, since).await
    }

    async fn record_failed_lookup(
        &self,
        token_id: i64,
        address: &str,
        at: DateTime<Utc>,
        forget_before: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.inner.record_failed_lookup(token_id, address, at, forget_before).await
    }

    async fn prune_failed_lookups(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        self.inner.prune_failed_lookups(before).await
    }

    async fn failed_sign_ins(
        &self,
        keys: [&str; 2],
        since: DateTime<Utc>,
    ) -> Result<[(i64, Option<DateTime<Utc>>); 2], StoreError> {
        self.inner.failed_sign_ins(keys, since).await
    }

    async fn record_failed_sign_in(
        &self,
        keys: [&str; 2],
        at: DateTime<Utc>,
        forget_before: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.inner.record_failed_sign_in(keys, at, forget_before).await
    }

    async fn prune_failed_sign_ins(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        self.inner.prune_failed_sign_ins(before).await
    }

    async fn prune_holds(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        self.inner.prune_holds(before).await
    }

    async fn redemptions(&self, voucher_id: i64) -> Result<Vec<RedemptionRecord>, StoreError> {
        self.inner.redemptions(voucher_id).await
    }

    async fn outbox(&self, conference_id: i64, filter: &OutboxFilter) -> Result<Vec<OutboxMessage>, StoreError> {
        self.inner.outbox(conference_id, filter).await
    }

    async fn claim_outbox(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<ClaimedMessage>, StoreError> {
        self.inner.claim_outbox(now, lease_until, limit).await
    }

    async fn finish_outbox(
        &self,
        id: i64,
        attempt: i64,
        result: &DeliveryResult<'_>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.inner.finish_outbox(id, attempt, result, now).await
    }

    async fn webhooks(&self, conference_id: i64, id: Option<i64>) -> Result<Vec<Webhook>, StoreError> {
        self.inner.webhooks(conference_id, id).await
    }

    async fn deliveries(&self, conference_id: i64, filter: &DeliveryFilter) -> Result<Vec<Delivery>, StoreError> {
        self.inner.deliveries(conference_id, filter).await
    }

    async fn claim_webhooks(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<ClaimedWebhook>, StoreError> {
        self.inner.claim_webhooks(owner, now, lease_until, limit).await
    }

    async fn pending_deliveries(
        &self,
        webhook_id: i64,
        owner: &str,
        limit: i64,
    ) -> Result<Vec<DueDelivery>, StoreError> {
        self.inner.pending_deliveries(webhook_id, owner, limit).await
    }

    async fn release_webhook(&self, webhook_id: i64, owner: &str) -> Result<(), StoreError> {
        self.inner.release_webhook(webhook_id, owner).await
    }

    async fn allotments(&self, conference_id: i64, id: Option<i64>) -> Result<Vec<Allotment>, StoreError> {
        self.inner.allotments(conference_id, id).await
    }

    async fn allotment_by_id(&self, id: i64) -> Result<Option<(i64, Allotment)>, StoreError> {
        self.inner.allotment_by_id(id).await
    }

    async fn open_allotments(&self, until: DateTime<Utc>, limit: i64) -> Result<Vec<(i64, Allotment)>, StoreError> {
        self.inner.open_allotments(until, limit).await
    }

    async fn attendees(&self, batch_id: i64) -> Result<Vec<Attendee>, StoreError> {
        self.inner.attendees(batch_id).await
    }

    async fn allotment_by_link(&self, link_hash: &str) -> Result<Option<i64>, StoreError> {
        self.inner.allotment_by_link(link_hash).await
    }

    async fn sponsor_session(&self, token_hash: &str) -> Result<Option<StoredSponsorSession>, StoreError> {
        self.inner.sponsor_session(token_hash).await
    }

    async fn batch_funnel(&self, conference_id: i64) -> Result<Vec<BatchFunnel>, StoreError> {
        self.inner.batch_funnel(conference_id).await
    }

    async fn redemption_buckets(
        &self,
        conference_id: i64,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<(i64, i64, Money)>, StoreError> {
        self.inner.redemption_buckets(conference_id, from, to).await
    }

    async fn redemption_log(
        &self,
        conference_id: i64,
        filter: &RedemptionFilter,
    ) -> Result<Vec<RedemptionEntry>, StoreError> {
        self.inner.redemption_log(conference_id, filter).await
    }

    async fn backup_into(&self, path: &str) -> Result<(), StoreError> {
        self.inner.backup_into(path).await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.inner.ping().await
    }

    async fn close(&self) {
        self.inner.close().await;
    }
}
