//! What the HTTP API needs from the store and the services: tokens found by hash and revoked,
//! bulk generation under an idempotency key, voucher changes and batch deactivation, batch pages.

use std::sync::Arc;

use tokio::sync::Barrier;
use vouchers_core::domain::{MaxUses, Scope, TokenSecret, When};
use vouchers_core::service::idempotent::IdempotencyKey;
use vouchers_core::service::manage::{deactivate_batch, update_voucher, VoucherUpdate};
use vouchers_core::service::{query, tokens};
use vouchers_core::store::testing::TestDb;
use vouchers_core::store::VoucherFilter;
use vouchers_core::{generate_voucher_codes, generate_voucher_codes_with, GenerateOptions, Limits, VoucherError};

use crate::support::*;

async fn tokens_are_found_by_hash_until_revoked(db: TestDb) {
    fixture(&*db.store).await;
    let store = &*db.store;
    let admin = tokens::create_token(store, Scope::Admin, None, Some("ops")).await.unwrap();
    let manage = tokens::create_token(store, Scope::Manage, Some(CONF), None).await.unwrap();
    assert!(admin.secret.expose().starts_with(tokens::TOKEN_PREFIX));
    assert_ne!(admin.secret, manage.secret);

    let found = tokens::authenticate(store, &manage.secret).await.unwrap().unwrap();
    assert_eq!((found.scope, found.conference.as_deref()), (Scope::Manage, Some(CONF)));
    assert_eq!(found, manage.token);
    assert!(tokens::authenticate(store, &TokenSecret::new("vch_nope")).await.unwrap().is_none());
    assert!(tokens::authenticate(store, &TokenSecret::new("a\0b")).await.unwrap().is_none());

    let raw = Raw::connect(&db).await;
    assert_eq!(raw.scalar("SELECT COUNT(*) FROM api_token WHERE length(token_hash) = 64").await, 2);

    tokens::revoke_token(store, manage.token.id).await.unwrap();
    assert!(tokens::authenticate(store, &manage.secret).await.unwrap().is_none(), "revoked");
    assert!(matches!(tokens::revoke_token(store, manage.token.id).await, Err(VoucherError::TokenNotFound(_))));
    let listed = tokens::list_tokens(store).await.unwrap();
    assert_eq!(listed.len(), 2);
    assert!(listed[1].revoked_at.is_some() && listed[0].revoked_at.is_none());

    assert_eq!(
        tokens::create_token(store, Scope::Admin, Some(CONF), None).await.unwrap_err().field(),
        Some("conference")
    );
    assert_eq!(tokens::create_token(store, Scope::Checkout, None, None).await.unwrap_err().field(), Some("conference"));
    assert!(matches!(
        tokens::create_token(store, Scope::Manage, Some("nope"), None).await,
        Err(VoucherError::ConferenceNotFound(_))
    ));
}

async fn idempotent_generation_replays_and_refuses_other_bodies(db: TestDb) {
    fixture(&*db.store).await;
    let raw = Raw::connect(&db).await;
    let store = Arc::clone(&db.store);
    let key = IdempotencyKey::parse("order-1").unwrap();
    let barrier = Arc::new(Barrier::new(6));
    let tasks: Vec<_> = (0..6)
        .map(|_| {
            let (store, barrier, key) = (Arc::clone(&store), Arc::clone(&barrier), key.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                let options = GenerateOptions { idempotency_key: Some(&key), ..GenerateOptions::default() };
                generate_voucher_codes_with(&*store, &Limits::default(), &restricted_config(100), options).await
            })
        })
        .collect();
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.unwrap().unwrap());
    }
    assert_eq!(answers.iter().filter(|a| !a.replayed).count(), 1, "exactly one request generated");
    assert!(answers.iter().all(|a| a.generated == answers[0].generated));
    assert_eq!(answers[0].generated.vouchers.len(), 100, "a replay answers every voucher of the batch");
    let c = raw.counts().await;
    assert_eq!((c.voucher, c.voucher_batch), (100, 1));

    let mut other = restricted_config(100);
    other.prefix = "OTHER-".into();
    let options = GenerateOptions { idempotency_key: Some(&key), ..GenerateOptions::default() };
    let e = generate_voucher_codes_with(&*db.store, &Limits::default(), &other, options).await.unwrap_err();
    assert!(matches!(e, VoucherError::IdempotencyKeyReused { .. }), "{e:?}");
    // A budget or once per customer makes another request too.
    for change in [0, 1] {
        let mut other = restricted_config(100);
        if change == 0 {
            other.terms.budget = Some(dec("50.00"));
        } else {
            other.terms.once_per_customer = true;
        }
        let options = GenerateOptions { idempotency_key: Some(&key), ..GenerateOptions::default() };
        let e = generate_voucher_codes_with(&*db.store, &Limits::default(), &other, options).await.unwrap_err();
        assert!(matches!(e, VoucherError::IdempotencyKeyReused { .. }), "{e:?}");
    }
    assert_eq!(raw.counts().await.voucher_batch, 1);
}

async fn vouchers_change_and_batches_deactivate(db: TestDb) {
    fixture(&*db.store).await;
    let store = &*db.store;
    let first = generate_voucher_codes(store, &Limits::default(), &config(3)).await.unwrap();
    let second = generate_voucher_codes(store, &Limits::default(), &config(2)).await.unwrap();

    let code = first.vouchers[0].code.to_lowercase();
    let update = VoucherUpdate {
        is_active: Some(false),
        max_uses: Some(MaxUses::new(4).unwrap()),
        valid_from: Some(Some(When::parse("valid_from", "2027-05-14T09:00").unwrap())),
        valid_until: None,
        budget: Some(Some(vouchers_core::domain::Budget::parse(dec("250.00")).unwrap())),
    };
    let changed = update_voucher(store, CONF, &code, &update).await.unwrap();
    assert_eq!((changed.is_active, changed.max_uses), (false, 4));
    assert_eq!(changed.budget.map(|b| b.to_string()), Some("250.00".to_owned()));
    let unchanged = update_voucher(store, CONF, &code, &VoucherUpdate::default()).await.unwrap();
    assert_eq!(unchanged.budget, changed.budget, "a budget left out is kept");
    let removed = VoucherUpdate { budget: Some(None), ..VoucherUpdate::default() };
    assert_eq!(update_voucher(store, CONF, &code, &removed).await.unwrap().budget, None);
    assert_eq!(vouchers_core::domain::Budget::parse(dec("0")).unwrap_err().field, "budget");
    assert_eq!(changed.valid_from.unwrap().to_rfc3339(), "2027-05-14T13:00:00+00:00");
    assert_eq!(MaxUses::new(0).unwrap_err().field, "max_uses", "max_uses below 1 cannot even be asked for");
    let bad = VoucherUpdate {
        valid_until: Some(Some(When::parse("valid_until", "2027-05-01T00:00:00Z").unwrap())),
        ..VoucherUpdate::default()
    };
    assert_eq!(update_voucher(store, CONF, &code, &bad).await.unwrap_err().field(), Some("valid_until"));
    let missing = update_voucher(store, CONF, "NOPE", &VoucherUpdate::default()).await.unwrap_err();
    assert!(matches!(missing, VoucherError::VoucherNotFound { .. }));
    let elsewhere = update_voucher(store, OTHER, &code, &VoucherUpdate::default()).await.unwrap_err();
    assert!(matches!(elsewhere, VoucherError::VoucherNotFound { .. }), "a code of another conference");

    let (batch, n) = deactivate_batch(store, CONF, second.batch.id).await.unwrap();
    assert_eq!((batch, n), (second.batch.clone(), 2));
    assert_eq!(deactivate_batch(store, CONF, second.batch.id).await.unwrap().1, 0);
    assert!(matches!(deactivate_batch(store, OTHER, second.batch.id).await, Err(VoucherError::BatchNotFound { .. })));
    let active = VoucherFilter { active: Some(true), ..VoucherFilter::default() };
    assert_eq!(query::list_vouchers(store, CONF, &active).await.unwrap().len(), 2, "3 - 1 changed, batch 2 off");

    let page = query::list_batches(store, CONF, 0, 1).await.unwrap();
    assert_eq!(page, vec![first.batch.clone()]);
    assert_eq!(query::list_batches(store, CONF, first.batch.id, 10).await.unwrap(), vec![second.batch]);
    assert!(query::list_batches(store, OTHER, 0, 10).await.unwrap().is_empty());
    store.ping().await.unwrap();
    assert_tallies(&db).await;
}

both_backends!(
    tokens_are_found_by_hash_until_revoked,
    idempotent_generation_replays_and_refuses_other_bodies,
    vouchers_change_and_batches_deactivate,
);
