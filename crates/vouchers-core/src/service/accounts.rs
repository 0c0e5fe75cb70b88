//! Organizer accounts and their console sessions: create, list, disable, change a password,
//! grant and revoke a conference; one-time set-password links; sign in, find the session behind
//! a cookie, sign out.
//!
//! An account may be made without a password, with a one-time set-password link instead (the
//! admin sends the link; nobody types the new account's password but its owner). Such an account
//! cannot sign in until the link is used. A link's secret is 32 bytes from the operating
//! system's CSPRNG and only its SHA-256 is stored; a link lives [`PASSWORD_LINK_HOURS`] hours,
//! an account has at most one (a new one replaces the old, for a forgotten password), and it
//! works once: setting the password deletes it in the statement that finds it.
//!
//! Passwords are hashed with Argon2id (the `argon2` crate's defaults: 19 MiB, 2 passes), on a
//! blocking thread so a sign-in never stalls the server's other requests. A session's secret is
//! 32 bytes from the operating system's CSPRNG; only its SHA-256 is stored, so a copy of the
//! database opens no session. A session ends when its account signs out, is disabled or gets a
//! new password, after [`SessionPolicy::idle`] without use, and [`SessionPolicy::absolute`]
//! after sign-in whatever happens.

use std::time::Duration;

use argon2::password_hash::rand_core::OsRng as HashRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use rand::rngs::OsRng;
use rand::TryRngCore;

use super::sign_in::{guarded_lookup, Guarded, SignInGuard};
use super::tokens::token_hash;
use crate::domain::{
    quoted, Account, Actor, Email, InvalidInput, Password, PasswordLinkSecret, Role, Session, SessionSecret,
};
use crate::store::Store;
use crate::VoucherError;
use serde_json::json;

/// How long a set-password link works after it is made: 72 hours, time for the email to be read
/// over a weekend; past it the link opens nothing and an admin makes a new one.
pub const PASSWORD_LINK_HOURS: i64 = 72;

/// The password hash of an account waiting for its first password: empty, which no password
/// matches (it is no Argon2 hash).
const NO_PASSWORD: &str = "";

/// How long a session lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionPolicy {
    /// Unused for this long, a session ends.
    pub idle: Duration,
    /// This long after sign-in, a session ends whatever its use.
    pub absolute: Duration,
}

impl Default for SessionPolicy {
    /// 12 hours idle (a working day), 7 days absolute.
    fn default() -> Self {
        Self { idle: Duration::from_secs(12 * 3600), absolute: Duration::from_secs(7 * 24 * 3600) }
    }
}

/// A session is marked used at most this often (a write per page view would be wasted).
const TOUCH_EVERY: chrono::Duration = chrono::Duration::seconds(60);

/// A hash of some password nobody has, verified when the email is unknown so that signing in
/// takes as long whether the account exists or not.
const DECOY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$H0sUUU2VjCIAE0ZBzbPDXRyz3x0kvXF0Ll7nKrV/bh0";

async fn hash_password(password: &Password) -> Result<String, VoucherError> {
    let password = password.clone();
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut HashRng);
        Argon2::default().hash_password(password.expose().as_bytes(), &salt).map(|h| h.to_string())
    })
    .await
    .map_err(|e| VoucherError::Task(Box::new(e)))?
    .map_err(|e| VoucherError::Random(e.to_string().into()))
}

async fn verify_password(password: &Password, hash: &str) -> bool {
    let (password, hash) = (password.clone(), hash.to_owned());
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash)
            .is_ok_and(|parsed| Argon2::default().verify_password(password.expose().as_bytes(), &parsed).is_ok())
    })
    .await
    .unwrap_or(false)
}

/// 32 random bytes from the operating system, URL-safe base64.
pub(crate) fn random_secret() -> Result<String, VoucherError> {
    let mut bytes = [0u8; 32];
    OsRng.try_fill_bytes(&mut bytes).map_err(|e| VoucherError::Random(Box::new(e)))?;
    let secret = URL_SAFE_NO_PAD.encode(bytes);
    bytes.fill(0);
    Ok(secret)
}

/// A set-password link just made, with its secret (shown once).
#[derive(Debug, Clone)]
pub struct NewPasswordLink {
    /// The account whose password it sets, as it is now.
    pub account: Account,
    /// The link's secret: the link is [`PasswordLinkSecret::link`].
    pub secret: PasswordLinkSecret,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
}

/// A set-password link that works: whose password it sets, and until when.
#[derive(Debug, Clone, PartialEq)]
pub struct PasswordLink {
    /// The account (enabled).
    pub account: Account,
    /// When the link stops working.
    pub expires_at: DateTime<Utc>,
}

/// A new link secret and the hash stored for it.
fn new_link_secret() -> Result<(PasswordLinkSecret, String), VoucherError> {
    let secret = PasswordLinkSecret::new(random_secret()?);
    let hash = token_hash(secret.expose());
    Ok((secret, hash))
}

/// Creates an account. An `admin` account sees every conference and takes none; a `manage`
/// account may be granted conferences now or later.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn create_account(
    store: &dyn Store,
    email: &Email,
    role: Role,
    password: &Password,
    conferences: &[String],
) -> Result<Account, VoucherError> {
    check_grants(role, conferences)?;
    let hash = hash_password(password).await?;
    insert_account(store, email, role, &hash, conferences, None).await
}

/// Creates an account without a password and returns a one-time link that sets it (valid
/// [`PASSWORD_LINK_HOURS`] hours). The account cannot sign in until the link is used. The same
/// rules as [`create_account`] otherwise.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn create_account_with_link(
    store: &dyn Store,
    email: &Email,
    role: Role,
    conferences: &[String],
) -> Result<NewPasswordLink, VoucherError> {
    check_grants(role, conferences)?;
    let (secret, hash) = new_link_secret()?;
    let expires_at = super::now() + chrono::Duration::hours(PASSWORD_LINK_HOURS);
    let account = insert_account(store, email, role, NO_PASSWORD, conferences, Some((&hash, expires_at))).await?;
    Ok(NewPasswordLink { account, secret, expires_at })
}

fn check_grants(role: Role, conferences: &[String]) -> Result<(), VoucherError> {
    if role == Role::Admin && !conferences.is_empty() {
        return Err(
            InvalidInput::new("conference", "an admin account sees every conference; give no conference").into()
        );
    }
    Ok(())
}

/// The account row, its grants, its link (hash and expiry) if any, audited, in one transaction.
async fn insert_account(
    store: &dyn Store,
    email: &Email,
    role: Role,
    hash: &str,
    conferences: &[String],
    link: Option<(&str, DateTime<Utc>)>,
) -> Result<Account, VoucherError> {
    let mut tx = store.begin().await?;
    let now = super::now();
    let id = tx.insert_account(email.as_str(), hash, role, now).await.map_err(|e| match e {
        crate::store::StoreError::UniqueViolation { .. } => VoucherError::Duplicate {
            what: "account",
            field: "email",
            value: email.as_str().to_owned(),
            scope: String::new(),
        },
        other => other.into(),
    })?;
    let mut granted = Vec::with_capacity(conferences.len());
    for slug in conferences {
        let conference = tx.conference(slug).await?.ok_or_else(|| no_such_conference(slug))?;
        tx.grant_conference(id, conference.id).await?;
        super::audit(tx.as_mut(), Some(conference.id), "account.grant", email.as_str(), json!({"role": role.as_str()}))
            .await?;
        granted.push(conference.slug);
    }
    let mut changes = json!({"role": role.as_str()});
    if let Some((link_hash, expires_at)) = link {
        tx.replace_password_link(id, link_hash, now, expires_at).await?;
        changes["password"] = json!("link");
    }
    super::audit(tx.as_mut(), None, "account.create", email.as_str(), changes).await?;
    tx.commit().await?;
    granted.sort();
    granted.dedup();
    Ok(Account {
        id,
        email: email.as_str().to_owned(),
        role,
        conferences: granted,
        created_at: now,
        disabled_at: None,
        has_password: hash != NO_PASSWORD,
    })
}

/// Makes a new one-time set-password link for an enabled account (valid
/// [`PASSWORD_LINK_HOURS`] hours), replacing the links it had: for an account whose password
/// was forgotten, or whose first link expired. Its password, if any, keeps working until the
/// link is used.
///
/// # Errors
/// [`VoucherError::AccountNotFound`]; [`VoucherError::Invalid`] naming `email` for a disabled
/// account.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn new_password_link(store: &dyn Store, email: &Email) -> Result<NewPasswordLink, VoucherError> {
    let (secret, hash) = new_link_secret()?;
    let mut tx = store.begin().await?;
    let account = locked(tx.as_mut(), email).await?;
    if account.disabled_at.is_some() {
        let message = format!("account {} is disabled: it gets no set-password link", quoted(email.as_str()));
        return Err(InvalidInput::new("email", message).into());
    }
    let now = super::now();
    let expires_at = now + chrono::Duration::hours(PASSWORD_LINK_HOURS);
    tx.replace_password_link(account.id, &hash, now, expires_at).await?;
    let changes = json!({"expires_at": crate::domain::format_rfc3339(&expires_at)});
    super::audit(tx.as_mut(), None, "account.password_link", email.as_str(), changes).await?;
    tx.commit().await?;
    Ok(NewPasswordLink { account, secret, expires_at })
}

/// The link behind a presented secret, when it works at `now`: `None` for an unknown secret, a
/// used or replaced link, one past its expiry, and one of a disabled account.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn password_link(
    store: &dyn Store,
    secret: &PasswordLinkSecret,
    now: DateTime<Utc>,
) -> Result<Option<PasswordLink>, VoucherError> {
    let Some(stored) = store.password_link(&token_hash(secret.expose())).await? else { return Ok(None) };
    if now >= stored.expires_at {
        return Ok(None);
    }
    let account = store.account(stored.account_id).await?.filter(|a| a.disabled_at.is_none());
    Ok(account.map(|account| PasswordLink { account, expires_at: stored.expires_at }))
}

/// [`password_link`] under the sign-in limit of `address` (a page that a secret opens): refused
/// unread while the address has used up its failures; a secret that opens nothing counts one
/// failure, as a wrong password does.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn open_password_link(
    store: &dyn Store,
    guard: &SignInGuard,
    secret: &PasswordLinkSecret,
    address: std::net::IpAddr,
    now: DateTime<Utc>,
) -> Result<Guarded<PasswordLink>, VoucherError> {
    guarded_lookup(store, guard, address, now, password_link(store, secret, now)).await
}

/// Sets an account's password through its link, once: in one transaction, the link is taken
/// (deleted in the statement that finds it, so of two uses at once exactly one gets it), every
/// other link of the account deleted, the password set and the account's sessions ended; the
/// audit record (`account.set_password`, `{"by": "link"}`) names the account as its actor.
/// `None`, and nothing written, when the link does not work at `now` ([`password_link`]).
#[tracing::instrument(level = "debug", skip_all)]
pub async fn set_password_by_link(
    store: &dyn Store,
    secret: &PasswordLinkSecret,
    password: &Password,
    now: DateTime<Utc>,
) -> Result<Option<Account>, VoucherError> {
    // A link that opens nothing costs no hashing.
    let Some(link) = password_link(store, secret, now).await? else { return Ok(None) };
    let hash = hash_password(password).await?;
    let actor = Actor::Account { id: link.account.id, email: link.account.email.clone() };
    let mut tx = store.begin_as(&actor).await?;
    match tx.take_password_link(&token_hash(secret.expose()), now).await? {
        Some(id) if id == link.account.id => {}
        // Used (or replaced) since it was read: the other use won.
        _ => return Ok(None),
    }
    let Some(account) = tx.lock_account_by_id(link.account.id).await?.filter(|a| a.disabled_at.is_none()) else {
        return Ok(None);
    };
    tx.delete_password_links(account.id).await?;
    tx.set_password_hash(account.id, &hash).await?;
    let ended = tx.delete_account_sessions(account.id).await?;
    let changes = json!({"by": "link", "sessions_ended": ended});
    super::audit(tx.as_mut(), None, "account.set_password", &account.email, changes).await?;
    tx.commit().await?;
    Ok(Some(Account { has_password: true, ..account }))
}

/// The account with this id, if any.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn account(store: &dyn Store, id: i64) -> Result<Option<Account>, VoucherError> {
    Ok(store.account(id).await?)
}

/// Every account, by email.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn list_accounts(store: &dyn Store) -> Result<Vec<Account>, VoucherError> {
    Ok(store.accounts().await?)
}

/// Disables an account, ends its sessions and deletes its set-password link at once. Returns
/// the account as it is now.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn disable_account(store: &dyn Store, email: &Email) -> Result<Account, VoucherError> {
    disable(store, None, email).await
}

/// [`disable_account`] on behalf of the signed-in account `by`, which may not disable itself
/// (an admin would lock itself out of the console): [`VoucherError::Invalid`] naming `email`.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn disable_account_by(store: &dyn Store, by: &Account, email: &Email) -> Result<Account, VoucherError> {
    disable(store, Some(by), email).await
}

async fn disable(store: &dyn Store, by: Option<&Account>, email: &Email) -> Result<Account, VoucherError> {
    let mut tx = store.begin().await?;
    let account = locked(tx.as_mut(), email).await?;
    if by.is_some_and(|by| by.id == account.id) {
        return Err(InvalidInput::new("email", "you cannot disable the account you are signed in with").into());
    }
    tx.disable_account(account.id, super::now()).await?;
    tx.delete_password_links(account.id).await?;
    let ended = tx.delete_account_sessions(account.id).await?;
    super::audit(tx.as_mut(), None, "account.disable", email.as_str(), json!({"sessions_ended": ended})).await?;
    tx.commit().await?;
    store.account(account.id).await?.ok_or_else(|| VoucherError::AccountNotFound(email.as_str().to_owned()))
}

/// Enables a disabled account again: it can sign in with its password (or a new set-password
/// link). Returns the account as it is now; enabling an enabled account changes nothing and
/// writes no audit record.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn enable_account(store: &dyn Store, email: &Email) -> Result<Account, VoucherError> {
    let mut tx = store.begin().await?;
    let account = locked(tx.as_mut(), email).await?;
    if account.disabled_at.is_some() {
        tx.enable_account(account.id).await?;
        super::audit(tx.as_mut(), None, "account.enable", email.as_str(), json!({})).await?;
        tx.commit().await?;
    }
    store.account(account.id).await?.ok_or_else(|| VoucherError::AccountNotFound(email.as_str().to_owned()))
}

/// Sets a new password, ends the account's sessions (whoever knew the old one is out) and
/// deletes its set-password link.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn set_password(store: &dyn Store, email: &Email, password: &Password) -> Result<(), VoucherError> {
    let hash = hash_password(password).await?;
    let mut tx = store.begin().await?;
    let account = locked(tx.as_mut(), email).await?;
    tx.set_password_hash(account.id, &hash).await?;
    tx.delete_password_links(account.id).await?;
    let ended = tx.delete_account_sessions(account.id).await?;
    super::audit(tx.as_mut(), None, "account.set_password", email.as_str(), json!({"sessions_ended": ended})).await?;
    tx.commit().await?;
    Ok(())
}

/// Lets a `manage` account see a conference.
#[tracing::instrument(level = "debug", skip_all, fields(conference = %conference))]
pub async fn grant_conference(store: &dyn Store, email: &Email, conference: &str) -> Result<Account, VoucherError> {
    let mut tx = store.begin().await?;
    let account = locked(tx.as_mut(), email).await?;
    if account.role == Role::Admin {
        return Err(InvalidInput::new("conference", "an admin account already sees every conference").into());
    }
    let found = tx.conference(conference).await?.ok_or_else(|| no_such_conference(conference))?;
    tx.grant_conference(account.id, found.id).await?;
    super::audit(tx.as_mut(), Some(found.id), "account.grant", email.as_str(), json!({"role": account.role.as_str()}))
        .await?;
    tx.commit().await?;
    store.account(account.id).await?.ok_or_else(|| VoucherError::AccountNotFound(email.as_str().to_owned()))
}

/// Takes a conference away from a `manage` account: its pages answer 404 to the account at
/// once. Returns the account as it is now, and whether it had the conference (false: nothing
/// changed and nothing is audited, so a second revoke is harmless).
///
/// # Errors
/// [`VoucherError::AccountNotFound`]; [`VoucherError::Invalid`] naming `conference` for an
/// admin account (it sees every conference) or a conference that does not exist.
#[tracing::instrument(level = "debug", skip_all, fields(conference = %conference))]
pub async fn revoke_conference(
    store: &dyn Store,
    email: &Email,
    conference: &str,
) -> Result<(Account, bool), VoucherError> {
    let mut tx = store.begin().await?;
    let account = locked(tx.as_mut(), email).await?;
    if account.role == Role::Admin {
        return Err(
            InvalidInput::new("conference", "an admin account sees every conference; it has none to revoke").into()
        );
    }
    let found = tx.conference(conference).await?.ok_or_else(|| no_such_conference(conference))?;
    let revoked = tx.revoke_conference(account.id, found.id).await?;
    if revoked {
        let changes = json!({"role": account.role.as_str()});
        super::audit(tx.as_mut(), Some(found.id), "account.revoke", email.as_str(), changes).await?;
    }
    tx.commit().await?;
    let after =
        store.account(account.id).await?.ok_or_else(|| VoucherError::AccountNotFound(email.as_str().to_owned()))?;
    Ok((after, revoked))
}

async fn locked(tx: &mut dyn crate::store::StoreTx, email: &Email) -> Result<Account, VoucherError> {
    tx.lock_account(email.as_str()).await?.ok_or_else(|| VoucherError::AccountNotFound(email.as_str().to_owned()))
}

/// Signs in: a new session with its own secret and CSRF token. Any failure (no such account, a
/// disabled one, a wrong password) is the same [`VoucherError::LoginFailed`], in about the
/// same time.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn sign_in(store: &dyn Store, email: &str, password: &str) -> Result<(SessionSecret, Session), VoucherError> {
    let presented = Password::presented(password);
    let stored = match Email::parse("email", email) {
        Ok(email) => store.account_by_email(email.as_str()).await?,
        Err(_) => None,
    };
    let Some(stored) = stored else {
        verify_password(&presented, DECOY_HASH).await;
        return Err(VoucherError::LoginFailed);
    };
    // An account waiting for its first password takes as long to refuse as any other.
    let verified = if stored.password_hash == NO_PASSWORD {
        verify_password(&presented, DECOY_HASH).await;
        false
    } else {
        verify_password(&presented, &stored.password_hash).await
    };
    if !verified || stored.account.disabled_at.is_some() {
        return Err(VoucherError::LoginFailed);
    }
    let secret = SessionSecret::new(random_secret()?);
    let csrf_token = random_secret()?;
    let now = super::now();
    let mut tx = store.begin().await?;
    let id = tx.insert_session(&token_hash(secret.expose()), stored.account.id, &csrf_token, now).await?;
    tx.commit().await?;
    Ok((secret, Session { id, account: stored.account, csrf_token, created_at: now }))
}

/// The session behind a presented secret, if it is still alive at `now`; a session past its
/// idle or absolute expiry, or of a disabled account, is ended and `None`.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn session(
    store: &dyn Store,
    secret: &SessionSecret,
    policy: SessionPolicy,
    now: DateTime<Utc>,
) -> Result<Option<Session>, VoucherError> {
    let hash = token_hash(secret.expose());
    let Some(stored) = store.session_by_hash(&hash).await? else { return Ok(None) };
    let account = store.account(stored.account_id).await?;
    let idle = chrono::Duration::from_std(policy.idle).unwrap_or(chrono::Duration::MAX);
    let absolute = chrono::Duration::from_std(policy.absolute).unwrap_or(chrono::Duration::MAX);
    let alive = account.as_ref().is_some_and(|a| a.disabled_at.is_none())
        && now < stored.last_seen_at + idle
        && now < stored.created_at + absolute;
    let Some(account) = account.filter(|_| alive) else {
        let mut tx = store.begin().await?;
        tx.delete_session(&hash).await?;
        tx.commit().await?;
        return Ok(None);
    };
    if now - stored.last_seen_at >= TOUCH_EVERY {
        let mut tx = store.begin().await?;
        tx.touch_session(stored.id, now).await?;
        tx.commit().await?;
    }
    Ok(Some(Session { id: stored.id, account, csrf_token: stored.csrf_token, created_at: stored.created_at }))
}

/// The console's proof that a browser has signed in to an account before: `ID.NONCE.MAC`, the
/// MAC an HMAC-SHA-256 of the account id and a random nonce keyed by the account's password hash
/// (which never leaves the database). So nothing new is stored, every instance can check it, and
/// a new password or a disabled account makes every device of the account unknown again.
/// `Debug` never prints it.
#[derive(Clone, PartialEq, Eq)]
pub struct DeviceToken(String);

impl DeviceToken {
    /// A token as a cookie presented it.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The token's text, to put in the cookie.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The device's own key: the account and the nonce, without the MAC.
    pub fn device_key(&self) -> &str {
        self.0.rsplit_once('.').map_or("", |(key, _)| key)
    }
}

impl std::fmt::Debug for DeviceToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DeviceToken(..)")
    }
}

fn device_mac(password_hash: &str, account_id: i64, nonce: &str) -> hmac::Hmac<sha2::Sha256> {
    use hmac::Mac;
    // HMAC takes a key of any length.
    let mut mac = <hmac::Hmac<sha2::Sha256> as Mac>::new_from_slice(password_hash.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of every length"));
    mac.update(format!("vouchers console device:{account_id}:{nonce}").as_bytes());
    mac
}

/// A device token for the account that `session` belongs to, set after a successful sign-in.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn remember_device(store: &dyn Store, session: &Session) -> Result<DeviceToken, VoucherError> {
    use hmac::Mac;
    let stored = store
        .account_by_email(&session.account.email)
        .await?
        .ok_or_else(|| VoucherError::AccountNotFound(session.account.email.clone()))?;
    let nonce = random_secret()?;
    let mac = device_mac(&stored.password_hash, stored.account.id, &nonce).finalize().into_bytes();
    Ok(DeviceToken(format!("{}.{nonce}.{}", stored.account.id, URL_SAFE_NO_PAD.encode(mac))))
}

/// True when `device` proves that this browser signed in to the (enabled) account `email`
/// since its password was last set. A token of another account, a forged or stale one: false.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn known_device(store: &dyn Store, email: &str, device: &DeviceToken) -> Result<bool, VoucherError> {
    use hmac::Mac;
    let Ok(email) = Email::parse("email", email) else { return Ok(false) };
    let mut parts = device.0.splitn(3, '.');
    let (Some(id), Some(nonce), Some(mac)) = (parts.next(), parts.next(), parts.next()) else { return Ok(false) };
    let (Ok(id), Ok(mac)) = (id.parse::<i64>(), URL_SAFE_NO_PAD.decode(mac)) else { return Ok(false) };
    let Some(stored) = store.account_by_email(email.as_str()).await? else { return Ok(false) };
    // Without a password there is no key, so no browser has signed in to the account.
    if stored.account.id != id || stored.account.disabled_at.is_some() || stored.password_hash == NO_PASSWORD {
        return Ok(false);
    }
    // `verify_slice` compares in constant time.
    Ok(device_mac(&stored.password_hash, id, nonce).verify_slice(&mac).is_ok())
}

/// Ends the session behind a presented secret (nothing when there is none).
#[tracing::instrument(level = "debug", skip_all)]
pub async fn sign_out(store: &dyn Store, secret: &SessionSecret) -> Result<(), VoucherError> {
    let mut tx = store.begin().await?;
    tx.delete_session(&token_hash(secret.expose())).await?;
    tx.commit().await?;
    Ok(())
}

/// A grant names a conference that does not exist: invalid input (the account is the target,
/// the conference a name inside the input), naming the field.
fn no_such_conference(slug: &str) -> VoucherError {
    crate::domain::InvalidInput::new("conference", format!("conference {} does not exist", crate::domain::quoted(slug)))
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_decoy_hash_parses() {
        assert!(PasswordHash::new(DECOY_HASH).is_ok());
    }
}
