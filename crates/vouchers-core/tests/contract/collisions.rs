//! Collisions, exhaustion and atomicity, with injected code sources.

use vouchers_core::domain::{Alphabet, CODE_ALPHABET};
use vouchers_core::service::add::add_voucher;
use vouchers_core::service::codegen::{CodeSource, ScriptedCodeSource};
use vouchers_core::service::query;
use vouchers_core::store::testing::TestDb;
use vouchers_core::store::VoucherFilter;
use vouchers_core::{Limits, VoucherError};

use crate::add::request;
use crate::support::*;

const EXHAUSTED: &str = "Failed to generate a unique voucher code with prefix 'SPEAKER-' after 100 attempts";

async fn forced_collisions_resolved(db: TestDb) {
    let store = &*db.store;
    fixture(store).await;
    let raw = Raw::connect(&db).await;
    let taken_upper = add_voucher(store, &request(CONF, "SPEAKER-AAAAAAAA")).await.unwrap();
    let taken_lower = add_voucher(store, &request(CONF, "speaker-bbbbbbbb")).await.unwrap();

    let mut source = ScriptedCodeSource::new(&["AAAAAAAA", "BBBBBBBB", "CCCCCCCC", "DDDDDDDD", "EEEEEEEE"]);
    let out = generate_with_source(store, &Limits::default(), &restricted_config(3), &mut source).await.unwrap();

    // Round 1 draws A, B, C for slots 0-2: A and B (ignoring case) are refused, C is inserted.
    // Round 2 draws D for slot 0 and E for slot 1. The result is in slot order.
    let codes: Vec<&str> = out.vouchers.iter().map(|v| v.code.as_str()).collect();
    assert_eq!(codes, ["SPEAKER-DDDDDDDD", "SPEAKER-EEEEEEEE", "SPEAKER-CCCCCCCC"]);
    assert!(out.vouchers.iter().all(|v| v.batch_id == Some(out.batch.id)));

    // The database lists by id, i.e. insertion order: C first.
    let filter = VoucherFilter { batch_id: Some(out.batch.id), ..Default::default() };
    let listed = query::list_vouchers(store, CONF, &filter).await.unwrap();
    let listed_codes: Vec<&str> = listed.iter().map(|v| v.code.as_str()).collect();
    assert_eq!(listed_codes, ["SPEAKER-CCCCCCCC", "SPEAKER-DDDDDDDD", "SPEAKER-EEEEEEEE"]);
    let mut returned = out.vouchers.clone();
    returned.sort_by_key(|v| v.id);
    assert_eq!(listed, returned, "read back differs from what generate returned");

    // The pre-existing vouchers are untouched.
    assert_eq!(query::show_voucher(store, CONF, "speaker-AAAAAAAA").await.unwrap(), taken_upper);
    assert_eq!(query::show_voucher(store, CONF, "SPEAKER-BBBBBBBB").await.unwrap(), taken_lower);
    let c = raw.counts().await;
    assert_eq!((c.voucher, c.voucher_batch), (5, 1));
}

async fn exhaustion_within_the_batch(db: TestDb) {
    let store = &*db.store;
    fixture(store).await;
    let raw = Raw::connect(&db).await;
    let before = raw.counts().await;

    // Slot 0 takes AAAAAAAA; slot 1 only ever draws it again.
    let mut source = ScriptedCodeSource::new(&["AAAAAAAA"]);
    let err = generate_with_source(store, &Limits::default(), &restricted_config(2), &mut source).await.unwrap_err();
    assert!(matches!(err, VoucherError::CodeSpaceExhausted { attempts: 100, .. }), "{err:?}");
    assert_eq!(err.to_string(), EXHAUSTED);
    assert_eq!(err.field(), Some("prefix"));
    assert_eq!(err.code(), "code_space_exhausted");
    assert_eq!(raw.counts().await, before, "no batch, voucher or restriction set may remain");

    // The database is usable afterwards (the failed transaction released its locks).
    let mut source = ScriptedCodeSource::new(&["AAAAAAAA", "BBBBBBBB"]);
    let out = generate_with_source(store, &Limits::default(), &config(2), &mut source).await.unwrap();
    assert_eq!(out.vouchers.len(), 2);
}

async fn exhaustion_against_the_database(db: TestDb) {
    let store = &*db.store;
    fixture(store).await;
    let raw = Raw::connect(&db).await;
    let taken = add_voucher(store, &request(CONF, "speaker-aaaaaaaa")).await.unwrap();
    let before = raw.counts().await;

    let mut source = ScriptedCodeSource::new(&["AAAAAAAA"]);
    let err = generate_with_source(store, &Limits::default(), &config(1), &mut source).await.unwrap_err();
    assert!(matches!(err, VoucherError::CodeSpaceExhausted { .. }), "{err:?}");
    assert_eq!(err.to_string(), EXHAUSTED);
    assert_eq!(raw.counts().await, before);
    let all = query::list_vouchers(store, CONF, &VoucherFilter::default()).await.unwrap();
    assert_eq!(all, vec![taken]);
}

/// Distinct suffixes (a base-36 counter) until `fail_after` draws, then a failure.
struct FailingSource {
    drawn: u64,
    fail_after: u64,
}

impl CodeSource for FailingSource {
    fn fill_suffix(&mut self, _alphabet: Alphabet, suffix: &mut [u8]) -> Result<(), VoucherError> {
        if self.drawn >= self.fail_after {
            return Err(VoucherError::Random("boom".into()));
        }
        let mut n = self.drawn;
        for slot in suffix.iter_mut().rev() {
            *slot = CODE_ALPHABET[usize::try_from(n % 36).unwrap()];
            n /= 36;
        }
        self.drawn += 1;
        Ok(())
    }
}

async fn failure_after_first_chunk_rolls_back(db: TestDb) {
    let store = &*db.store;
    fixture(store).await;
    let raw = Raw::connect(&db).await;
    let limits = Limits { max_batch: 20_000, ..Limits::default() };
    let before = raw.counts().await;

    // The first chunk of 10,000 is inserted, the second fails half way.
    let mut source = FailingSource { drawn: 0, fail_after: 15_000 };
    let err = generate_with_source(store, &limits, &restricted_config(20_000), &mut source).await.unwrap_err();
    assert!(matches!(err, VoucherError::Random(ref m) if m.to_string() == "boom"), "{err:?}");
    assert_eq!(source.drawn, 15_000);
    assert_eq!(raw.counts().await, before, "a failed batch left rows behind");

    // The same batch without the failure: two chunks, in order, read back identically.
    let mut source = FailingSource { drawn: 0, fail_after: u64::MAX };
    let out = generate_with_source(store, &limits, &restricted_config(20_000), &mut source).await.unwrap();
    assert_eq!(out.vouchers.len(), 20_000);
    assert_eq!(out.vouchers[0].code, "SPEAKER-AAAAAAAA");
    assert_eq!(out.vouchers[1].code, "SPEAKER-AAAAAAAB");
    assert_eq!(out.vouchers[19_999].code, "SPEAKER-AAAAAPPT"); // 19,999 = 15*36^2 + 15*36 + 19
    let filter = VoucherFilter { batch_id: Some(out.batch.id), ..Default::default() };
    let listed = query::list_vouchers(store, CONF, &filter).await.unwrap();
    assert_eq!(listed, out.vouchers);
    let c = raw.counts().await;
    assert_eq!((c.voucher, c.voucher_batch, c.restriction_set), (20_000, 1, 1));
}

/// A large chunk (PostgreSQL first tries a plain INSERT in a savepoint there) whose codes
/// collide with existing ones in the middle: the collision is resolved in the same transaction.
async fn collisions_in_a_large_chunk(db: TestDb) {
    let store = &*db.store;
    fixture(store).await;
    let raw = Raw::connect(&db).await;
    add_voucher(store, &request(CONF, "speaker-mmmmmmmm")).await.unwrap();
    add_voucher(store, &request(CONF, "SPEAKER-ZZZZZZZZ")).await.unwrap();

    // 200 distinct suffixes with the two taken ones at positions 50 and 120, then fresh ones.
    let mut suffixes: Vec<String> = (0..230).map(|i| format!("A{i:07}")).collect();
    suffixes[50] = "MMMMMMMM".to_owned();
    suffixes[120] = "ZZZZZZZZ".to_owned();
    let script: Vec<&str> = suffixes.iter().map(String::as_str).collect();
    let mut source = ScriptedCodeSource::new(&script);
    let out = generate_with_source(store, &Limits::default(), &restricted_config(200), &mut source).await.unwrap();

    assert_eq!(out.vouchers.len(), 200);
    let codes: std::collections::HashSet<String> = out.vouchers.iter().map(|v| v.code.to_ascii_uppercase()).collect();
    assert_eq!(codes.len(), 200);
    assert!(!codes.contains("SPEAKER-MMMMMMMM") && !codes.contains("SPEAKER-ZZZZZZZZ"));
    // The two refused slots got the next two draws.
    assert_eq!(out.vouchers[50].code, "SPEAKER-A0000200");
    assert_eq!(out.vouchers[120].code, "SPEAKER-A0000201");
    assert_eq!(raw.counts().await.voucher, 202);
    let filter = VoucherFilter { batch_id: Some(out.batch.id), ..Default::default() };
    assert_eq!(query::list_vouchers(store, CONF, &filter).await.unwrap().len(), 200);
}

both_backends!(
    forced_collisions_resolved,
    collisions_in_a_large_chunk,
    exhaustion_within_the_batch,
    exhaustion_against_the_database,
    failure_after_first_chunk_rolls_back,
);
