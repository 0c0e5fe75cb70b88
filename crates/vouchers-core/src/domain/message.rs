//! The message a recipient gets with their code: a subject and a body (plain text, optionally
//! HTML) written as minijinja templates over a fixed set of placeholders.
//!
//! A template is checked when it is given, before anything is queued: it must parse, and it may
//! name only the placeholders of [`PLACEHOLDERS`] (and `tags.KEY`). HTML bodies are escaped by
//! the template engine; the subject is a header, so every control character a value could bring
//! becomes a space (no line break can reach the message's headers).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use super::{InvalidInput, Money, Recipient, VoucherType};

/// The placeholders a template may name (a contract: `{{ code }}`, `{{ name }}`, ...), besides
/// `{{ tags.KEY }}`.
pub const PLACEHOLDERS: [&str; 6] = ["code", "name", "email", "conference", "discount", "valid_until"];

/// The longest template accepted, per part.
const MAX_TEMPLATE: usize = 100_000;

/// A checked message template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageTemplate {
    subject: String,
    text: String,
    html: Option<String>,
}

/// What one message says, filled in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RenderedMessage {
    /// The subject, on one line.
    pub subject: String,
    /// The plain-text body.
    pub text: String,
    /// The HTML body, when the template has one.
    pub html: Option<String>,
}

/// The values of the placeholders for one voucher and its recipient.
#[derive(Debug, Clone, Serialize)]
pub struct MessageContext {
    code: String,
    name: String,
    email: String,
    tags: BTreeMap<String, String>,
    conference: String,
    discount: String,
    valid_until: String,
}

impl MessageContext {
    /// The placeholders' values: the discount in words, `valid_until` in the conference's time
    /// zone (empty when the voucher has no end).
    pub fn new(
        code: &str,
        recipient: &Recipient,
        conference_name: &str,
        timezone: Tz,
        voucher_type: VoucherType,
        discount_value: Money,
        valid_until: Option<DateTime<Utc>>,
    ) -> Self {
        Self {
            code: code.to_owned(),
            name: recipient.name.clone(),
            email: recipient.email.clone(),
            tags: recipient.tags.clone(),
            conference: conference_name.to_owned(),
            discount: discount_in_words(voucher_type, discount_value),
            valid_until: valid_until
                .map(|t| t.with_timezone(&timezone).format("%Y-%m-%d %H:%M %Z").to_string())
                .unwrap_or_default(),
        }
    }
}

/// A discount as a recipient reads it: `free`, `25% off`, `12.50% off`, `20.00 off`.
pub fn discount_in_words(voucher_type: VoucherType, value: Money) -> String {
    match voucher_type {
        VoucherType::Comp => "free".to_owned(),
        VoucherType::Percentage => {
            let text = value.to_string();
            let text = text.strip_suffix(".00").unwrap_or(&text);
            format!("{text}% off")
        }
        VoucherType::FixedAmount => format!("{value} off"),
    }
}

fn environment() -> minijinja::Environment<'static> {
    let mut env = minijinja::Environment::new();
    // Only `.html` names are escaped (the engine's default); keep newlines as written.
    env.set_keep_trailing_newline(true);
    env
}

/// The template part named `name` (`subject`, `template`, `html_template`), checked.
fn check_part(field: &'static str, name: &str, source: &str) -> Result<(), InvalidInput> {
    if source.chars().count() > MAX_TEMPLATE {
        return Err(InvalidInput::new(field, format!("{field} must be at most {MAX_TEMPLATE} characters")));
    }
    if source.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
        return Err(InvalidInput::new(
            field,
            format!("{field} must not contain control characters but line breaks and tabs"),
        ));
    }
    let env = environment();
    let template = env.template_from_named_str(name, source).map_err(|e| {
        InvalidInput::new(field, format!("{field} is not a valid template: {}", e.detail().unwrap_or("syntax error")))
    })?;
    let unknown: BTreeSet<String> = template
        .undeclared_variables(true)
        .into_iter()
        .filter(|v| !PLACEHOLDERS.contains(&v.as_str()) && v != "tags" && !is_tag_path(v))
        .collect();
    if !unknown.is_empty() {
        let names: Vec<String> = unknown.iter().map(|v| format!("{{{{ {v} }}}}")).collect();
        return Err(InvalidInput::new(
            field,
            format!(
                "{field} names unknown placeholders {}; the placeholders are {}, and {{{{ tags.KEY }}}}",
                names.join(", "),
                PLACEHOLDERS.iter().map(|p| format!("{{{{ {p} }}}}")).collect::<Vec<_>>().join(", ")
            ),
        ));
    }
    Ok(())
}

fn is_tag_path(variable: &str) -> bool {
    variable.strip_prefix("tags.").is_some_and(|key| super::recipient::check_tag_key(key).is_ok())
}

impl MessageTemplate {
    /// Checks a template: every part parses and names only known placeholders.
    pub fn parse(subject: &str, text: &str, html: Option<&str>) -> Result<Self, InvalidInput> {
        if subject.trim().is_empty() {
            return Err(InvalidInput::new("subject", "subject must not be empty"));
        }
        if text.trim().is_empty() {
            return Err(InvalidInput::new("template", "template must not be empty"));
        }
        check_part("subject", "subject.txt", subject)?;
        check_part("template", "template.txt", text)?;
        if let Some(html) = html {
            check_part("html_template", "template.html", html)?;
        }
        Ok(Self { subject: subject.to_owned(), text: text.to_owned(), html: html.map(str::to_owned) })
    }

    /// Fills the template in for one message. A tag the recipient does not have is empty.
    pub fn render(&self, context: &MessageContext) -> Result<RenderedMessage, InvalidInput> {
        let env = environment();
        let render = |field: &'static str, name: &str, source: &str| {
            env.render_named_str(name, source, context).map_err(|e| {
                InvalidInput::new(field, format!("{field} could not be filled in: {}", e.detail().unwrap_or("error")))
            })
        };
        let subject = render("subject", "subject.txt", &self.subject)?;
        let subject: String = subject.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
        Ok(RenderedMessage {
            subject: subject.trim().to_owned(),
            text: render("template", "template.txt", &self.text)?,
            html: self.html.as_deref().map(|h| render("html_template", "template.html", h)).transpose()?,
        })
    }
}

/// Where a message of the outbox stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum MessageStatus {
    /// Waiting for a sender (a first try, or a retry after a temporary failure).
    Queued,
    /// A sender holds it and is sending it now.
    Sending,
    /// The mail server accepted it.
    Sent,
    /// The mail server refused it for good, or every attempt failed; it can be retried.
    Failed,
}

impl MessageStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            MessageStatus::Queued => "queued",
            MessageStatus::Sending => "sending",
            MessageStatus::Sent => "sent",
            MessageStatus::Failed => "failed",
        }
    }
}

impl std::str::FromStr for MessageStatus {
    type Err = InvalidInput;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Ok(match value {
            "queued" => MessageStatus::Queued,
            "sending" => MessageStatus::Sending,
            "sent" => MessageStatus::Sent,
            "failed" => MessageStatus::Failed,
            other => {
                return Err(InvalidInput::new(
                    "status",
                    format!("status must be queued, sending, sent or failed, got {}", super::quoted(other)),
                ))
            }
        })
    }
}

impl std::fmt::Display for MessageStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One message of the outbox, as the organizer sees it (without its body).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OutboxMessage {
    /// Database id.
    pub id: i64,
    /// The batch of its voucher.
    pub batch_id: i64,
    /// The voucher's code.
    pub code: String,
    /// Who it goes to.
    pub recipient_email: String,
    /// Their name.
    pub recipient_name: String,
    /// Its subject.
    pub subject: String,
    /// Where it stands.
    pub status: MessageStatus,
    /// Delivery attempts so far.
    pub attempts: i64,
    /// The mail server's last answer when an attempt failed.
    pub last_error: Option<String>,
    /// When a queued message is tried next.
    #[serde(serialize_with = "super::voucher::rfc3339")]
    pub next_attempt_at: DateTime<Utc>,
    /// When the server accepted it.
    #[serde(serialize_with = "super::voucher::rfc3339_opt")]
    pub sent_at: Option<DateTime<Utc>>,
    /// When it was queued.
    #[serde(serialize_with = "super::voucher::rfc3339")]
    pub created_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recipient() -> Recipient {
        let tags = BTreeMap::from([("company".to_owned(), "ACME <& Co>".to_owned())]);
        Recipient::parse("ana@example.org", "Ana <b>Lima</b>", tags).unwrap()
    }

    fn context() -> MessageContext {
        let until = "2027-05-22T22:00:00Z".parse().unwrap();
        let tz: Tz = "America/New_York".parse().unwrap();
        MessageContext::new(
            "SPONSOR-7KQ2",
            &recipient(),
            "PyCon US 2027",
            tz,
            VoucherType::Percentage,
            Money::from_cents(2500),
            Some(until),
        )
    }

    #[test]
    fn placeholders_are_filled_and_html_escaped() {
        let t = MessageTemplate::parse(
            "Your code for {{ conference }}",
            "Hi {{ name }}, {{ code }} ({{ discount }}) until {{ valid_until }} for {{ tags.company }}{{ tags.missing }}.\n",
            Some("<p>Hi {{ name }} from {{ tags.company }}: <a href=\"https://t.example.org/?voucher={{ code }}\">{{ code }}</a></p>"),
        )
        .unwrap();
        let m = t.render(&context()).unwrap();
        assert_eq!(m.subject, "Your code for PyCon US 2027");
        assert_eq!(m.text, "Hi Ana <b>Lima</b>, SPONSOR-7KQ2 (25% off) until 2027-05-22 18:00 EDT for ACME <& Co>.\n");
        let html = m.html.unwrap();
        assert!(html.contains("Hi Ana &lt;b&gt;Lima&lt;&#x2f;b&gt; from ACME &lt;&amp; Co&gt;"), "{html}");
        assert!(html.contains("?voucher=SPONSOR-7KQ2"), "{html}");
    }

    #[test]
    fn unknown_placeholders_and_bad_syntax_are_refused() {
        let e = MessageTemplate::parse("Hi", "{{ code }} {{ password }} {{ user.secret }}", None).unwrap_err();
        assert_eq!(e.field, "template");
        assert!(e.message.contains("{{ password }}") && e.message.contains("{{ user.secret }}"), "{}", e.message);
        assert_eq!(MessageTemplate::parse("{{ nope }}", "x", None).unwrap_err().field, "subject");
        assert_eq!(MessageTemplate::parse("Hi", "{% if %}", None).unwrap_err().field, "template");
        assert_eq!(MessageTemplate::parse("Hi", "x", Some("{{ secret }}")).unwrap_err().field, "html_template");
        assert_eq!(MessageTemplate::parse(" ", "x", None).unwrap_err().field, "subject");
        assert_eq!(MessageTemplate::parse("Hi", "a\u{0}b", None).unwrap_err().field, "template");
    }

    #[test]
    fn a_subject_never_carries_a_line_break() {
        let t = MessageTemplate::parse("Code {{ tags.company }}\r\nBcc: x@example.org", "x", None).unwrap();
        let m = t.render(&context()).unwrap();
        assert!(!m.subject.contains(['\r', '\n']), "{}", m.subject);
    }

    #[test]
    fn discounts_in_words() {
        assert_eq!(discount_in_words(VoucherType::Comp, Money::ZERO), "free");
        assert_eq!(discount_in_words(VoucherType::Percentage, Money::from_cents(2500)), "25% off");
        assert_eq!(discount_in_words(VoucherType::Percentage, Money::from_cents(1250)), "12.50% off");
        assert_eq!(discount_in_words(VoucherType::FixedAmount, Money::from_cents(2000)), "20.00 off");
    }
}
