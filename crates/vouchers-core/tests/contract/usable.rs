//! The usable rule decided in Rust (`domain::validity`) and in each backend's SQL (the status
//! filter of the voucher list, and the redemption statement) agree, reason for reason, over a few
//! thousand random voucher states and instants, bounds equal to the instant included.

use std::collections::HashMap;

use chrono::{DateTime, Duration, TimeZone, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rust_decimal::Decimal;
use vouchers_core::domain::{validity, DiscountSpec, ValidityWindow, VoucherStatus, VoucherType};
use vouchers_core::store::testing::TestDb;
use vouchers_core::store::{AuditEntry, NewRedemption, RedeemOutcome, VoucherChange, VoucherFilter, VoucherTemplate};

use crate::support::*;

/// How many random vouchers.
const VOUCHERS: usize = 2_000;

/// The instants the states are built around: every bound is one of them, so a bound equal to
/// the instant of a decision is frequent.
fn instants() -> Vec<DateTime<Utc>> {
    let t0 = Utc.with_ymd_and_hms(2027, 5, 14, 9, 0, 0).unwrap();
    [-2, -1, 0, 1, 2].iter().map(|s| t0 + Duration::seconds(*s)).collect()
}

/// Random vouchers of the main conference: active or not, any uses left (none included), each
/// bound absent or at one of the instants (from never after until).
async fn random_vouchers(db: &TestDb, rng: &mut StdRng) -> Vec<i64> {
    let mut tx = db.store.begin().await.unwrap();
    let conference = tx.conference(CONF).await.unwrap().unwrap();
    let template = VoucherTemplate {
        conference_id: conference.id,
        discount: DiscountSpec::from_stored(VoucherType::Comp, Decimal::ZERO),
        max_uses: 1,
        window: ValidityWindow::new(None, None).unwrap(),
        unlocks_hidden_tickets: false,
        min_quantity: 1,
        min_subtotal: None,
        budget: None,
        once_per_customer: false,
        restriction_set_id: None,
        applies_none: 0,
        batch_id: None,
        created_at: Utc::now(),
        readable: false,
    };
    let codes: Vec<String> = (0..VOUCHERS).map(|i| format!("USABLE-{i:05}")).collect();
    let inserted = tx.insert_vouchers(&template, &codes).await.unwrap();
    assert_eq!(inserted.len(), VOUCHERS);
    let instants = instants();
    let mut usage = Vec::new();
    for (id, _) in &inserted {
        let bound = |rng: &mut StdRng| {
            if rng.random_bool(0.3) {
                None
            } else {
                Some(instants[rng.random_range(0..instants.len())])
            }
        };
        let (mut from, mut until) = (bound(rng), bound(rng));
        if let (Some(f), Some(u)) = (from, until) {
            if u < f {
                (from, until) = (Some(u), Some(f));
            }
        }
        let max_uses = rng.random_range(1..=3);
        let window = ValidityWindow::new(from, until).unwrap();
        let change = VoucherChange { is_active: true, max_uses, window, budget: None };
        tx.update_voucher(*id, &change, Utc::now()).await.unwrap();
        usage.push((*id, rng.random_range(0..=max_uses), rng.random_bool(0.8)));
    }
    tx.set_usage(&usage).await.unwrap();
    tx.commit().await.unwrap();
    inserted.into_iter().map(|(id, _)| id).collect()
}

async fn rust_and_sql_decide_alike(db: TestDb) {
    fixture(&*db.store).await;
    let seed: u64 = rand::random();
    println!("seed {seed}");
    let mut rng = StdRng::seed_from_u64(seed);
    let ids = random_vouchers(&db, &mut rng).await;
    let conference = db.store.conference(CONF).await.unwrap().unwrap();
    let all = db.store.vouchers(&conference, &VoucherFilter::default()).await.unwrap();
    let vouchers: HashMap<i64, _> = all.into_iter().filter(|v| ids.contains(&v.id)).map(|v| (v.id, v)).collect();
    assert_eq!(vouchers.len(), VOUCHERS);

    // The status filter (SQL) against VoucherStatus::of (Rust), at every instant.
    let mut decisions = 0;
    let mut seen = HashMap::new();
    for at in instants() {
        let mut by_sql = HashMap::new();
        for status in VoucherStatus::ALL {
            let filter = VoucherFilter { status: Some((status, at)), ..VoucherFilter::default() };
            for voucher in db.store.vouchers(&conference, &filter).await.unwrap() {
                assert!(by_sql.insert(voucher.id, status).is_none(), "voucher {} has two statuses", voucher.id);
            }
        }
        for (id, voucher) in &vouchers {
            let rust = VoucherStatus::of(voucher, at);
            assert_eq!(by_sql.get(id), Some(&rust), "seed {seed}: {voucher:?} at {at}");
            *seen.entry(rust.as_str()).or_insert(0) += 1;
            decisions += 1;
        }
    }
    assert_eq!(decisions, VOUCHERS * instants().len());
    for status in VoucherStatus::ALL {
        assert!(seen.get(status.as_str()).copied().unwrap_or(0) > 50, "seed {seed}: too few {status:?}: {seen:?}");
    }

    // The redemption statement against validity (Rust): each voucher once, at a random instant.
    let changes = serde_json::json!({});
    for (id, voucher) in &vouchers {
        let at = instants()[rng.random_range(0..instants().len())];
        let order = format!("ORDER-{id}");
        let new = NewRedemption {
            voucher_id: *id,
            order_ref: &order,
            response: "{}",
            now: at,
            audit: AuditEntry {
                at,
                conference_id: Some(conference.id),
                action: "voucher.redeem",
                target: &voucher.code,
                changes: &changes,
            },
            cart_refusal: None,
            event: None,
            discount: vouchers_core::domain::Money::ZERO,
        };
        let outcome = db.store.redeem(&new).await.unwrap();
        let expected = match validity(voucher, at) {
            None => RedeemOutcome::Redeemed,
            Some(reason) => RedeemOutcome::Refused(reason),
        };
        assert_eq!(outcome, expected, "seed {seed}: {voucher:?} at {at}");
    }
    // A refusal consumed nothing; a redemption one use.
    let after = db.store.vouchers(&conference, &VoucherFilter::default()).await.unwrap();
    let redeemed = after.iter().filter(|v| vouchers.get(&v.id).is_some_and(|b| v.times_used == b.times_used + 1));
    let unchanged = after.iter().filter(|v| vouchers.get(&v.id).is_some_and(|b| v.times_used == b.times_used));
    assert_eq!(redeemed.count() + unchanged.count(), VOUCHERS);
    assert_tallies(&db).await;
}

both_backends!(rust_and_sql_decide_alike);
