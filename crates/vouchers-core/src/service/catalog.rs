//! Conferences, ticket types and add-ons: create, list and change (a slug and a conference's
//! time zone never change).

use crate::domain::{
    AddOn, AddOnChange, Conference, ConferenceChange, NewAddOn, NewConference, NewTicketType, TicketType,
    TicketTypeChange,
};
use crate::store::{Store, StoreError};
use crate::VoucherError;
use serde_json::{json, Value};

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

/// What a change did: the record as it stands after it, and the fields that changed (empty:
/// the values given were the stored ones, and nothing was written nor audited).
#[derive(Debug, Clone, PartialEq)]
pub struct Updated<T> {
    /// The record after the change.
    pub value: T,
    /// The fields whose value changed, as the audit record names them.
    pub changed: Vec<&'static str>,
}

impl<T> Updated<T> {
    /// True when something was written.
    pub fn is_changed(&self) -> bool {
        !self.changed.is_empty()
    }
}

/// The fields whose value differs among `(field, old, new)`, and the audit record's changes:
/// `{"field": {"old": ..., "new": ...}}` for each of them.
fn diff(fields: Vec<(&'static str, Value, Value)>) -> (Vec<&'static str>, Value) {
    let mut changed = Vec::new();
    let mut record = serde_json::Map::new();
    for (field, old, new) in fields {
        if old != new {
            changed.push(field);
            record.insert(field.to_owned(), json!({"old": old, "new": new}));
        }
    }
    (changed, Value::Object(record))
}

/// Changes a conference's settings (name, first and last day, hold time; never its slug nor its
/// time zone) in one transaction, audited `conference.update` with each changed field's old and
/// new value. A change that changes nothing writes nothing and leaves no record.
///
/// # Errors
/// [`VoucherError::ConferenceNotFound`]; [`VoucherError::Invalid`] naming `start_date` or
/// `end_date` when the last day would come before the first.
#[tracing::instrument(level = "debug", skip_all, fields(conference = %slug))]
pub async fn update_conference(
    store: &dyn Store,
    slug: &str,
    change: &ConferenceChange,
) -> Result<Updated<Conference>, VoucherError> {
    let mut tx = store.begin().await?;
    let old = tx.lock_conference(slug).await?.ok_or_else(|| VoucherError::ConferenceNotFound(slug.to_owned()))?;
    let new = change.apply(&old)?;
    let (changed, record) = diff(vec![
        ("name", json!(old.name), json!(new.name)),
        ("start_date", json!(old.start_date), json!(new.start_date)),
        ("end_date", json!(old.end_date), json!(new.end_date)),
        ("hold_seconds", json!(old.hold_seconds), json!(new.hold_seconds)),
    ]);
    if !changed.is_empty() {
        tx.update_conference(&new).await?;
        super::audit(tx.as_mut(), Some(new.id), "conference.update", &new.slug, record).await?;
        tx.commit().await?;
    }
    Ok(Updated { value: new, changed })
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

/// Changes a ticket type of the conference (name, price, hidden, on sale; never its slug) in one
/// transaction, audited `ticket_type.update` with each changed field's old and new value. A
/// change that changes nothing writes nothing and leaves no record.
///
/// # Errors
/// [`VoucherError::ConferenceNotFound`]; [`VoucherError::CatalogItemNotFound`] when the
/// conference has no ticket type with this slug.
#[tracing::instrument(level = "debug", skip_all, fields(conference = %conference_slug, ticket_type = %slug))]
pub async fn update_ticket_type(
    store: &dyn Store,
    conference_slug: &str,
    slug: &str,
    change: &TicketTypeChange,
) -> Result<Updated<TicketType>, VoucherError> {
    let mut tx = store.begin().await?;
    let conference = tx
        .conference(conference_slug)
        .await?
        .ok_or_else(|| VoucherError::ConferenceNotFound(conference_slug.to_owned()))?;
    let old = tx.lock_ticket_type(&conference, slug).await?.ok_or_else(|| VoucherError::CatalogItemNotFound {
        what: "ticket type",
        conference: conference.slug.clone(),
        slug: slug.to_owned(),
    })?;
    let new = change.apply(&old);
    let (changed, record) = diff(vec![
        ("name", json!(old.name), json!(new.name)),
        ("price", json!(old.price), json!(new.price)),
        ("requires_voucher", json!(old.requires_voucher), json!(new.requires_voucher)),
        ("is_active", json!(old.is_active), json!(new.is_active)),
    ]);
    if !changed.is_empty() {
        tx.update_ticket_type(&new).await?;
        super::audit(tx.as_mut(), Some(conference.id), "ticket_type.update", &new.slug, record).await?;
        tx.commit().await?;
    }
    Ok(Updated { value: new, changed })
}

/// Changes an add-on of the conference (name, price, on sale; never its slug) in one
/// transaction, audited `addon.update` with each changed field's old and new value. A change
/// that changes nothing writes nothing and leaves no record.
///
/// # Errors
/// [`VoucherError::ConferenceNotFound`]; [`VoucherError::CatalogItemNotFound`] when the
/// conference has no add-on with this slug.
#[tracing::instrument(level = "debug", skip_all, fields(conference = %conference_slug, addon = %slug))]
pub async fn update_addon(
    store: &dyn Store,
    conference_slug: &str,
    slug: &str,
    change: &AddOnChange,
) -> Result<Updated<AddOn>, VoucherError> {
    let mut tx = store.begin().await?;
    let conference = tx
        .conference(conference_slug)
        .await?
        .ok_or_else(|| VoucherError::ConferenceNotFound(conference_slug.to_owned()))?;
    let old = tx.lock_addon(&conference, slug).await?.ok_or_else(|| VoucherError::CatalogItemNotFound {
        what: "add-on",
        conference: conference.slug.clone(),
        slug: slug.to_owned(),
    })?;
    let new = change.apply(&old);
    let (changed, record) = diff(vec![
        ("name", json!(old.name), json!(new.name)),
        ("price", json!(old.price), json!(new.price)),
        ("is_active", json!(old.is_active), json!(new.is_active)),
    ]);
    if !changed.is_empty() {
        tx.update_addon(&new).await?;
        super::audit(tx.as_mut(), Some(conference.id), "addon.update", &new.slug, record).await?;
        tx.commit().await?;
    }
    Ok(Updated { value: new, changed })
}
