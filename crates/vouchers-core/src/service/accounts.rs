//! Organizer accounts and their console sessions: create, list, disable, change a password,
//! grant a conference; sign in, find the session behind a cookie, sign out.
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

use super::tokens::token_hash;
use crate::domain::{Account, Email, InvalidInput, Password, Role, Session, SessionSecret};
use crate::store::Store;
use crate::VoucherError;
use serde_json::json;

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
    if role == Role::Admin && !conferences.is_empty() {
        return Err(
            InvalidInput::new("conference", "an admin account sees every conference; give no conference").into()
        );
    }
    let hash = hash_password(password).await?;
    let mut tx = store.begin().await?;
    let now = super::now();
    let id = tx.insert_account(email.as_str(), &hash, role, now).await.map_err(|e| match e {
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
    super::audit(tx.as_mut(), None, "account.create", email.as_str(), json!({"role": role.as_str()})).await?;
    tx.commit().await?;
    granted.sort();
    granted.dedup();
    Ok(Account { id, email: email.as_str().to_owned(), role, conferences: granted, created_at: now, disabled_at: None })
}

/// Every account, by email.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn list_accounts(store: &dyn Store) -> Result<Vec<Account>, VoucherError> {
    Ok(store.accounts().await?)
}

/// Disables an account and ends its sessions at once. Returns the account as it is now.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn disable_account(store: &dyn Store, email: &Email) -> Result<Account, VoucherError> {
    let mut tx = store.begin().await?;
    let account = locked(tx.as_mut(), email).await?;
    tx.disable_account(account.id, super::now()).await?;
    let ended = tx.delete_account_sessions(account.id).await?;
    super::audit(tx.as_mut(), None, "account.disable", email.as_str(), json!({"sessions_ended": ended})).await?;
    tx.commit().await?;
    store.account(account.id).await?.ok_or_else(|| VoucherError::AccountNotFound(email.as_str().to_owned()))
}

/// Sets a new password and ends the account's sessions (whoever knew the old one is out).
#[tracing::instrument(level = "debug", skip_all)]
pub async fn set_password(store: &dyn Store, email: &Email, password: &Password) -> Result<(), VoucherError> {
    let hash = hash_password(password).await?;
    let mut tx = store.begin().await?;
    let account = locked(tx.as_mut(), email).await?;
    tx.set_password_hash(account.id, &hash).await?;
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
    let verified = verify_password(&presented, &stored.password_hash).await;
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
    if stored.account.id != id || stored.account.disabled_at.is_some() {
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
