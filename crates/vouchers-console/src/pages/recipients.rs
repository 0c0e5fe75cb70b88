//! Handing a batch's codes to people: the Assign recipients form (a pasted CSV list, each
//! recipient gets one unassigned code), the Send emails form (a template, a preview of the first
//! waiting recipient's message, then queueing one email per assigned code), and retrying a failed
//! email. Each calls the same use case as the CLI and the API; a refused list or template comes
//! back with its values kept and the message beside its field, and nothing is written.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use vouchers_core::domain::{Batch, Conference, MessageTemplate};
use vouchers_core::service::assign::{self, RecipientList};
use vouchers_core::service::{outbox, send};
use vouchers_core::VoucherError;

use super::batches::{batch_url, find};
use crate::error::ConsoleError;
use crate::form::FormData;
use crate::session::{Posted, Signed};
use crate::view::{field_error, page, Nav};
use crate::ConsoleState;

/// The subject the Send emails form starts with.
const DEFAULT_SUBJECT: &str = "Your code for {{ conference }}";

/// The plain-text body the Send emails form starts with.
const DEFAULT_TEXT: &str = "Hello {{ name }},

here is your code for {{ conference }}: {{ code }}

Discount: {{ discount }}.{% if valid_until %} Use it before {{ valid_until }}.{% endif %}
Enter the code when you buy your ticket.

See you at {{ conference }}!
";

/// The placeholders a template may name, with what each becomes (the contract of
/// `vouchers_core::domain::PLACEHOLDERS`, and the recipient's tags). Rust strings, so that
/// askama never reads their braces.
const PLACEHOLDERS: [(&str, &str); 7] = [
    ("{{ code }}", "the recipient's code"),
    ("{{ name }}", "the recipient's name"),
    ("{{ email }}", "the recipient's email"),
    ("{{ tags.KEY }}", "the recipient's tag KEY (a column of the list), empty when they have none"),
    ("{{ conference }}", "the conference's name"),
    ("{{ discount }}", "the discount in words: free, 25% off, 20.00 off"),
    ("{{ valid_until }}", "the code's end in the conference's time zone, empty when it has none"),
];

/// One error, beside `field`.
fn error_beside(field: &str, message: String) -> Vec<(String, String)> {
    vec![(field.to_owned(), message)]
}

// ---- Assign recipients ----

#[derive(Template)]
#[template(path = "assign.html")]
struct AssignPage {
    nav: Option<Nav>,
    slug: String,
    batch: Batch,
    values: FormData,
    errors: Vec<(String, String)>,
}

impl AssignPage {
    fn error(&self, field: &str) -> Option<&str> {
        field_error(&self.errors, field)
    }

    fn value(&self, field: &str) -> String {
        self.values.text(field)
    }
}

fn render_assign(
    signed: &Signed,
    conference: &Conference,
    batch: Batch,
    values: FormData,
    errors: Vec<(String, String)>,
) -> Result<Response, ConsoleError> {
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let form = AssignPage {
        nav: Some(Nav::new(signed, Some(conference))),
        slug: conference.slug.clone(),
        batch,
        values,
        errors,
    };
    page(status, &form)
}

/// The empty Assign recipients form.
pub(crate) async fn assign_form(
    State(state): State<ConsoleState>,
    signed: Signed,
    Path((conf, id)): Path<(String, String)>,
) -> Result<Response, ConsoleError> {
    let conference = signed.conference(&state, &conf).await?;
    let batch = find(&state, &conference, &id).await?;
    render_assign(&signed, &conference, batch, FormData::default(), Vec::new())
}

/// Gives each recipient of the pasted list one unassigned code of the batch, in one
/// transaction, and shows the batch; or the form again with the rows or the rule that refused it.
pub(crate) async fn assign(
    State(state): State<ConsoleState>,
    Path((conf, id)): Path<(String, String)>,
    Posted { signed, form }: Posted,
) -> Result<Response, ConsoleError> {
    let conference = signed.conference(&state, &conf).await?;
    let batch = find(&state, &conference, &id).await?;
    // A file, when one was chosen, replaces the pasted list.
    let file = form.secret("recipients_file");
    let text = if file.trim().is_empty() { form.text("recipients") } else { file.to_owned() };
    let assigned = match RecipientList::from_csv(text.as_bytes()) {
        Ok(list) => {
            assign::assign_recipients(signed.store(&state).as_ref(), &conference.slug, batch.id, &list, None).await
        }
        Err(e) => Err(e),
    };
    match assigned {
        Ok(done) => {
            let (account, count) = (&signed.session.account.email, done.assignments.len());
            tracing::info!(account = %account, batch = batch.id, assigned = count, "recipients assigned");
            Ok(Redirect::to(&format!("{}?assigned={count}", batch_url(&conference, batch.id))).into_response())
        }
        Err(VoucherError::BatchNotFound { .. } | VoucherError::ConferenceNotFound(_)) => Err(ConsoleError::NotFound),
        // Bad rows (by line), a missing column, not enough codes, an email that has a code of the
        // batch already: all about the pasted list, so all beside it.
        Err(e) if e.is_input_error() => {
            render_assign(&signed, &conference, batch, form, error_beside("recipients", crate::view::said(&e)))
        }
        Err(e) => Err(e.into()),
    }
}

// ---- Send emails ----

/// The message the first waiting recipient would get, as the Send emails page shows it.
struct PreviewView {
    name: String,
    email: String,
    subject: String,
    text: String,
    /// The HTML body's source, shown as text (never rendered).
    html: Option<String>,
}

#[derive(Template)]
#[template(path = "send.html")]
struct SendPage {
    nav: Option<Nav>,
    slug: String,
    batch: Batch,
    values: FormData,
    errors: Vec<(String, String)>,
    placeholders: &'static [(&'static str, &'static str)],
    /// This server sends email (an SMTP URL is set).
    mail: bool,
    /// True after Preview, with the message when a recipient is waiting for one.
    previewed: bool,
    preview: Option<PreviewView>,
}

impl SendPage {
    fn error(&self, field: &str) -> Option<&str> {
        field_error(&self.errors, field)
    }

    fn value(&self, field: &str) -> String {
        self.values.text(field)
    }
}

fn render_send(
    mail: bool,
    signed: &Signed,
    conference: &Conference,
    batch: Batch,
    values: FormData,
    errors: Vec<(String, String)>,
    preview: Option<Option<PreviewView>>,
) -> Result<Response, ConsoleError> {
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let form = SendPage {
        nav: Some(Nav::new(signed, Some(conference))),
        slug: conference.slug.clone(),
        batch,
        values,
        errors,
        placeholders: &PLACEHOLDERS,
        mail,
        previewed: preview.is_some(),
        preview: preview.flatten(),
    };
    page(status, &form)
}

/// A textarea's text with the browser's CRLF line ends made LF, as a file's would be.
fn lines(form: &FormData, field: &str) -> String {
    form.text(field).replace("\r\n", "\n")
}

/// The Send emails form, with a default subject and body.
pub(crate) async fn send_form(
    State(state): State<ConsoleState>,
    signed: Signed,
    Path((conf, id)): Path<(String, String)>,
) -> Result<Response, ConsoleError> {
    let conference = signed.conference(&state, &conf).await?;
    let batch = find(&state, &conference, &id).await?;
    let mut defaults = FormData::default();
    defaults.set("subject", DEFAULT_SUBJECT);
    defaults.set("template", DEFAULT_TEXT);
    render_send(state.settings.mail_configured, &signed, &conference, batch, defaults, Vec::new(), None)
}

/// Preview (the default button: writes nothing) shows the first waiting recipient's message;
/// Queue emails queues one email per assigned code without one and shows the batch. A template
/// that does not parse or names an unknown placeholder comes back beside its field.
pub(crate) async fn send(
    State(state): State<ConsoleState>,
    Path((conf, id)): Path<(String, String)>,
    Posted { signed, form }: Posted,
) -> Result<Response, ConsoleError> {
    let conference = signed.conference(&state, &conf).await?;
    let batch = find(&state, &conference, &id).await?;
    let html = lines(&form, "html_template");
    let parsed = MessageTemplate::parse(
        &form.text("subject"),
        &lines(&form, "template"),
        Some(html.as_str()).filter(|h| !h.is_empty()),
    );
    let template = match parsed {
        Ok(template) => template,
        Err(e) => {
            let errors = error_beside(e.field, crate::view::told(&e));
            return render_send(state.settings.mail_configured, &signed, &conference, batch, form, errors, None);
        }
    };
    let error = if form.get("action") == Some("queue") {
        match send::queue_messages(signed.store(&state).as_ref(), &conference.slug, batch.id, &template).await {
            Ok(queued) => {
                let account = &signed.session.account.email;
                tracing::info!(account = %account, batch = batch.id, queued = queued.queued, "emails queued");
                let to = format!("{}?queued={}", batch_url(&conference, batch.id), queued.queued);
                return Ok(Redirect::to(&to).into_response());
            }
            Err(e) => e,
        }
    } else {
        match send::preview_first_message(state.store.as_ref(), &conference.slug, batch.id, &template).await {
            Ok(first) => {
                let preview = first.map(|(recipient, message)| PreviewView {
                    name: recipient.name,
                    email: recipient.email,
                    subject: message.subject,
                    text: message.text,
                    html: message.html,
                });
                return render_send(
                    state.settings.mail_configured,
                    &signed,
                    &conference,
                    batch,
                    form,
                    Vec::new(),
                    Some(preview),
                );
            }
            Err(e) => e,
        }
    };
    match error {
        VoucherError::BatchNotFound { .. } | VoucherError::ConferenceNotFound(_) => Err(ConsoleError::NotFound),
        // A template that cannot be filled in for a recipient names its part.
        e if e.is_input_error() => {
            let field = e.field().unwrap_or("template");
            render_send(
                state.settings.mail_configured,
                &signed,
                &conference,
                batch,
                form,
                error_beside(field, crate::view::said(&e)),
                None,
            )
        }
        e => Err(e.into()),
    }
}

// ---- Retry ----

/// Queues a failed email of the batch again and shows the batch. A message of another batch or
/// conference is a 404; one that is no longer failed (the button sent twice) is left as it is.
pub(crate) async fn retry(
    State(state): State<ConsoleState>,
    Path((conf, id, message)): Path<(String, String, String)>,
    Posted { signed, .. }: Posted,
) -> Result<Response, ConsoleError> {
    let conference = signed.conference(&state, &conf).await?;
    let batch = find(&state, &conference, &id).await?;
    let message = message.parse::<i64>().ok().filter(|n| *n > 0).ok_or(ConsoleError::NotFound)?;
    // The message must be this batch's: the first of the batch's messages from its id on.
    let found =
        outbox::list_outbox(state.store.as_ref(), &conference.slug, Some(batch.id), None, message - 1, 1).await?;
    if found.first().map(|m| m.id) != Some(message) {
        return Err(ConsoleError::NotFound);
    }
    match outbox::retry_message(signed.store(&state).as_ref(), &conference.slug, message).await {
        Ok(()) => {
            tracing::info!(account = %signed.session.account.email, message, "email queued again");
        }
        Err(VoucherError::MessageNotFound(_)) => {}
        Err(e) => return Err(e.into()),
    }
    Ok(Redirect::to(&batch_url(&conference, batch.id)).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_message_is_a_valid_template() {
        let parsed = MessageTemplate::parse(DEFAULT_SUBJECT, DEFAULT_TEXT, None);
        assert!(parsed.is_ok(), "{parsed:?}");
    }

    #[test]
    fn every_placeholder_is_listed() {
        for name in vouchers_core::domain::PLACEHOLDERS {
            let shown = format!("{{{{ {name} }}}}");
            assert!(PLACEHOLDERS.iter().any(|(p, _)| *p == shown), "{shown}");
        }
    }
}
