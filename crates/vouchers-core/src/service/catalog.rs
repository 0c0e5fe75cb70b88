//! Conferences, ticket types and add-ons: create and list.

use crate::domain::{AddOn, Conference, NewAddOn, NewConference, NewTicketType, TicketType};
use crate::store::{Store, StoreError};
use crate::VoucherError;
use serde_json::json;

/// Maps a unique violation on insert to a [`VoucherError::Duplicate`] naming the slug.
fn duplicate_slug<'a>(
    what: &'static str,
    slug: &'a str,
    scope: String,
) -> impl FnOnce(StoreError) -> VoucherError + 'a {
    move |error| match error {
        StoreError::UniqueViolation { .. } => {
            VoucherError::Duplicate { what, field: "slug", value: slug.to_owned(), scope }
        }
        other => other.into(),
    }
}

/// Creates a conference; a taken slug is a [`VoucherError::Duplicate`].
#[tracing::instrument(level = "debug", skip_all, fields(conference = %new.slug))]
pub async fn create_conference(store: &dyn Store, new: &NewConference) -> Result<Conference, VoucherError> {
    let mut tx = store.begin().await?;
    let conference = tx.insert_conference(new, super::now()).await.map_err(duplicate_slug(
        "conference",
        new.slug.as_str(),
        String::new(),
    ))?;
    let changes = json!({"name": conference.name, "start_date": conference.start_date,
        "end_date": conference.end_date, "timezone": conference.timezone.name(), "hold_seconds": conference.hold_seconds});
    super::audit(tx.as_mut(), Some(conference.id), "conference.create", &conference.slug, changes).await?;
    tx.commit().await?;
    Ok(conference)
}

/// Sets the conference's hold time (how long a hold lasts when it names none), in one audited
/// transaction, and answers the conference.
#[tracing::instrument(level = "debug", skip_all, fields(conference = %slug))]
pub async fn set_hold_seconds(
    store: &dyn Store,
    slug: &str,
    seconds: crate::domain::HoldSeconds,
) -> Result<Conference, VoucherError> {
    let mut tx = store.begin().await?;
    let mut conference = tx.conference(slug).await?.ok_or_else(|| VoucherError::ConferenceNotFound(slug.to_owned()))?;
    tx.set_hold_seconds(conference.id, seconds.get()).await?;
    let changes = json!({"hold_seconds": {"old": conference.hold_seconds, "new": seconds.get()}});
    super::audit(tx.as_mut(), Some(conference.id), "conference.update", &conference.slug, changes).await?;
    tx.commit().await?;
    conference.hold_seconds = seconds.get();
    Ok(conference)
}

/// The conference with this slug, or [`VoucherError::ConferenceNotFound`].
#[tracing::instrument(level = "debug", skip_all, fields(conference = %slug))]
pub async fn conference(store: &dyn Store, slug: &str) -> Result<Conference, VoucherError> {
    store.conference(slug).await?.ok_or_else(|| VoucherError::ConferenceNotFound(slug.to_owned()))
}

/// All conferences, by slug.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn list_conferences(store: &dyn Store) -> Result<Vec<Conference>, VoucherError> {
    Ok(store.conferences().await?)
}

/// Creates a ticket type in the conference.
#[tracing::instrument(level = "debug", skip_all, fields(conference = %conference_slug))]
pub async fn create_ticket_type(
    store: &dyn Store,
    conference_slug: &str,
    new: &NewTicketType,
) -> Result<TicketType, VoucherError> {
    let mut tx = store.begin().await?;
    let conference = tx
        .conference(conference_slug)
        .await?
        .ok_or_else(|| VoucherError::ConferenceNotFound(conference_slug.to_owned()))?;
    let scope = format!(" in conference {:?}", conference.slug);
    let created = tx.insert_ticket_type(&conference, new).await.map_err(duplicate_slug(
        "ticket type",
        new.slug.as_str(),
        scope,
    ))?;
    let changes = json!({"name": created.name, "price": created.price, "requires_voucher": created.requires_voucher});
    super::audit(tx.as_mut(), Some(conference.id), "ticket_type.create", &created.slug, changes).await?;
    tx.commit().await?;
    Ok(created)
}

/// The conference's ticket types, by slug.
#[tracing::instrument(level = "debug", skip_all, fields(conference = %conference_slug))]
pub async fn list_ticket_types(store: &dyn Store, conference_slug: &str) -> Result<Vec<TicketType>, VoucherError> {
    let conference = conference(store, conference_slug).await?;
    Ok(store.ticket_types(&conference).await?)
}

/// Creates an add-on in the conference.
#[tracing::instrument(level = "debug", skip_all, fields(conference = %conference_slug))]
pub async fn create_addon(store: &dyn Store, conference_slug: &str, new: &NewAddOn) -> Result<AddOn, VoucherError> {
    let mut tx = store.begin().await?;
    let conference = tx
        .conference(conference_slug)
        .await?
        .ok_or_else(|| VoucherError::ConferenceNotFound(conference_slug.to_owned()))?;
    let scope = format!(" in conference {:?}", conference.slug);
    let created =
        tx.insert_addon(&conference, new).await.map_err(duplicate_slug("add-on", new.slug.as_str(), scope))?;
    let changes = json!({"name": created.name, "price": created.price});
    super::audit(tx.as_mut(), Some(conference.id), "addon.create", &created.slug, changes).await?;
    tx.commit().await?;
    Ok(created)
}

/// The conference's add-ons, by slug.
#[tracing::instrument(level = "debug", skip_all, fields(conference = %conference_slug))]
pub async fn list_addons(store: &dyn Store, conference_slug: &str) -> Result<Vec<AddOn>, VoucherError> {
    let conference = conference(store, conference_slug).await?;
    Ok(store.addons(&conference).await?)
}
