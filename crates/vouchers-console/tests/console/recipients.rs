//! Handing a batch's codes to people from the console: assigning a pasted CSV list (a bad row
//! named by its line, nothing assigned), previewing and queueing emails (the HTML body shown as
//! escaped source), the Emails table and retrying a failed email, other conferences' batches.

use axum::http::StatusCode;
use vouchers_core::domain::{MessageStatus, OutboxMessage, Voucher, PLACEHOLDERS};
use vouchers_core::service::{outbox, query};
use vouchers_core::store::{DeliveryResult, VoucherFilter};

use crate::pages::generate_form;
use crate::support::*;

/// Generates a batch of `count` codes through the form; returns its page's path.
async fn batch(c: &mut Console, count: &str) -> String {
    let key = c.get("/console/c/pycon/generate").await.hidden("idempotency_key");
    c.submit("/console/c/pycon/generate", &generate_form(&key, count)).await.redirect().to_owned()
}

/// The batch's vouchers, by id.
async fn vouchers(c: &Console, batch_page: &str) -> Vec<Voucher> {
    let id = batch_page.rsplit('/').next().unwrap().parse().unwrap();
    let filter = VoucherFilter { batch_id: Some(id), ..VoucherFilter::default() };
    query::list_vouchers(&*c.db.store, CONF, &filter).await.unwrap()
}

async fn outbox_of(c: &Console) -> Vec<OutboxMessage> {
    outbox::list_outbox(&*c.db.store, CONF, None, None, 0, 100).await.unwrap()
}

const TWO: &str = "email,name,company\nana@example.org,Ana Lima,ACME\nbo@example.org,Bo Chen,\n";

async fn assign_recipients_from_a_pasted_list(mut c: Console) {
    c.sign_in(MANAGER).await.redirect();
    let batch_page = batch(&mut c, "3").await;
    let body = c.get(&batch_page).await.ok(StatusCode::OK).to_owned();
    assert!(body.contains(&format!(r#"href="{batch_page}/assign">Assign recipients</a>"#)), "{body}");
    assert!(body.contains(&format!(r#"href="{batch_page}/send">Send emails</a>"#)));
    assert!(body.contains(r#"<th scope="col">Recipient</th>"#) && body.contains("<h2>Emails</h2>"));
    assert_eq!(body.matches("<td>—</td>").count(), 3, "no code has a recipient yet");

    let form = c.get(&format!("{batch_page}/assign")).await;
    let body = form.ok(StatusCode::OK);
    assert!(body.contains(r#"<label for="recipients">Recipients (CSV)</label>"#) && body.contains(">Assign</button>"));

    // A bad row: named by its line, the list kept, nothing assigned.
    let bad = "email,name,company\nana@example.org,Ana Lima,ACME\nnot-an-email,Bo Chen,\n";
    let page = c.submit(&format!("{batch_page}/assign"), &[("recipients", bad)]).await;
    let body = page.ok(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("line 3, email:"), "{body}");
    assert!(body.contains(r#"aria-invalid="true""#) && body.contains(r#"id="recipients-error""#));
    assert!(body.contains("recipients-hint recipients-error") && body.contains("not-an-email,Bo Chen,"), "kept");
    // More recipients than free codes.
    let four = format!("{TWO}cy@example.org,Cy,\ndee@example.org,Dee,\n");
    let page = c.submit(&format!("{batch_page}/assign"), &[("recipients", &four)]).await;
    assert!(page.ok(StatusCode::UNPROCESSABLE_ENTITY).contains("has 3 unassigned codes, 4 are needed"));
    // No email column.
    let page = c.submit(&format!("{batch_page}/assign"), &[("recipients", "name\nAna\n")]).await;
    assert!(page.ok(StatusCode::UNPROCESSABLE_ENTITY).contains("the header has no email column"));
    assert!(vouchers(&c, &batch_page).await.iter().all(|v| v.recipient.is_none()), "nothing assigned");

    // A good list (pasted from a browser: CRLF line ends).
    let done = c.submit(&format!("{batch_page}/assign"), &[("recipients", &TWO.replace('\n', "\r\n"))]).await;
    assert_eq!(done.redirect(), format!("{batch_page}?assigned=2"));
    let body = c.get(&format!("{batch_page}?assigned=2")).await.ok(StatusCode::OK).to_owned();
    assert!(body.contains("2 recipients got a code."), "{body}");
    assert!(body.contains("<td>Ana Lima (ana@example.org)</td>") && body.contains("<td>Bo Chen (bo@example.org)</td>"));
    assert_eq!(body.matches("<td>—</td>").count(), 1);
    let assigned = vouchers(&c, &batch_page).await;
    let ana = assigned.iter().find(|v| v.recipient.as_ref().is_some_and(|r| r.email == "ana@example.org")).unwrap();
    assert_eq!(ana.recipient.as_ref().unwrap().tags["company"], "ACME");

    // An email that has a code of the batch already.
    let again = "email,name\nANA@example.org,Ana\n";
    let page = c.submit(&format!("{batch_page}/assign"), &[("recipients", again)]).await;
    assert!(page.ok(StatusCode::UNPROCESSABLE_ENTITY).contains("already exists"), "{}", page.body);
    assert_eq!(vouchers(&c, &batch_page).await.iter().filter(|v| v.recipient.is_some()).count(), 2);

    // The voucher's page names its recipient.
    let body = c.get(&format!("/console/c/pycon/vouchers/{}", ana.code)).await.ok(StatusCode::OK).to_owned();
    assert!(body.contains("<dt>Recipient</dt><dd>Ana Lima (ana@example.org)</dd>"), "{body}");
    assert!(body.contains("<dd>company: ACME</dd>"));
    let unassigned = assigned.iter().find(|v| v.recipient.is_none()).unwrap();
    let body = c.get(&format!("/console/c/pycon/vouchers/{}", unassigned.code)).await.body;
    assert!(!body.contains("<dt>Recipient</dt>"));
}

const HTML: &str = "<p>Hi {{ name }}: <b>{{ code }}</b></p>";

async fn preview_then_queue_emails(mut c: Console) {
    c.sign_in(MANAGER).await.redirect();
    let batch_page = batch(&mut c, "3").await;
    c.submit(&format!("{batch_page}/assign"), &[("recipients", TWO)]).await.redirect();
    let ana = vouchers(&c, &batch_page).await.into_iter().find(|v| v.recipient.is_some()).unwrap();
    assert_eq!(ana.recipient.as_ref().unwrap().email, "ana@example.org", "the first of the list, the lowest id");
    let send = format!("{batch_page}/send");

    let form = c.get(&send).await;
    let body = form.ok(StatusCode::OK).to_owned();
    for (field, label) in
        [("subject", "Subject"), ("template", "Message (plain text)"), ("html_template", "HTML message (optional)")]
    {
        assert!(body.contains(&format!(r#"<label for="{field}">{label}</label>"#)), "{label}");
    }
    assert!(body.contains(">Preview</button>") && body.contains(">Queue emails</button>"));
    for placeholder in PLACEHOLDERS {
        assert!(body.contains(&format!("<code>{{{{ {placeholder} }}}}</code>")), "{placeholder}: {body}");
    }
    assert!(body.contains("<code>{{ tags.KEY }}</code>"));
    assert!(body.contains(r#"value="Your code for {{ conference }}""#), "a default subject");
    assert!(body.contains("Hello {{ name }},"), "a default body");

    // Preview: the first waiting recipient's message; the HTML as escaped source; nothing queued.
    let fields = |action: &'static str, subject: &'static str, html: &'static str| {
        vec![
            ("subject", subject),
            ("template", "Hi {{ name }}, your code is {{ code }} ({{ discount }}).\r\n"),
            ("html_template", html),
            ("action", action),
        ]
    };
    let page = c.submit(&send, &fields("preview", "Your code for {{ conference }}", HTML)).await;
    let body = page.ok(StatusCode::OK).to_owned();
    assert!(
        body.contains("<dd>Ana Lima (ana@example.org)</dd>") && body.contains("<dd>Your code for PyCon US 2027</dd>")
    );
    assert!(body.contains(&format!("Hi Ana Lima, your code is {} (25% off).", ana.code)), "{body}");
    assert!(
        body.contains(&format!("&#60;p&#62;Hi Ana Lima: &#60;b&#62;{}&#60;/b&#62;&#60;/p&#62;", ana.code)),
        "{body}"
    );
    assert!(!body.contains("<p>Hi Ana") && !body.contains("<b>"), "never rendered as HTML");
    assert!(body.contains(r#"value="Your code for {{ conference }}""#), "the values kept");
    assert!(outbox_of(&c).await.is_empty());

    // Template errors, beside the field they name; nothing queued.
    let page = c.submit(&send, &fields("queue", "Code {{ password }}", HTML)).await;
    let body = page.ok(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains(r#"id="subject-error""#) && body.contains("unknown placeholders {{ password }}"), "{body}");
    assert!(body.contains(r#"value="Code {{ password }}""#));
    let page = c.submit(&send, &fields("queue", "Hi", "<p>{{ secret }}</p>")).await;
    let body = page.ok(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains(r#"id="html_template-error""#) && body.contains("html_template-hint html_template-error"));
    let page = c.submit(&send, &fields("preview", "Hi", "{% if %}")).await;
    assert!(page.ok(StatusCode::UNPROCESSABLE_ENTITY).contains("HTML message is not a valid template"));
    assert!(outbox_of(&c).await.is_empty());

    // Queue: one email per recipient, on the batch page.
    let queued = c.submit(&send, &fields("queue", "Your code for {{ conference }}", HTML)).await;
    assert_eq!(queued.redirect(), format!("{batch_page}?queued=2"));
    let body = c.get(&format!("{batch_page}?queued=2")).await.ok(StatusCode::OK).to_owned();
    assert!(body.contains("2 emails were queued."), "{body}");
    assert_eq!(body.matches("<td>queued</td>").count(), 2, "{body}");
    assert!(body.contains(&format!("<td>Ana Lima (ana@example.org)</td><td>{}</td>", ana.code)));
    assert!(!body.contains(">Retry</button>"));
    let messages = outbox_of(&c).await;
    assert_eq!(messages.len(), 2);
    assert!(messages.iter().all(|m| m.subject == "Your code for PyCon US 2027"));

    // Again: every recipient has their email; the preview says nobody is waiting.
    let again = c.submit(&send, &fields("queue", "Other", "")).await;
    assert_eq!(again.redirect(), format!("{batch_page}?queued=0"));
    assert_eq!(outbox_of(&c).await.len(), 2);
    let page = c.submit(&send, &fields("preview", "Other", "")).await;
    assert!(page.ok(StatusCode::OK).contains("No recipient is waiting for an email"));
}

async fn a_failed_email_is_retried_from_the_batch_page(mut c: Console) {
    c.sign_in(MANAGER).await.redirect();
    let batch_page = batch(&mut c, "2").await;
    c.submit(&format!("{batch_page}/assign"), &[("recipients", TWO)]).await.redirect();
    let send = [("subject", "Hi"), ("template", "{{ code }}"), ("action", "queue")];
    c.submit(&format!("{batch_page}/send"), &send).await.redirect();
    // A sender: the server refuses Ana's email for good and takes Bo's.
    let store = &*c.db.store;
    let now = vouchers_core::now();
    let claimed = store.claim_outbox(now, now + chrono::Duration::minutes(5), 10).await.unwrap();
    assert_eq!(claimed.len(), 2);
    for message in &claimed {
        let result = if message.to_email == "ana@example.org" {
            DeliveryResult::Failed { error: "550 no such <mailbox>" }
        } else {
            DeliveryResult::Sent
        };
        assert!(store.finish_outbox(message.id, message.attempt, &result, now).await.unwrap());
    }
    let messages = outbox_of(&c).await;
    let failed = messages.iter().find(|m| m.status == MessageStatus::Failed).unwrap();
    let sent = messages.iter().find(|m| m.status == MessageStatus::Sent).unwrap();
    let body = c.get(&batch_page).await.ok(StatusCode::OK).to_owned();
    assert!(body.contains("<td>550 no such &#60;mailbox&#62;</td>"), "the server's answer, escaped: {body}");
    let tz: chrono_tz::Tz = "America/New_York".parse().unwrap();
    let sent_at = sent.sent_at.unwrap().with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string();
    assert!(body.contains(&format!("<td>1</td><td>{sent_at}</td>")), "sent time in the conference's zone: {body}");
    let retry = format!("{batch_page}/outbox/{}/retry", failed.id);
    assert!(body.contains(&format!(r#"action="{retry}""#)) && body.matches(">Retry</button>").count() == 1);

    // Without this session's token: refused, nothing changed.
    let page = c.post(&retry, &[]).await;
    assert!(page.ok(StatusCode::FORBIDDEN).contains("nothing was changed"));
    c.post(&retry, &[("csrf", "forged")]).await.ok(StatusCode::FORBIDDEN);
    assert_eq!(outbox_of(&c).await.iter().filter(|m| m.status == MessageStatus::Failed).count(), 1);
    // No such message, or not this batch's: 404.
    for id in ["999999", "abc", "0", "-1"] {
        c.submit(&format!("{batch_page}/outbox/{id}/retry"), &[]).await.ok(StatusCode::NOT_FOUND);
    }
    let other_batch = batch(&mut c, "1").await;
    c.submit(&format!("{other_batch}/outbox/{}/retry", failed.id), &[]).await.ok(StatusCode::NOT_FOUND);
    assert_eq!(outbox_of(&c).await.iter().filter(|m| m.status == MessageStatus::Failed).count(), 1);

    // Retry: queued again; sent twice (a double click) it stays queued.
    assert_eq!(c.submit(&retry, &[]).await.redirect(), batch_page);
    assert_eq!(c.submit(&retry, &[]).await.redirect(), batch_page);
    let messages = outbox_of(&c).await;
    assert_eq!(messages.iter().find(|m| m.id == failed.id).unwrap().status, MessageStatus::Queued);
    let body = c.get(&batch_page).await.body;
    assert!(!body.contains(">Retry</button>") && body.contains("<td>queued</td>"), "{body}");
}

async fn another_conferences_batch_is_not_found(mut c: Console) {
    c.sign_in(MANAGER).await.redirect();
    let batch_page = batch(&mut c, "1").await;
    let id = batch_page.rsplit('/').next().unwrap().to_owned();
    c.submit(&format!("{batch_page}/assign"), &[("recipients", "email,name\nana@example.org,Ana\n")]).await.redirect();
    c.submit(&format!("{batch_page}/send"), &[("subject", "Hi"), ("template", "{{ code }}"), ("action", "queue")])
        .await
        .redirect();
    let message = outbox_of(&c).await[0].id;
    let pages = ["/assign".to_owned(), "/send".to_owned(), format!("/outbox/{message}/retry")];
    // A manage account of pycon: djangocon is not one of its conferences.
    for page in &pages[..2] {
        c.get(&format!("/console/c/{OTHER}/batches/{id}{page}")).await.ok(StatusCode::NOT_FOUND);
    }
    for page in &pages {
        c.submit(&format!("/console/c/{OTHER}/batches/{id}{page}"), &[]).await.ok(StatusCode::NOT_FOUND);
    }
    // An admin sees both conferences, but the batch is pycon's.
    let mut admin = c.another_browser();
    admin.sign_in(ADMIN).await.redirect();
    for page in &pages[..2] {
        admin.get(&format!("/console/c/{OTHER}/batches/{id}{page}")).await.ok(StatusCode::NOT_FOUND);
        admin.get(&format!("/console/c/{CONF}/batches/{id}{page}")).await.ok(StatusCode::OK);
    }
    let form = [("recipients", "email,name\nbo@example.org,Bo\n")];
    admin.submit(&format!("/console/c/{OTHER}/batches/{id}/assign"), &form).await.ok(StatusCode::NOT_FOUND);
    let send = [("subject", "Hi"), ("template", "{{ code }}"), ("action", "preview")];
    admin.submit(&format!("/console/c/{OTHER}/batches/{id}/send"), &send).await.ok(StatusCode::NOT_FOUND);
    admin.submit(&format!("/console/c/{OTHER}/batches/{id}{}", pages[2]), &[]).await.ok(StatusCode::NOT_FOUND);
    // Unknown batches too.
    for bad in ["999", "abc", "0"] {
        admin.get(&format!("/console/c/{CONF}/batches/{bad}/send")).await.ok(StatusCode::NOT_FOUND);
        admin.get(&format!("/console/c/{CONF}/batches/{bad}/assign")).await.ok(StatusCode::NOT_FOUND);
    }
    assert_eq!(outbox_of(&c).await.len(), 1);
    assert_eq!(vouchers(&c, &batch_page).await[0].recipient.as_ref().unwrap().email, "ana@example.org");
}

both_backends!(
    assign_recipients_from_a_pasted_list,
    preview_then_queue_emails,
    a_failed_email_is_retried_from_the_batch_page,
    another_conferences_batch_is_not_found,
);
