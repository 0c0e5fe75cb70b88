//! Organizer accounts and console sessions on both backends.

use std::time::Duration;

use vouchers_core::domain::{AccountStatus, Email, Password, PasswordLinkSecret, Role};
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

const NEW_PW: &str = "a brand new passphrase";

/// How many audit records of `action` whose changes mention `word`.
async fn audited(raw: &Raw, action: &str, word: &str) -> i64 {
    raw.scalar(&format!(
        "SELECT count(*) FROM audit_log WHERE action = '{action}' AND CAST(changes AS text) LIKE '%{word}%'"
    ))
    .await
}

/// An account made with a link cannot sign in until the link sets its password; the link works
/// once, is stored only as its hash, and a new one replaces the old.
async fn a_link_sets_the_first_password_once(db: TestDb) {
    let store = db.store.as_ref();
    fixture(store).await;
    let raw = Raw::connect(&db).await;
    let made = accounts::create_account_with_link(store, &email("Ana@Example.org"), Role::Manage, &[CONF.into()])
        .await
        .unwrap();
    assert_eq!(
        (made.account.email.as_str(), made.account.conferences.as_slice()),
        ("ana@example.org", &[CONF.to_owned()][..])
    );
    assert!(!made.account.has_password);
    assert_eq!(AccountStatus::of(&made.account), AccountStatus::WaitingForPassword);
    let listed = accounts::list_accounts(store).await.unwrap();
    assert!(!listed[0].has_password, "read back as waiting");
    let lifetime = made.expires_at - vouchers_core::now();
    assert!(lifetime > chrono::Duration::hours(71) && lifetime <= chrono::Duration::hours(72), "{lifetime}");
    assert!(!format!("{made:?}").contains(made.secret.expose()), "Debug never shows the secret");
    // Only the hash is stored.
    let hash = vouchers_core::service::tokens::token_hash(made.secret.expose());
    assert_eq!(raw.scalar(&format!("SELECT count(*) FROM password_link WHERE link_hash = '{hash}'")).await, 1);
    assert_eq!(
        raw.scalar(&format!("SELECT count(*) FROM password_link WHERE link_hash = '{}'", made.secret.expose())).await,
        0
    );

    // No password signs in to it, the empty one included.
    for pw in ["", PW, NEW_PW] {
        assert!(matches!(accounts::sign_in(store, "ana@example.org", pw).await, Err(VoucherError::LoginFailed)));
    }
    let now = vouchers_core::now();
    let found = accounts::password_link(store, &made.secret, now).await.unwrap().unwrap();
    assert_eq!((found.account.id, found.expires_at), (made.account.id, made.expires_at));
    let unknown = PasswordLinkSecret::new("not-a-link");
    assert!(accounts::password_link(store, &unknown, now).await.unwrap().is_none());
    assert!(accounts::set_password_by_link(store, &unknown, &password(NEW_PW), now).await.unwrap().is_none());

    let set = accounts::set_password_by_link(store, &made.secret, &password(NEW_PW), now).await.unwrap().unwrap();
    assert!(set.has_password && set.email == "ana@example.org");
    let (_, session) = accounts::sign_in(store, "ana@example.org", NEW_PW).await.unwrap();
    assert_eq!(session.account.conferences, [CONF]);
    assert_eq!(AccountStatus::of(&session.account), AccountStatus::Active);
    // Once: the link opens nothing now, and cannot set another password.
    assert!(accounts::password_link(store, &made.secret, now).await.unwrap().is_none());
    assert!(accounts::set_password_by_link(store, &made.secret, &password("yet another password"), now)
        .await
        .unwrap()
        .is_none());
    accounts::sign_in(store, "ana@example.org", NEW_PW).await.unwrap();
    assert_eq!(raw.count("password_link").await, 0);
    assert_eq!(audited(&raw, "account.set_password", "link").await, 1);
    assert_eq!(
        raw.scalar("SELECT count(*) FROM audit_log WHERE action = 'account.set_password' AND actor_kind = 'account'")
            .await,
        1,
        "the account itself set it"
    );
    assert_eq!(audited(&raw, "account.create", "link").await, 1);

    // A forgotten password: a new link; the old password works until it is used; a second new
    // link replaces the first.
    let first = accounts::new_password_link(store, &email("ana@example.org")).await.unwrap();
    let second = accounts::new_password_link(store, &email("ana@example.org")).await.unwrap();
    assert_ne!(first.secret.expose(), second.secret.expose());
    assert!(accounts::password_link(store, &first.secret, now).await.unwrap().is_none(), "replaced");
    assert_eq!(raw.count("password_link").await, 1, "one link per account");
    accounts::sign_in(store, "ana@example.org", NEW_PW).await.unwrap();
    accounts::set_password_by_link(store, &second.secret, &password("forgotten and reset"), vouchers_core::now())
        .await
        .unwrap()
        .unwrap();
    assert!(accounts::sign_in(store, "ana@example.org", NEW_PW).await.is_err());
    accounts::sign_in(store, "ana@example.org", "forgotten and reset").await.unwrap();
    assert_eq!(audited(&raw, "account.password_link", "expires_at").await, 2);

    // The rules of create hold with a link too; nothing is written when refused.
    let err =
        accounts::create_account_with_link(store, &email("ANA@example.org"), Role::Manage, &[]).await.unwrap_err();
    assert!(matches!(err, VoucherError::Duplicate { field: "email", .. }), "{err:?}");
    let err = accounts::create_account_with_link(store, &email("x@example.org"), Role::Admin, &[CONF.into()])
        .await
        .unwrap_err();
    assert_eq!(err.field(), Some("conference"));
    let err = accounts::create_account_with_link(store, &email("y@example.org"), Role::Manage, &["nope".into()])
        .await
        .unwrap_err();
    assert_eq!(err.field(), Some("conference"));
    assert_eq!(raw.count("password_link").await, 0, "no link of a refused account");
    let err = accounts::new_password_link(store, &email("nobody@example.org")).await.unwrap_err();
    assert!(matches!(err, VoucherError::AccountNotFound(_)), "{err:?}");
}

/// Past its 72 hours a link opens nothing; using a link ends the account's sessions; a disabled
/// account's link is gone and it gets no new one.
async fn links_expire_end_sessions_and_die_with_the_account(db: TestDb) {
    let store = db.store.as_ref();
    fixture(store).await;
    let raw = Raw::connect(&db).await;
    accounts::create_account(store, &email("bob@example.org"), Role::Manage, &password(PW), &[CONF.into()])
        .await
        .unwrap();
    let link = accounts::new_password_link(store, &email("bob@example.org")).await.unwrap();
    let late = link.expires_at;
    assert!(accounts::password_link(store, &link.secret, late - chrono::Duration::seconds(1)).await.unwrap().is_some());
    assert!(accounts::password_link(store, &link.secret, late).await.unwrap().is_none(), "expired");
    assert!(accounts::set_password_by_link(store, &link.secret, &password(NEW_PW), late).await.unwrap().is_none());
    assert_eq!(raw.count("password_link").await, 1, "an expired use writes nothing");
    accounts::sign_in(store, "bob@example.org", PW).await.unwrap();

    // Sessions end when the link sets the password.
    let policy = SessionPolicy::default();
    let (a, _) = accounts::sign_in(store, "bob@example.org", PW).await.unwrap();
    let (b, _) = accounts::sign_in(store, "bob@example.org", PW).await.unwrap();
    let now = vouchers_core::now();
    accounts::set_password_by_link(store, &link.secret, &password(NEW_PW), now).await.unwrap().unwrap();
    for secret in [&a, &b] {
        assert!(accounts::session(store, secret, policy, vouchers_core::now()).await.unwrap().is_none());
    }
    assert_eq!(raw.count("console_session").await, 0, "every session of the account ended");

    // Disabling deletes the link; a disabled account gets none.
    let link = accounts::new_password_link(store, &email("bob@example.org")).await.unwrap();
    accounts::disable_account(store, &email("bob@example.org")).await.unwrap();
    assert!(accounts::password_link(store, &link.secret, vouchers_core::now()).await.unwrap().is_none());
    assert_eq!(raw.count("password_link").await, 0);
    let err = accounts::new_password_link(store, &email("bob@example.org")).await.unwrap_err();
    assert_eq!(err.field(), Some("email"), "{err:?}");
    assert!(err.to_string().contains("disabled"), "{err}");

    // A new password set by the CLI deletes the link too.
    let c = accounts::create_account_with_link(store, &email("cy@example.org"), Role::Manage, &[]).await.unwrap();
    accounts::set_password(store, &email("cy@example.org"), &password(PW)).await.unwrap();
    assert!(accounts::password_link(store, &c.secret, vouchers_core::now()).await.unwrap().is_none());
    accounts::sign_in(store, "cy@example.org", PW).await.unwrap();
}

/// Two uses of one link at the same moment: exactly one sets the password.
async fn concurrent_uses_of_a_link_set_one_password(db: TestDb) {
    let store = db.store.as_ref();
    fixture(store).await;
    let raw = Raw::connect(&db).await;
    for round in 0..3 {
        let who = format!("race{round}@example.org");
        let made = accounts::create_account_with_link(store, &email(&who), Role::Manage, &[]).await.unwrap();
        let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(4));
        let tasks: Vec<_> = (0..4)
            .map(|i| {
                let (store, barrier, secret) = (db.store.clone(), barrier.clone(), made.secret.clone());
                tokio::spawn(async move {
                    let pw = password(&format!("password number {i} of the race"));
                    barrier.wait().await;
                    accounts::set_password_by_link(&*store, &secret, &pw, vouchers_core::now()).await.map(|a| (i, a))
                })
            })
            .collect();
        let mut winners = Vec::new();
        for task in tasks {
            if let (i, Some(_)) = task.await.unwrap().unwrap() {
                winners.push(i);
            }
        }
        assert_eq!(winners.len(), 1, "round {round}: exactly one use wins: {winners:?}");
        let pw = format!("password number {} of the race", winners[0]);
        accounts::sign_in(store, &who, &pw).await.unwrap();
    }
    assert_eq!(audited(&raw, "account.set_password", "link").await, 3, "one record per account");
}

/// Revoking a conference takes it away at once; a second revoke changes nothing.
async fn revoking_a_conference(db: TestDb) {
    let store = db.store.as_ref();
    fixture(store).await;
    let raw = Raw::connect(&db).await;
    let bob = email("bob@example.org");
    accounts::create_account(store, &bob, Role::Manage, &password(PW), &[CONF.into(), OTHER.into()]).await.unwrap();
    let (_, session) = accounts::sign_in(store, "bob@example.org", PW).await.unwrap();
    assert!(vouchers_core::domain::Access::of_account(&session.account).may_reach(OTHER));
    let (after, revoked) = accounts::revoke_conference(store, &bob, OTHER).await.unwrap();
    assert!(revoked);
    assert_eq!(after.conferences, [CONF]);
    let (secret, _) = accounts::sign_in(store, "bob@example.org", PW).await.unwrap();
    let now = accounts::session(store, &secret, SessionPolicy::default(), vouchers_core::now()).await.unwrap().unwrap();
    assert!(!vouchers_core::domain::Access::of_account(&now.account).may_reach(OTHER), "at once");
    let (again, revoked) = accounts::revoke_conference(store, &bob, OTHER).await.unwrap();
    assert!(!revoked && again.conferences == [CONF]);
    assert_eq!(audited(&raw, "account.revoke", "manage").await, 1, "audited once");

    let err = accounts::revoke_conference(store, &bob, "nope").await.unwrap_err();
    assert_eq!((err.kind(), err.field()), (vouchers_core::ErrorKind::Invalid, Some("conference")));
    accounts::create_account(store, &email("ada@example.org"), Role::Admin, &password(PW), &[]).await.unwrap();
    let err = accounts::revoke_conference(store, &email("ada@example.org"), CONF).await.unwrap_err();
    assert_eq!(err.field(), Some("conference"));
    let err = accounts::revoke_conference(store, &email("nobody@example.org"), CONF).await.unwrap_err();
    assert!(matches!(err, VoucherError::AccountNotFound(_)), "{err:?}");

    // An account may not disable itself through disable_account_by.
    let ada = store.account_by_email("ada@example.org").await.unwrap().unwrap().account;
    let err = accounts::disable_account_by(store, &ada, &email("ada@example.org")).await.unwrap_err();
    assert_eq!(err.field(), Some("email"));
    assert!(accounts::disable_account_by(store, &ada, &bob).await.unwrap().disabled_at.is_some());
}

both_backends!(
    accounts_sign_in_and_keep_sessions,
    a_link_sets_the_first_password_once,
    links_expire_end_sessions_and_die_with_the_account,
    concurrent_uses_of_a_link_set_one_password,
    revoking_a_conference,
);
