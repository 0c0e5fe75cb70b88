//! Organizer accounts and console sessions on both backends.

use std::time::Duration;

use vouchers_core::domain::{Email, Password, Role};
use vouchers_core::service::accounts::{self, SessionPolicy};
use vouchers_core::store::testing::TestDb;
use vouchers_core::VoucherError;

use crate::support::*;

fn email(text: &str) -> Email {
    Email::parse("email", text).unwrap()
}

fn password(text: &str) -> Password {
    Password::new(text).unwrap()
}

const PW: &str = "correct horse battery";

async fn accounts_sign_in_and_keep_sessions(db: TestDb) {
    let store = db.store.as_ref();
    fixture(store).await;
    let admin =
        accounts::create_account(store, &email("Ada@Example.org"), Role::Admin, &password(PW), &[]).await.unwrap();
    assert_eq!((admin.email.as_str(), admin.role), ("ada@example.org", Role::Admin));
    let err =
        accounts::create_account(store, &email("ADA@example.org"), Role::Manage, &password(PW), &[]).await.unwrap_err();
    assert!(matches!(err, VoucherError::Duplicate { field: "email", .. }), "{err:?}");
    let err = accounts::create_account(store, &email("x@example.org"), Role::Admin, &password(PW), &[CONF.into()])
        .await
        .unwrap_err();
    assert_eq!(err.field(), Some("conference"));
    let err = accounts::create_account(store, &email("y@example.org"), Role::Manage, &password(PW), &["nope".into()])
        .await
        .unwrap_err();
    // The conference is a name inside the input (the account is what is created): invalid input.
    assert_eq!((err.kind(), err.field()), (vouchers_core::ErrorKind::Invalid, Some("conference")), "{err:?}");
    assert!(store.account_by_email("y@example.org").await.unwrap().is_none(), "nothing written");

    let manager =
        accounts::create_account(store, &email("bob@example.org"), Role::Manage, &password(PW), &[CONF.into()])
            .await
            .unwrap();
    assert_eq!(manager.conferences, [CONF]);
    let access = vouchers_core::domain::Access::of_account(&manager);
    assert!(access.may_reach(CONF) && !access.may_reach(OTHER));
    let granted = accounts::grant_conference(store, &email("bob@example.org"), OTHER).await.unwrap();
    assert_eq!(granted.conferences, [OTHER, CONF], "sorted by slug");
    let listed = accounts::list_accounts(store).await.unwrap();
    assert_eq!(listed.iter().map(|a| a.email.as_str()).collect::<Vec<_>>(), ["ada@example.org", "bob@example.org"]);

    // Signing in: any failure is the same error.
    for (who, pw) in [("ada@example.org", "wrong password!"), ("nobody@example.org", PW), ("not an email", PW)] {
        assert!(matches!(accounts::sign_in(store, who, pw).await, Err(VoucherError::LoginFailed)), "{who}");
    }
    let (secret, session) = accounts::sign_in(store, " ADA@example.org ", PW).await.unwrap();
    assert_eq!(session.account.email, "ada@example.org");
    assert!(!session.csrf_token.is_empty());
    let policy = SessionPolicy::default();
    let now = vouchers_core::now();
    let found = accounts::session(store, &secret, policy, now).await.unwrap().unwrap();
    assert_eq!((found.id, found.csrf_token.as_str()), (session.id, session.csrf_token.as_str()));
    let (second, _) = accounts::sign_in(store, "ada@example.org", PW).await.unwrap();
    assert_ne!(second.expose(), secret.expose(), "each sign-in gets its own secret");

    // Idle and absolute expiry end the session (and delete it).
    let short = SessionPolicy { idle: Duration::from_secs(60), absolute: Duration::from_secs(3600) };
    let later = now + chrono::Duration::seconds(61);
    assert!(accounts::session(store, &secret, short, later).await.unwrap().is_none(), "idle");
    assert!(accounts::session(store, &secret, policy, now).await.unwrap().is_none(), "deleted once expired");
    let tight = SessionPolicy { idle: Duration::from_secs(3600), absolute: Duration::from_secs(30) };
    let after = vouchers_core::now() + chrono::Duration::seconds(31);
    assert!(accounts::session(store, &second, tight, after).await.unwrap().is_none(), "absolute");

    // Sign-out, a new password and disabling end sessions at once.
    let (a, _) = accounts::sign_in(store, "bob@example.org", PW).await.unwrap();
    accounts::sign_out(store, &a).await.unwrap();
    assert!(accounts::session(store, &a, policy, now).await.unwrap().is_none());
    let (b, _) = accounts::sign_in(store, "bob@example.org", PW).await.unwrap();
    accounts::set_password(store, &email("bob@example.org"), &password("another long password")).await.unwrap();
    assert!(accounts::session(store, &b, policy, vouchers_core::now()).await.unwrap().is_none());
    assert!(accounts::sign_in(store, "bob@example.org", PW).await.is_err());
    let (c, _) = accounts::sign_in(store, "bob@example.org", "another long password").await.unwrap();
    let disabled = accounts::disable_account(store, &email("bob@example.org")).await.unwrap();
    assert!(disabled.disabled_at.is_some());
    assert!(accounts::session(store, &c, policy, vouchers_core::now()).await.unwrap().is_none());
    assert!(matches!(
        accounts::sign_in(store, "bob@example.org", "another long password").await,
        Err(VoucherError::LoginFailed)
    ));
    let err = accounts::disable_account(store, &email("nobody@example.org")).await.unwrap_err();
    assert!(matches!(err, VoucherError::AccountNotFound(_)), "{err:?}");
}

both_backends!(accounts_sign_in_and_keep_sessions);
