//! Check, redeem, release and usage over HTTP, and the guessing limit.

use axum::http::StatusCode;
use serde_json::{json, Value};

use crate::support::*;

/// A voucher with `max_uses` uses, 50 % off, unlocking the hidden `student` ticket type.
async fn student_code(app: &TestApp, code: &str, max_uses: i64) {
    let body = json!({"code": code, "voucher_type": "percentage", "discount_value": "50", "max_uses": max_uses,
                      "unlocks_hidden_tickets": true, "applicable_ticket_types": ["student"]});
    app.post_vouchers(&app.manage, CONF, &body).await.ok(StatusCode::CREATED);
}

async fn check_redeem_release_and_usage(app: TestApp) {
    student_code(&app, "STUDENT-1", 1).await;
    let cart = json!([{"ticket_type": "student"}, {"addon": "tshirt", "quantity": 2}]);

    let check = app.post_vouchers_check(&app.checkout, CONF, &json!({"code": " student-1 ", "lines": cart})).await;
    let check = check.ok(StatusCode::OK);
    assert_eq!((check["valid"].as_bool(), check["reason"].clone()), (Some(true), Value::Null));
    assert_eq!(check["voucher"]["code"], "STUDENT-1");
    assert_eq!(check["unlocked_ticket_types"], json!(["student"]));
    // student 100.00 at 50 %, two T-shirts at 25.00 (the add-on set is empty: all add-ons).
    assert_eq!(check["pricing"]["subtotal"], "150.00");
    assert_eq!(check["pricing"]["discount"], "75.00");
    assert_eq!(check["pricing"]["total"], "75.00");
    assert_eq!(
        check["pricing"]["lines"][1],
        json!({"addon": "tshirt", "quantity": 2, "unit_price": "25.00",
        "line_total": "50.00", "discount": "25.00", "total": "25.00"})
    );

    let missing = app.post_vouchers_check(&app.checkout, CONF, &json!({"code": "NOPE"})).await.ok(StatusCode::OK);
    assert_eq!(
        missing,
        json!({"valid": false, "reason": "not_found", "message": "no voucher with this code", "voucher": null,
        "unlocked_ticket_types": [],
        "pricing": {"lines": [], "subtotal": "0.00", "discount": "0.00", "total": "0.00", "budget_capped": false}})
    );

    // A cart the code applies to nothing in: not valid, and a redemption is refused and uses
    // nothing (the first real redemption below is still the first use).
    let individual = json!([{"ticket_type": "individual"}]);
    let body = json!({"code": "STUDENT-1", "lines": individual});
    let nothing = app.post_vouchers_check(&app.checkout, CONF, &body).await.ok(StatusCode::OK);
    assert_eq!((nothing["valid"].as_bool(), nothing["reason"].as_str()), (Some(false), Some("not_applicable")));
    let body = json!({"code": "STUDENT-1", "order_ref": "ORDER-0", "lines": individual});
    let refused = app.post_vouchers_redeem(&app.checkout, CONF, &body).await.error(StatusCode::CONFLICT);
    assert_eq!(refused["code"], "not_applicable");

    let redeem = |order: &'static str| {
        let body = json!({"code": "student-1", "order_ref": order, "lines": [{"ticket_type": "student"}]});
        let app = &app;
        async move { app.post_vouchers_redeem(&app.checkout, CONF, &body).await }
    };
    let first = redeem("ORDER-1").await.ok(StatusCode::OK);
    assert_eq!((first["redeemed"].as_bool(), first["order_ref"].as_str()), (Some(true), Some("ORDER-1")));
    assert_eq!(first["voucher"]["times_used"], 1);
    assert_eq!(first["pricing"]["total"], "50.00");
    assert_eq!(redeem("ORDER-1").await.ok(StatusCode::OK), first, "a retry replays the first answer");
    let refused = redeem("ORDER-2").await.error(StatusCode::CONFLICT);
    assert_eq!(refused["code"], "used_up");

    let release = |order: &'static str| {
        let app = &app;
        async move {
            app.post_vouchers_release(&app.checkout, CONF, &json!({"code": "STUDENT-1", "order_ref": order})).await
        }
    };
    let released = release("ORDER-1").await.ok(StatusCode::OK);
    assert_eq!((released["released"].as_bool(), released["voucher"]["times_used"].as_i64()), (Some(true), Some(0)));
    assert_eq!(release("ORDER-1").await.ok(StatusCode::OK)["released"], false);
    assert_eq!(redeem("ORDER-2").await.ok(StatusCode::OK)["voucher"]["times_used"], 1);

    let usage = app.get_usage(&app.manage, CONF).await.ok(StatusCode::OK);
    assert_eq!(
        usage["total"],
        json!({"issued": 1, "active": 1, "fully_used": 1, "uses_consumed": 1, "uses_left": 0, "uses_held": 0})
    );
    assert_eq!(usage["batches"][0]["batch_id"], Value::Null);

    // Refusals say why; unknown codes are 404; bad lines name the field.
    app.patch_voucher(&app.manage, CONF, "STUDENT-1", &json!({"is_active": false})).await.ok(StatusCode::OK);
    let body = json!({"code": "STUDENT-1", "order_ref": "ORDER-3"});
    assert_eq!(
        app.post_vouchers_redeem(&app.checkout, CONF, &body).await.error(StatusCode::CONFLICT)["code"],
        "inactive"
    );
    let body = json!({"code": "NOPE", "order_ref": "ORDER-3"});
    assert_eq!(
        app.post_vouchers_redeem(&app.checkout, CONF, &body).await.error(StatusCode::NOT_FOUND)["code"],
        "not_found"
    );
    let body = json!({"code": "STUDENT-1", "lines": [{"ticket_type": "student", "addon": "tshirt"}]});
    let error = app.post_vouchers_check(&app.checkout, CONF, &body).await.error(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error["field"], "lines[0]");
    // An unknown ticket type or add-on is the same error as in /vouchers/bulk, on every route.
    for (line, code) in
        [(json!({"ticket_type": "nope"}), "unknown_ticket_type"), (json!({"addon": "nope"}), "unknown_addon")]
    {
        let body = json!({"code": "STUDENT-1", "lines": [line]});
        let error = app.post_vouchers_check(&app.checkout, CONF, &body).await.error(StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!((error["field"].as_str(), error["code"].as_str()), (Some("lines"), Some(code)));
        let body = json!({"code": "STUDENT-1", "order_ref": "ORDER-9", "lines": [line]});
        let error = app.post_vouchers_redeem(&app.checkout, CONF, &body).await.error(StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(error["code"], code);
    }
}

async fn minimums_say_what_is_missing(app: TestApp) {
    // Minimums, set like the other terms: a cart below one says what is missing and uses nothing.
    let body = json!({"code": "GROUP-1", "voucher_type": "percentage", "discount_value": "10",
                      "applicable_ticket_types": ["individual"], "min_quantity": 3, "min_subtotal": "1500.00"});
    let group = app.post_vouchers(&app.manage, CONF, &body).await.ok(StatusCode::CREATED);
    assert_eq!((group["min_quantity"].as_i64(), group["min_subtotal"].as_str()), (Some(3), Some("1500.00")));
    let body = json!({"code": "GROUP-1", "lines": [{"ticket_type": "individual", "quantity": 2}]});
    let below = app.post_vouchers_check(&app.checkout, CONF, &body).await.ok(StatusCode::OK);
    assert_eq!((below["valid"].as_bool(), below["reason"].as_str()), (Some(false), Some("below_minimum")));
    assert_eq!(below["message"], "add 1 more qualifying item to use this code (it needs 3)");
    let body =
        json!({"code": "GROUP-1", "order_ref": "ORDER-G", "lines": [{"ticket_type": "individual", "quantity": 3}]});
    let refused = app.post_vouchers_redeem(&app.checkout, CONF, &body).await.error(StatusCode::CONFLICT);
    assert_eq!(refused["code"], "below_minimum");
    assert!(refused["message"].as_str().unwrap().contains("qualifying subtotal 1200.00 is below the minimum 1500.00"));
    let body =
        json!({"code": "GROUP-1", "order_ref": "ORDER-G", "lines": [{"ticket_type": "individual", "quantity": 4}]});
    let redeemed = app.post_vouchers_redeem(&app.checkout, CONF, &body).await.ok(StatusCode::OK);
    assert_eq!(
        (redeemed["voucher"]["times_used"].as_i64(), redeemed["pricing"]["discount"].as_str()),
        (Some(1), Some("160.00"))
    );
}

async fn unknown_codes_are_rate_limited_per_caller(app: TestApp) {
    student_code(&app, "STUDENT-2", 5).await;
    for i in 0..10 {
        let body = json!({"code": format!("GUESS-{i}")});
        let r = app.post_vouchers_check(&app.checkout, CONF, &body).await.ok(StatusCode::OK);
        assert_eq!(r["reason"], "not_found");
    }
    // The 11th request from this token and address is refused, whatever the code.
    let limited = app.post_vouchers_check(&app.checkout, CONF, &json!({"code": "GUESS-10"})).await;
    assert_eq!(limited.error(StatusCode::TOO_MANY_REQUESTS)["code"], "rate_limited");
    let retry_after: u64 = limited.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    let body = json!({"code": "STUDENT-2", "order_ref": "o-1"});
    app.post_vouchers_redeem(&app.checkout, CONF, &body).await.error(StatusCode::TOO_MANY_REQUESTS);
    // Someone else's bad guesses never refuse a valid code: another token is unaffected.
    let other = app.post_vouchers_check(&app.manage, CONF, &json!({"code": "student-2"})).await.ok(StatusCode::OK);
    assert_eq!(other["valid"], true);
    // Valid lookups do not count.
    for _ in 0..15 {
        app.post_vouchers_check(&app.manage, CONF, &json!({"code": "STUDENT-2"})).await.ok(StatusCode::OK);
    }
    // The refusal comes before anything is read (so its timing cannot tell whether a code
    // exists): with the database gone, the refused caller still gets 429, another caller 503.
    app.db.store.close().await;
    let body = json!({"code": "STUDENT-2"});
    app.post_vouchers_check(&app.checkout, CONF, &body).await.error(StatusCode::TOO_MANY_REQUESTS);
    app.post_vouchers_check(&app.manage, CONF, &body).await.error(StatusCode::SERVICE_UNAVAILABLE);
}

/// The last character of `code` replaced by another symbol that both alphabets have.
fn wrong_check(code: &str) -> String {
    let other = if code.ends_with('7') { '8' } else { '7' };
    format!("{}{other}", &code[..code.len() - 1])
}

async fn readable_codes_mistyped_answers_and_the_guessing_figure(app: TestApp) {
    let body = json!({"prefix": "SPONSOR-", "count": 5, "voucher_type": "comp", "alphabet": "readable",
                      "length": 10, "check_char": true});
    let made = app.post_vouchers_bulk(&app.manage, CONF, &body, None).await.ok(StatusCode::CREATED);
    assert_eq!(
        (made["batch"]["alphabet"].clone(), made["batch"]["length"].clone(), made["batch"]["check_char"].clone()),
        (json!("readable"), json!(10), json!(true))
    );
    let g = &made["guessing"];
    assert_eq!(
        (g["active_codes"].clone(), g["failed_lookups_per_minute"].clone(), g["weak"].clone()),
        (json!(5), json!(100), json!(false))
    );
    assert!(g["chance_per_guess"].as_f64().unwrap() > 0.0 && g["expected_seconds"].as_f64().unwrap() > 1e10);
    let text = g["text"].as_str().unwrap();
    assert!(text.starts_with("one guesser would need about ") && text.contains("one of the 5 active codes"), "{text}");
    let code = made["vouchers"][0]["code"].as_str().unwrap().to_owned();

    // Typed in lower case with O for 0 and spaces: the same voucher.
    let typed = code.to_lowercase().replace('0', "o").replacen('-', " ", 1);
    let found = app.post_vouchers_check(&app.checkout, CONF, &json!({"code": typed})).await.ok(StatusCode::OK);
    assert_eq!((found["valid"].clone(), found["voucher"]["code"].clone()), (json!(true), json!(code)));
    let typed = code.replacen('-', "--", 1);
    let path_code = typed.replace(' ', "%20");
    assert_eq!(app.get_voucher(&app.manage, CONF, &path_code).await.ok(StatusCode::OK)["code"], json!(code));

    // A wrong check character: `mistyped` at check, 404 `mistyped` at redeem and release.
    let typo = wrong_check(&code);
    let r = app.post_vouchers_check(&app.checkout, CONF, &json!({"code": typo})).await.ok(StatusCode::OK);
    assert_eq!(
        (r["valid"].clone(), r["reason"].clone(), r["voucher"].clone()),
        (json!(false), json!("mistyped"), Value::Null)
    );
    let body = json!({"code": typo, "order_ref": "o-typo"});
    let e = app.post_vouchers_redeem(&app.checkout, CONF, &body).await.error(StatusCode::NOT_FOUND);
    assert_eq!((e["code"].clone(), e["field"].clone()), (json!("mistyped"), json!("code")));
    assert!(e["message"].as_str().unwrap().ends_with("check the code for a typo"), "{e}");
    app.post_vouchers_release(&app.checkout, CONF, &body).await.error(StatusCode::NOT_FOUND);
    // Mistyped answers count against the guessing limit like unknown codes: 3 so far, 7 more,
    // then 429.
    for _ in 0..7 {
        let r = app.post_vouchers_check(&app.checkout, CONF, &json!({"code": typo})).await.ok(StatusCode::OK);
        assert_eq!(r["reason"], "mistyped");
    }
    let limited = app.post_vouchers_check(&app.checkout, CONF, &json!({"code": code})).await;
    assert_eq!(limited.error(StatusCode::TOO_MANY_REQUESTS)["code"], "rate_limited");

    // Too guessable: 422 weak_codes naming the length, nothing written; allowed when asked.
    let weak = json!({"prefix": "W-", "count": 500, "voucher_type": "comp", "alphabet": "readable", "length": 6});
    let e = app.post_vouchers_bulk(&app.manage, CONF, &weak, None).await.error(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!((e["code"].clone(), e["field"].clone()), (json!("weak_codes"), json!("length")));
    assert!(e["message"].as_str().unwrap().contains("at most 20 codes"), "{e}");
    let mut allowed = weak.clone();
    allowed["allow_weak_codes"] = json!(true);
    let made = app.post_vouchers_bulk(&app.manage, CONF, &allowed, None).await.ok(StatusCode::CREATED);
    assert_eq!(made["guessing"]["weak"], json!(true));
    let bad = json!({"prefix": "B-", "count": 1, "voucher_type": "comp", "alphabet": "base64"});
    let e = app.post_vouchers_bulk(&app.manage, CONF, &bad, None).await.error(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(e["message"].as_str().unwrap().contains("alphabet"), "{e}");
    let bad = json!({"prefix": "B-", "count": 1, "voucher_type": "comp", "length": 5});
    let e = app.post_vouchers_bulk(&app.manage, CONF, &bad, None).await.error(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        (e["field"].clone(), e["message"].clone()),
        (json!("length"), json!("length must be between 6 and 32, got 5"))
    );

    // The usage report: each batch's format and figure.
    let usage = app.get_usage(&app.manage, CONF).await.ok(StatusCode::OK);
    let first = &usage["batches"].as_array().unwrap()[0];
    assert_eq!(first["format"], json!({"alphabet": "readable", "length": 10, "check_char": true}));
    assert_eq!(first["guessing"]["active_codes"], json!(5));
}

/// Holds over HTTP: a live hold takes the last use (409 `held` with Retry-After), the same cart
/// answers the same hold, extend and release by cart, the conference's hold time, and the
/// customer a once-per-customer code needs.
async fn holds_budget_and_customers(app: TestApp) {
    let hold_uri = format!("/api/v1/conferences/{CONF}/vouchers/hold");
    // The conference's hold time: 1800 unless changed; PATCH changes it.
    let conf_uri = format!("/api/v1/conferences/{CONF}");
    let conference = app.send(axum::http::Method::GET, &conf_uri, Some(&app.manage), None, &[]).await;
    assert_eq!(conference.ok(StatusCode::OK)["hold_seconds"], 1800);
    let patch = |seconds: i64| {
        let body = axum::body::Body::from(json!({"hold_seconds": seconds}).to_string());
        let (app, uri) = (&app, &conf_uri);
        async move { app.send(axum::http::Method::PATCH, uri, Some(&app.manage), Some(body), &[]).await }
    };
    assert_eq!(patch(0).await.error(StatusCode::UNPROCESSABLE_ENTITY)["field"], "hold_seconds");
    assert_eq!(patch(120).await.ok(StatusCode::OK)["hold_seconds"], 120);

    student_code(&app, "HOLD-1", 1).await;
    let body = json!({"code": "hold-1", "cart_ref": "CART-1", "lines": [{"ticket_type": "student"}]});
    let held = app.post(&hold_uri, &app.checkout, &body).await.ok(StatusCode::OK);
    assert_eq!((held["held"].as_bool(), held["cart_ref"].as_str()), (Some(true), Some("CART-1")));
    assert_eq!((held["voucher"]["uses_held"].as_i64(), held["pricing"]["discount"].as_str()), (Some(1), Some("50.00")));
    let expires = chrono::DateTime::parse_from_rfc3339(held["expires_at"].as_str().unwrap()).unwrap();
    let left = expires.signed_duration_since(chrono::Utc::now()).num_seconds();
    assert!((110..=120).contains(&left), "the conference's 120 s: {left}");
    let again = app.post(&hold_uri, &app.checkout, &body).await.ok(StatusCode::OK);
    assert_eq!(again["expires_at"], held["expires_at"], "a repeat never moves the end");

    // Another cart, and a plain redemption, find the use held.
    let other = json!({"code": "HOLD-1", "cart_ref": "CART-2", "ttl_seconds": 60});
    let refused = app.post(&hold_uri, &app.checkout, &other).await;
    let retry = refused.headers.get("retry-after").and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<i64>().ok());
    let error = refused.error(StatusCode::CONFLICT);
    assert_eq!(error["code"], "held");
    assert!(matches!(error["retry_after_seconds"].as_i64(), Some(110..=120)), "{error}");
    assert_eq!(retry, error["retry_after_seconds"].as_i64());
    let plain = json!({"code": "HOLD-1", "order_ref": "ORDER-9"});
    assert_eq!(app.post_vouchers_redeem(&app.checkout, CONF, &plain).await.error(StatusCode::CONFLICT)["code"], "held");

    // Bad input names its field.
    for (body, field) in [
        (json!({"code": "HOLD-1", "cart_ref": ""}), "cart_ref"),
        (json!({"code": "HOLD-1", "cart_ref": "C", "ttl_seconds": 604801}), "ttl_seconds"),
        (json!({"code": "HOLD-1", "cart_ref": "C", "customer_email": "nope"}), "customer_email"),
    ] {
        let error = app.post(&hold_uri, &app.checkout, &body).await.error(StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(error["field"], field, "{body}");
    }

    // Extend, then convert with the cart; a cart with no live hold has nothing to extend.
    let extend_uri = format!("{hold_uri}/extend");
    let body = json!({"code": "HOLD-1", "cart_ref": "CART-1", "ttl_seconds": 600});
    let extended = app.post(&extend_uri, &app.checkout, &body).await.ok(StatusCode::OK);
    assert_ne!(extended["expires_at"], held["expires_at"]);
    let body = json!({"code": "HOLD-1", "cart_ref": "CART-2", "ttl_seconds": 600});
    assert_eq!(
        app.post(&extend_uri, &app.checkout, &body).await.error(StatusCode::NOT_FOUND)["code"],
        "hold_not_found"
    );
    let convert = json!({"code": "HOLD-1", "order_ref": "ORDER-1", "cart_ref": "CART-1"});
    let redeemed = app.post_vouchers_redeem(&app.checkout, CONF, &convert).await.ok(StatusCode::OK);
    assert_eq!(
        (redeemed["voucher"]["times_used"].as_i64(), redeemed["voucher"]["uses_held"].as_i64()),
        (Some(1), Some(0))
    );

    // Release by cart drops a hold; exactly one of order_ref and cart_ref.
    student_code(&app, "HOLD-2", 1).await;
    app.post(&hold_uri, &app.checkout, &json!({"code": "HOLD-2", "cart_ref": "CART-3"})).await.ok(StatusCode::OK);
    let release_uri = format!("/api/v1/conferences/{CONF}/vouchers/release");
    let body = json!({"code": "HOLD-2", "cart_ref": "CART-3"});
    let released = app.post(&release_uri, &app.checkout, &body).await.ok(StatusCode::OK);
    assert_eq!((released["released"].as_bool(), released["voucher"]["uses_held"].as_i64()), (Some(true), Some(0)));
    let both = json!({"code": "HOLD-2", "cart_ref": "CART-3", "order_ref": "O"});
    app.post(&release_uri, &app.checkout, &both).await.error(StatusCode::UNPROCESSABLE_ENTITY);

    // A once-per-customer code with a budget: the customer is required; the budget caps.
    let body = json!({"code": "ONCE-1", "voucher_type": "fixed_amount", "discount_value": "80.00", "max_uses": 5,
                      "budget": "100.00", "once_per_customer": true});
    let added = app.post_vouchers(&app.manage, CONF, &body).await.ok(StatusCode::CREATED);
    assert_eq!((added["budget"].as_str(), added["budget_used"].as_str()), (Some("100.00"), Some("0.00")));
    assert_eq!(added["once_per_customer"], true);
    let lines = json!([{"ticket_type": "individual"}]);
    let body = json!({"code": "ONCE-1", "order_ref": "O-1", "lines": lines});
    let error = app.post_vouchers_redeem(&app.checkout, CONF, &body).await.error(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error["field"], "customer_email");
    let body = json!({"code": "ONCE-1", "order_ref": "O-1", "lines": lines, "customer_email": "Ana+x@Example.org"});
    let first = app.post_vouchers_redeem(&app.checkout, CONF, &body).await.ok(StatusCode::OK);
    assert_eq!(
        (first["pricing"]["discount"].as_str(), first["pricing"]["budget_capped"].as_bool()),
        (Some("80.00"), Some(false))
    );
    let body = json!({"code": "ONCE-1", "order_ref": "O-2", "lines": lines, "customer_email": "ana@example.org"});
    let again = app.post_vouchers_redeem(&app.checkout, CONF, &body).await.error(StatusCode::CONFLICT);
    assert_eq!(again["code"], "already_used_by_customer");
    let body = json!({"code": "ONCE-1", "order_ref": "O-3", "lines": lines, "customer_email": "bea@example.org"});
    let capped = app.post_vouchers_redeem(&app.checkout, CONF, &body).await.ok(StatusCode::OK);
    assert_eq!(
        (capped["pricing"]["discount"].as_str(), capped["pricing"]["budget_capped"].as_bool()),
        (Some("20.00"), Some(true))
    );
    let body = json!({"code": "ONCE-1", "order_ref": "O-4", "lines": lines, "customer_email": "cy@example.org"});
    let spent = app.post_vouchers_redeem(&app.checkout, CONF, &body).await.error(StatusCode::CONFLICT);
    assert_eq!(spent["code"], "budget_exhausted");
}

/// `"none"` over HTTP: accepted on bulk and add, answered as `"none"`, said in words in the
/// bulk answer; a word other than "none" is refused naming the field.
async fn applies_to_none(app: TestApp) {
    let body = json!({"prefix": "SPEAKER-", "count": 2, "voucher_type": "comp",
                      "applicable_ticket_types": ["individual"], "applicable_addons": "none"});
    let out = app.post_vouchers_bulk(&app.manage, CONF, &body, None).await.ok(StatusCode::CREATED);
    assert_eq!(
        (out["batch"]["applicable_addons"].clone(), out["applies_to"].clone()),
        (json!("none"), json!("individual tickets; no add-on"))
    );
    assert_eq!(out["vouchers"][0]["applicable_addons"], "none");
    let everything = app.generate("ALL-", 1).await;
    assert_eq!(
        (everything["batch"]["applicable_addons"].clone(), everything["applies_to"].clone()),
        (json!([]), json!("everything"))
    );
    let body = json!({"code": "BAD-NONE", "voucher_type": "comp", "applicable_addons": "nothing"});
    let error = app.post_vouchers(&app.manage, CONF, &body).await.error(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error["field"], "applicable_addons", "{error}");
    let code = out["vouchers"][0]["code"].as_str().unwrap();
    let cart = json!([{"ticket_type": "individual"}, {"addon": "tshirt"}]);
    let check =
        app.post_vouchers_check(&app.checkout, CONF, &json!({"code": code, "lines": cart})).await.ok(StatusCode::OK);
    assert_eq!(
        (check["pricing"]["discount"].as_str(), check["pricing"]["total"].as_str()),
        (Some("400.00"), Some("25.00"))
    );
}

both_backends!(
    applies_to_none,
    holds_budget_and_customers,
    check_redeem_release_and_usage,
    minimums_say_what_is_missing,
    unknown_codes_are_rate_limited_per_caller,
    readable_codes_mistyped_answers_and_the_guessing_figure,
);
