//! Code formats: readable alphabets, lengths, check characters, folded matching and uniqueness,
//! the guessing budget.

use std::sync::Arc;

use tokio::sync::Barrier;
use vouchers_core::domain::{fold_key, Alphabet, CodeFormat, GuessingPolicy, InvalidReason, OrderRef};
use vouchers_core::service::add::add_voucher;
use vouchers_core::service::checkout::{self, usage_report};
use vouchers_core::service::codegen::ScriptedCodeSource;
use vouchers_core::service::query;
use vouchers_core::store::testing::TestDb;
use vouchers_core::{generate_voucher_codes, now, Limits, VoucherBulkConfig, VoucherError};

use crate::add::request;
use crate::support::*;

fn readable_config(prefix: &str, count: i64, length: i64) -> VoucherBulkConfig {
    let mut config = config(count);
    config.prefix = prefix.to_owned();
    config.alphabet = Alphabet::Readable;
    config.length = length;
    config.check_char = true;
    config
}

/// How a person might type `code`: lower case, `O` for `0`, `l` and `I` for `1`, grouped by
/// fours with spaces and hyphens.
fn garbled(code: &str) -> String {
    let mut out = String::new();
    for (i, c) in code.chars().enumerate() {
        if i > 0 && i % 4 == 0 {
            out.push(if i % 8 == 0 { ' ' } else { '-' });
        }
        out.push(match (c, i % 2) {
            ('0', _) => 'O',
            ('1', 0) => 'l',
            ('1', _) => 'I',
            (c, _) => c.to_ascii_lowercase(),
        });
    }
    out
}

/// The code with its last character (the check) replaced by another symbol of the alphabet.
fn wrong_check(code: &str, alphabet: Alphabet) -> String {
    let last = *code.as_bytes().last().unwrap();
    let other = alphabet.symbols().iter().copied().find(|b| *b != last).unwrap();
    format!("{}{}", &code[..code.len() - 1], char::from(other))
}

async fn readable_codes_match_however_typed(db: TestDb) {
    let store = &*db.store;
    fixture(store).await;
    let out = generate_voucher_codes(store, &Limits::default(), &readable_config("SPONSOR-", 20, 10)).await.unwrap();
    assert_eq!(
        (out.batch.alphabet, out.batch.length, out.batch.check_char),
        (Alphabet::Readable, 10, true),
        "the format is part of the batch"
    );
    let stored = query::batch(store, CONF, out.batch.id).await.unwrap().unwrap();
    assert_eq!(stored.format(), CodeFormat { alphabet: Alphabet::Readable, length: 10, check_char: true });
    for v in &out.vouchers {
        let suffix = v.code.strip_prefix("SPONSOR-").unwrap();
        assert_eq!(suffix.len(), 11, "{}", v.code);
        assert!(suffix.bytes().all(|b| Alphabet::Readable.symbols().contains(&b)), "{}", v.code);
        assert!(!stored.format().mistyped("SPONSOR-", &v.code), "{} fails its own check", v.code);
    }
    // Find codes with a 0 or a 1 after the prefix, so the look-alikes are exercised.
    let voucher = out.vouchers.iter().find(|v| v.code[8..].contains(['0', '1'])).unwrap_or(&out.vouchers[0]).clone();
    let typed = garbled(&voucher.code);
    assert_ne!(typed.to_ascii_uppercase(), voucher.code);
    assert_eq!(fold_key(&typed), fold_key(&voucher.code));

    // show, check, redeem and release all find it as typed.
    assert_eq!(query::show_voucher(store, CONF, &typed).await.unwrap().id, voucher.id);
    let checked = checkout::check_voucher(store, CONF, &typed, &[], now()).await.unwrap();
    assert!(checked.valid, "{typed}: {:?}", checked.reason);
    assert_eq!(checked.voucher.unwrap().id, voucher.id);
    let order = OrderRef::parse("order-1").unwrap();
    let redeemed =
        checkout::redeem_voucher(store, CONF, &typed, &order, None, &Default::default(), now()).await.unwrap();
    assert_eq!((redeemed.answer.voucher.id, redeemed.answer.voucher.times_used), (voucher.id, 1));
    let released = checkout::release_voucher(
        store,
        CONF,
        &typed.to_uppercase(),
        &checkout::Releasing::Order(order.clone()),
        now(),
    )
    .await
    .unwrap();
    assert!(released.released);
    assert_eq!(released.voucher.times_used, 0);
}

async fn a_wrong_check_character_is_mistyped(db: TestDb) {
    let store = &*db.store;
    fixture(store).await;
    let readable = generate_voucher_codes(store, &Limits::default(), &readable_config("RD-", 5, 10)).await.unwrap();
    let mut seed_config = config(5);
    seed_config.prefix = "SD-".to_owned();
    seed_config.check_char = true;
    let seed = generate_voucher_codes(store, &Limits::default(), &seed_config).await.unwrap();
    let raw = Raw::connect(&db).await;
    let before = raw.counts().await;

    for (code, alphabet) in
        [(&readable.vouchers[0].code, Alphabet::Readable), (&seed.vouchers[0].code, Alphabet::Alnum)]
    {
        let typo = wrong_check(code, alphabet);
        let checked = checkout::check_voucher(store, CONF, &typo, &[], now()).await.unwrap();
        assert_eq!((checked.valid, checked.reason), (false, Some(InvalidReason::Mistyped)), "{typo}");
        assert!(checked.voucher.is_none(), "a mistyped code shows no voucher");
        let order = OrderRef::parse("order-typo").unwrap();
        let err =
            checkout::redeem_voucher(store, CONF, &typo, &order, None, &Default::default(), now()).await.unwrap_err();
        assert!(matches!(err, VoucherError::Mistyped { .. }), "{err:?}");
        assert_eq!((err.code(), err.field()), ("mistyped", Some("code")));
        assert!(err.to_string().ends_with("looks mistyped: check the code for a typo"), "{err}");
        let err = checkout::release_voucher(store, CONF, &typo, &checkout::Releasing::Order(order.clone()), now())
            .await
            .unwrap_err();
        assert!(matches!(err, VoucherError::Mistyped { .. }), "{err:?}");
        // Two adjacent random characters swapped: a typo too (when they differ).
        let mut swapped = code.clone().into_bytes();
        let at = swapped.len() - 3;
        if swapped[at] != swapped[at + 1] {
            swapped.swap(at, at + 1);
            let swapped = String::from_utf8(swapped).unwrap();
            let checked = checkout::check_voucher(store, CONF, &swapped, &[], now()).await.unwrap();
            assert_eq!(checked.reason, Some(InvalidReason::Mistyped), "{swapped}");
        }
        // Not the shape of any check batch (one character short): not found.
        let short = &code[..code.len() - 1];
        let checked = checkout::check_voucher(store, CONF, short, &[], now()).await.unwrap();
        assert_eq!(checked.reason, Some(InvalidReason::NotFound), "{short}");
        // The real code is still found.
        assert!(checkout::check_voucher(store, CONF, code, &[], now()).await.unwrap().valid);
    }
    // The other conference has no check batch: the same text is just unknown there.
    let typo = wrong_check(&readable.vouchers[0].code, Alphabet::Readable);
    let checked = checkout::check_voucher(store, OTHER, &typo, &[], now()).await.unwrap();
    assert_eq!(checked.reason, Some(InvalidReason::NotFound));
    assert_eq!(raw.counts().await, before, "a mistyped lookup writes nothing");
}

async fn alnum_codes_keep_exact_matching(db: TestDb) {
    let store = &*db.store;
    fixture(store).await;
    // Two alnum codes that fold the same may both exist, and each is found only as itself.
    let a = add_voucher(store, &request(CONF, "SPONSOR-B")).await.unwrap();
    let b = add_voucher(store, &request(CONF, "SP0NSOR-B")).await.unwrap();
    assert_eq!(query::show_voucher(store, CONF, "sponsor-b").await.unwrap().id, a.id);
    assert_eq!(query::show_voucher(store, CONF, "SP0NSOR-B").await.unwrap().id, b.id);
    let err = query::show_voucher(store, CONF, "SPONSORB").await.unwrap_err();
    assert!(matches!(err, VoucherError::VoucherNotFound { .. }), "{err:?}");
    let checked = checkout::check_voucher(store, CONF, "SP0NS0R-B", &[], now()).await.unwrap();
    assert_eq!(checked.reason, Some(InvalidReason::NotFound), "alnum codes are not folded");
    // A generated alnum batch: an O typed for a 0 does not match.
    let out = generate_voucher_codes(store, &Limits::default(), &config(50)).await.unwrap();
    assert_eq!((out.batch.alphabet, out.batch.length, out.batch.check_char), (Alphabet::Alnum, 8, false));
    let with_zero = out.vouchers.iter().find(|v| v.code.contains('0'));
    if let Some(v) = with_zero {
        let typed = v.code.replace('0', "O");
        if typed != v.code && !out.vouchers.iter().any(|o| o.code == typed) {
            let checked = checkout::check_voucher(store, CONF, &typed, &[], now()).await.unwrap();
            assert_eq!(checked.reason, Some(InvalidReason::NotFound), "{typed}");
        }
    }
}

async fn folded_keys_are_unique_when_either_is_readable(db: TestDb) {
    let store = &*db.store;
    fixture(store).await;
    let raw = Raw::connect(&db).await;
    let mut readable = request(CONF, "SPONSOR-A");
    readable.alphabet = Alphabet::Readable;
    let first = add_voucher(store, &readable).await.unwrap();
    let before = raw.counts().await;
    for (code, alphabet) in [
        ("SP0NSOR-A", Alphabet::Alnum),
        ("sp0ns0r-a", Alphabet::Readable),
        ("SPONSORA", Alphabet::Readable),
        ("SPONS0R-A", Alphabet::Alnum),
    ] {
        let mut again = request(CONF, code);
        again.alphabet = alphabet;
        let err = add_voucher(store, &again).await.unwrap_err();
        assert!(matches!(err, VoucherError::Duplicate { .. }), "{code}: {err:?}");
        assert_eq!(err.field(), Some("code"));
        assert!(err.to_string().contains("O/0 and I/L/1"), "{err}");
        assert_eq!(raw.counts().await, before, "{code}: the refused add wrote something");
    }
    // An alnum code first, then a readable one that folds the same: refused too.
    add_voucher(store, &request(CONF, "SPEAKER-L1")).await.unwrap();
    let mut late = request(CONF, "SPEAKER-11");
    late.alphabet = Alphabet::Readable;
    assert!(matches!(add_voucher(store, &late).await.unwrap_err(), VoucherError::Duplicate { .. }));
    // Same text in the other conference: fine.
    let mut elsewhere = request(OTHER, "SP0NSOR-A");
    elsewhere.alphabet = Alphabet::Readable;
    add_voucher(store, &elsewhere).await.unwrap();
    // The readable code is found by any spelling that folds to it.
    assert_eq!(query::show_voucher(store, CONF, "sp0ns0r a").await.unwrap().id, first.id);

    // A generated readable code that would fold onto an existing alnum code is drawn again.
    add_voucher(store, &request(CONF, "rd-OOOOOOOO")).await.unwrap();
    let mut source = ScriptedCodeSource::new(&["00000000", "11111111"]);
    let mut config = readable_config("RD-", 1, 8);
    config.check_char = false;
    let out = generate_with_source(store, &Limits::default(), &config, &mut source).await.unwrap();
    assert_eq!(out.vouchers[0].code, "RD-11111111");
}

async fn concurrent_adds_that_fold_the_same(db: TestDb) {
    fixture(&*db.store).await;
    let raw = Raw::connect(&db).await;
    let before = raw.count("voucher").await;
    let barrier = Arc::new(Barrier::new(8));
    // Four readable and four alnum spellings of one folded key, all at once.
    let spellings = ["PROMO-01", "promo-o1", "PROMO-OI", "Promo-0l", "PR0M0-01", "PROMO01", "promo-01", "PROMO-0L"];
    let tasks: Vec<_> = spellings
        .iter()
        .enumerate()
        .map(|(i, code)| {
            let store = Arc::clone(&db.store);
            let barrier = Arc::clone(&barrier);
            let mut add = request(CONF, code);
            add.alphabet = if i % 2 == 0 { Alphabet::Readable } else { Alphabet::Alnum };
            tokio::spawn(async move {
                barrier.wait().await;
                add_voucher(&*store, &add).await.map(|v| (v.code, i % 2 == 0))
            })
        })
        .collect();
    let mut created = Vec::new();
    for task in tasks {
        match task.await.unwrap() {
            Ok(code) => created.push(code),
            Err(VoucherError::Duplicate { .. }) => {}
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    // Either one readable code alone, or only alnum codes (distinct ignoring case).
    let readable = created.iter().filter(|(_, r)| *r).count();
    assert!(readable == 0 || created.len() == 1, "created {created:?}");
    assert!(!created.is_empty());
    assert_eq!(raw.count("voucher").await, before + created.len() as i64);
    let keys: std::collections::HashSet<String> = created.iter().map(|(c, _)| c.to_ascii_uppercase()).collect();
    assert_eq!(keys.len(), created.len(), "two alnum codes equal ignoring case: {created:?}");
}

async fn weak_batches_are_refused_unless_allowed(db: TestDb) {
    let store = &*db.store;
    fixture(store).await;
    let raw = Raw::connect(&db).await;
    let before = raw.counts().await;
    // 32^6 codes, 500 of them, 100 failed lookups a minute (the token-wide ceiling): about 15
    // days, under a year.
    let weak = readable_config("W-", 500, 6);
    let err = generate_voucher_codes(store, &Limits::default(), &weak).await.unwrap_err();
    assert!(matches!(err, VoucherError::WeakCodes { .. }), "{err:?}");
    assert_eq!((err.code(), err.field()), ("weak_codes", Some("length")));
    assert_eq!(
        err.to_string(),
        "these codes could be guessed in 15 days by an attacker at the token-wide ceiling of 100 failed lookups per \
         minute, under the floor of 365 days; to make them safe use longer codes (length 7 or more), or a smaller \
         batch (at most 20 codes), or allow weak codes (allow_weak_codes, --allow-weak-codes)"
    );
    assert_eq!(raw.counts().await, before, "a refused batch writes nothing");

    // The advice holds: 20 codes pass, and then a second batch of the same format and prefix
    // counts the first one's codes.
    let ok = generate_voucher_codes(store, &Limits::default(), &readable_config("W-", 20, 6)).await.unwrap();
    let g = ok.guessing.clone().unwrap();
    assert_eq!((g.active_codes, g.weak, g.failed_lookups_per_minute), (20, false, 100));
    assert!((g.chance_per_guess - 20.0 / 32f64.powi(6)).abs() < 1e-15);
    let err = generate_voucher_codes(store, &Limits::default(), &readable_config("w-", 1, 6)).await.unwrap_err();
    assert!(matches!(err, VoucherError::WeakCodes { .. }), "the prefix compares as the alphabet does: {err:?}");
    // Another prefix is another code space.
    generate_voucher_codes(store, &Limits::default(), &readable_config("X-", 1, 6)).await.unwrap();

    let mut allowed = weak.clone();
    allowed.allow_weak_codes = true;
    let out = generate_voucher_codes(store, &Limits::default(), &allowed).await.unwrap();
    let g = out.guessing.unwrap();
    assert!(g.weak);
    assert_eq!(g.active_codes, 520);

    // A stricter floor refuses the alnum default at a large count.
    let strict = Limits {
        guessing: GuessingPolicy { token_failed_lookups_per_minute: 1_000_000, ..GuessingPolicy::default() },
        ..Limits::default()
    };
    let err = generate_voucher_codes(store, &strict, &config(500)).await.unwrap_err();
    assert!(matches!(err, VoucherError::WeakCodes { .. }), "{err:?}");

    // The usage report gives each batch its format and its figure now.
    let report = usage_report(store, CONF, &GuessingPolicy::default()).await.unwrap();
    let of = |id: i64| report.batches.iter().find(|b| b.batch_id == Some(id)).unwrap();
    let first = of(ok.batch.id);
    assert_eq!(first.format, Some(CodeFormat { alphabet: Alphabet::Readable, length: 6, check_char: true }));
    let figure = first.guessing.as_ref().unwrap();
    assert_eq!(figure.active_codes, 520, "both W- batches");
    assert!(figure.weak);
}

both_backends!(
    readable_codes_match_however_typed,
    a_wrong_check_character_is_mistyped,
    alnum_codes_keep_exact_matching,
    folded_keys_are_unique_when_either_is_readable,
    concurrent_adds_that_fold_the_same,
    weak_batches_are_refused_unless_allowed,
);
