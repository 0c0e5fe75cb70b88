//! The console's sign-in limit: failed sign-ins are counted against the client's address and
//! against the account named (by its parsed email: `" Ana@X.org"` is `ana@x.org`), or, from a
//! browser that signed in to that account before, against that browser instead of the account.
//!
//! An address gets `per_minute` failures a minute, a browser known to the account as many, an
//! account [`ACCOUNT_FACTOR`] times as many from browsers it does not know. So one stranger is
//! stopped by its address's limit before it can lock the account; strangers at several addresses
//! lock it for new browsers until their failures leave the minute; a browser that signed in to
//! the account before is never locked out by anyone else's failures.
//!
//! On PostgreSQL the failures are also recorded in the database and read before the password is
//! checked, so every instance of a deployment sees the same count; an SQLite deployment is one
//! process and keeps its window in memory.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::accounts::{self, DeviceToken};
use super::guessing::{window_start, RecentFailures};
use super::limiter::{FailureLimiter, Lookup, TooManyFailures};
use crate::domain::{Email, Session, SessionSecret};
use crate::store::{Backend, Store};
use crate::VoucherError;

/// An account's failed sign-ins per minute from browsers it does not know, as a multiple of the
/// per-address limit.
pub const ACCOUNT_FACTOR: u32 = 4;

/// Who a failed sign-in is counted against.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SignInKey {
    /// The account named: the SHA-256 (hex) of its parsed email, or of the text as typed,
    /// lower-cased, when it does not parse (no account has it). A hash, so that a key is 64
    /// characters whatever was typed (a megabyte in the email field stays 64 bytes here and in
    /// the shared window), and the shared window holds no email address.
    Account(String),
    /// A browser that signed in to the account before ([`DeviceToken::device_key`]).
    Device(String),
    /// The client's address.
    Address(IpAddr),
}

impl SignInKey {
    /// The key as the shared window stores it.
    fn stored(&self) -> String {
        match self {
            SignInKey::Account(email) => format!("account:{email}"),
            SignInKey::Device(device) => format!("device:{device}"),
            SignInKey::Address(address) => format!("address:{address}"),
        }
    }

    /// The account key of what was typed in the email field.
    pub fn account(typed: &str) -> Self {
        let email = Email::parse("email", typed).map_or_else(|_| typed.to_lowercase(), |e| e.as_str().to_owned());
        SignInKey::Account(super::tokens::token_hash(&email))
    }
}

/// The sign-in limit of a server.
#[derive(Debug)]
pub struct SignInGuard {
    /// Per address and per known browser.
    per_address: Arc<FailureLimiter<SignInKey>>,
    /// Per account, from browsers it does not know.
    per_account: Arc<FailureLimiter<SignInKey>>,
    /// The window is also kept in the database (PostgreSQL, with a limit on).
    shared: bool,
}

impl SignInGuard {
    /// `per_minute` failed sign-ins per address and per known browser a minute, and
    /// [`ACCOUNT_FACTOR`] times as many per account (0: no limit), shared through the database
    /// when `backend` is PostgreSQL.
    pub fn new(backend: Backend, per_minute: u32) -> Self {
        Self::with_window(backend, per_minute, Duration::from_secs(60))
    }

    /// The same with another window (tests).
    pub fn with_window(backend: Backend, per_minute: u32, window: Duration) -> Self {
        let per_account = per_minute.saturating_mul(ACCOUNT_FACTOR);
        Self {
            per_address: Arc::new(FailureLimiter::with_window(per_minute, window)),
            per_account: Arc::new(FailureLimiter::with_window(per_account, window)),
            shared: backend == Backend::Postgres && per_minute > 0,
        }
    }

    /// Whether the window lives in the database too (several instances share it).
    pub fn shared(&self) -> bool {
        self.shared
    }

    /// Deletes the shared window's failures that have left it (nothing to do when it is not
    /// shared).
    pub async fn prune(&self, store: &dyn Store, now: DateTime<Utc>) -> Result<u64, VoucherError> {
        if !self.shared {
            return Ok(0);
        }
        Ok(store.prune_failed_sign_ins(window_start(self.per_address.window(), now)).await?)
    }

    /// The limiter a key is counted in.
    fn limiter(&self, key: &SignInKey) -> &Arc<FailureLimiter<SignInKey>> {
        match key {
            SignInKey::Account(_) => &self.per_account,
            SignInKey::Device(_) | SignInKey::Address(_) => &self.per_address,
        }
    }

    /// Slots for both keys, in order.
    async fn acquire(&self, keys: &[SignInKey; 2]) -> Result<[Lookup<SignInKey>; 2], TooManyFailures> {
        let first = self.limiter(&keys[0]).acquire(keys[0].clone()).await?;
        let second = self.limiter(&keys[1]).acquire(keys[1].clone()).await?;
        Ok([first, second])
    }
}

/// A sign-in as the console received it.
#[derive(Debug)]
pub struct SignInAttempt<'a> {
    /// The email field, as typed.
    pub email: &'a str,
    /// The password, exactly as typed (a space at either end is part of it).
    pub password: &'a str,
    /// The client's address.
    pub address: IpAddr,
    /// The device token the browser presented, if any.
    pub device: Option<&'a DeviceToken>,
}

/// How a sign-in ended.
#[derive(Debug)]
pub enum SignedIn {
    /// A new session.
    Session(SessionSecret, Session),
    /// The email or the password is not right (the same answer whether the account exists or
    /// not); one failure was counted.
    Refused,
    /// Too many failures from this address, for this account or this browser: the password was
    /// not checked.
    TooMany(TooManyFailures),
}

/// Signs in under the limit: refused without checking the password while the address, the
/// account or the browser has used up its failures; otherwise [`accounts::sign_in`], a failure
/// counted against both keys (here and, when shared, in the database).
#[tracing::instrument(level = "debug", skip_all)]
pub async fn sign_in(
    store: &dyn Store,
    guard: &SignInGuard,
    attempt: SignInAttempt<'_>,
    now: DateTime<Utc>,
) -> Result<SignedIn, VoucherError> {
    let address = SignInKey::Address(attempt.address);
    // The address first: a refused client costs no read.
    let by_address = match guard.per_address.acquire(address.clone()).await {
        Ok(slot) => slot,
        Err(refused) => return Ok(SignedIn::TooMany(refused)),
    };
    let second = match attempt.device {
        Some(device) if accounts::known_device(store, attempt.email, device).await? => {
            SignInKey::Device(device.device_key().to_owned())
        }
        _ => SignInKey::account(attempt.email),
    };
    let by_account = match guard.limiter(&second).acquire(second.clone()).await {
        Ok(slot) => slot,
        Err(refused) => return Ok(SignedIn::TooMany(refused)),
    };
    let keys = [address, second];
    let mut lookups = [by_address, by_account];
    let window = guard.per_address.window();
    let stored = [keys[0].stored(), keys[1].stored()];
    if guard.shared {
        let counted = store.failed_sign_ins([&stored[0], &stored[1]], window_start(window, now)).await?;
        let mut more = false;
        for (key, counted) in keys.iter().zip(counted) {
            let recent = RecentFailures::from_counted(counted, window, now);
            more |= guard.limiter(key).absorb(key, recent.count, recent.oldest_leaves_in);
        }
        if more {
            drop(lookups);
            lookups = match guard.acquire(&keys).await {
                Ok(lookups) => lookups,
                Err(refused) => return Ok(SignedIn::TooMany(refused)),
            };
        }
    }
    match accounts::sign_in(store, attempt.email, attempt.password).await {
        Ok((secret, session)) => {
            lookups.into_iter().for_each(Lookup::found);
            Ok(SignedIn::Session(secret, session))
        }
        Err(VoucherError::LoginFailed) => {
            lookups.into_iter().for_each(Lookup::failed);
            if guard.shared {
                let at = crate::now();
                let forget = window_start(window, at);
                if let Err(error) = store.record_failed_sign_in([&stored[0], &stored[1]], at, forget).await {
                    tracing::warn!(error = %crate::cause_chain(&error), "a failed sign-in could not be recorded");
                }
            }
            Ok(SignedIn::Refused)
        }
        Err(other) => Err(other),
    }
}

/// How a lookup of a secret under the address's sign-in limit ended.
#[derive(Debug)]
pub enum Guarded<T> {
    /// The secret named this.
    Found(T),
    /// It named nothing; one failure was counted against the address.
    NotFound,
    /// The address has used up its failures: nothing was looked up.
    TooMany(TooManyFailures),
}

/// Looks a presented secret up (a sponsor's link) under the same per-address limit as sign-in:
/// refused unread while the address has used up its failures; a secret that names nothing counts
/// one failure (here and, when shared, in the database).
pub async fn guarded_lookup<T, F>(
    store: &dyn Store,
    guard: &SignInGuard,
    address: IpAddr,
    now: DateTime<Utc>,
    lookup: F,
) -> Result<Guarded<T>, VoucherError>
where
    F: std::future::Future<Output = Result<Option<T>, VoucherError>>,
{
    let key = SignInKey::Address(address);
    let mut slot = match guard.per_address.acquire(key.clone()).await {
        Ok(slot) => slot,
        Err(refused) => return Ok(Guarded::TooMany(refused)),
    };
    let window = guard.per_address.window();
    // The second key only keeps the pair shape of the shared window: it is never read back.
    let (stored, link) = (key.stored(), format!("link:{address}"));
    if guard.shared {
        let counted = store.failed_sign_ins([&stored, &link], window_start(window, now)).await?;
        let recent = RecentFailures::from_counted(counted[0], window, now);
        if guard.per_address.absorb(&key, recent.count, recent.oldest_leaves_in) {
            drop(slot);
            slot = match guard.per_address.acquire(key.clone()).await {
                Ok(slot) => slot,
                Err(refused) => return Ok(Guarded::TooMany(refused)),
            };
        }
    }
    match lookup.await? {
        Some(found) => {
            slot.found();
            Ok(Guarded::Found(found))
        }
        None => {
            slot.failed();
            if guard.shared {
                let at = crate::now();
                if let Err(error) = store.record_failed_sign_in([&stored, &link], at, window_start(window, at)).await {
                    tracing::warn!(error = %crate::cause_chain(&error), "a failed link lookup could not be recorded");
                }
            }
            Ok(Guarded::NotFound)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The same account however it is typed; a key of 64 characters whatever was typed.
    #[test]
    fn account_keys_are_parsed_emails_hashed() {
        let key = SignInKey::account("ana@example.org");
        assert_eq!(SignInKey::account(" Ana@Example.ORG "), key);
        assert_ne!(SignInKey::account("bob@example.org"), key);
        let huge = SignInKey::account(&"x".repeat(1 << 20));
        for key in [key, huge] {
            let SignInKey::Account(hash) = &key else { panic!("{key:?}") };
            assert_eq!(hash.len(), 64);
            assert!(!key.stored().contains('@'), "no email in the shared window");
        }
    }
}
