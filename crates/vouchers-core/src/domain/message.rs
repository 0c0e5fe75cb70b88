//! The message a recipient gets with their code: a subject and a body (plain text, optionally
//! HTML) written as minijinja templates over a fixed set of placeholders.
//!
//! A template is checked when it is given, before anything is queued: it must parse, and it may
//! name only the placeholders of [`PLACEHOLDERS`] (and `tags.KEY`). HTML bodies are escaped by
//! the template engine; the subject is a header, so every control character a value could bring
//! becomes a space (no line break can reach the message's headers).
//!
//! Rendering is bounded whatever the template says. A template may use placeholders, the filters
//! of [`FILTERS`], the tests of [`TESTS`] and `{% if %}` / `{% elif %}` / `{% else %}`: no
//! loop, macro, assignment, include, list or map, and no operator that makes a string longer
//! (`*`, `~`, `+`). So each part of a message is at most its template plus its placeholders'
//! values, and is rendered in time linear in its template. On top of that the engine runs on a
//! fuel budget ([`RENDER_FUEL`] instructions) and a filled-in message is at most
//! [`MAX_MESSAGE_BYTES`] (subject, text and HTML together), and its subject at most
//! [`MAX_SUBJECT_CHARS`] characters (a mail server refuses a header line over 998).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use super::{InvalidInput, Money, Recipient, VoucherType};

/// The placeholders a template may name (a contract: `{{ code }}`, `{{ name }}`, ...), besides
/// `{{ tags.KEY }}`.
pub const PLACEHOLDERS: [&str; 6] = ["code", "name", "email", "conference", "discount", "valid_until"];

/// The placeholders an allotment's template may name besides [`PLACEHOLDERS`].
pub const ALLOTMENT_PLACEHOLDERS: [&str; 1] = ["sponsor"];

/// The filters a template may use: each makes a value at most as long as it was (or its
/// argument, for `default`), or HTML-escapes it.
pub const FILTERS: [&str; 8] = ["upper", "lower", "title", "capitalize", "trim", "default", "escape", "e"];

/// The tests a template may use (`{% if tags.company is defined %}`).
pub const TESTS: [&str; 3] = ["defined", "undefined", "none"];

/// The longest template accepted, per part, in characters.
pub const MAX_TEMPLATE: usize = 100_000;

/// The most a filled-in message may be: subject, text and HTML together, in bytes (256 KiB).
pub const MAX_MESSAGE_BYTES: usize = 256 * 1024;

/// The longest subject, in characters, once filled in.
pub const MAX_SUBJECT_CHARS: usize = 250;

/// The engine's instructions one part of one message may run: far more than any template the
/// syntax allows can use (its instructions are at most a few per character), so it is never
/// reached by an accepted template, and ends one that somehow would run on.
pub const RENDER_FUEL: u64 = 1_000_000;

/// A checked message template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageTemplate {
    subject: String,
    text: String,
    html: Option<String>,
}

/// The placeholders a template may name: [`PLACEHOLDERS`] and these.
type Extra = &'static [&'static str];

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
    #[serde(skip_serializing_if = "Option::is_none")]
    sponsor: Option<String>,
}

impl MessageContext {
    /// The same, for an allotment's attendee: `{{ sponsor }}` is the sponsor's name.
    pub fn with_sponsor(mut self, sponsor: &str) -> Self {
        self.sponsor = Some(sponsor.to_owned());
        self
    }

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
            sponsor: None,
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
    use minijinja::{filters, tests};
    // No global function (`range`, `dict`, ...), filter or test but those listed here.
    let mut env = minijinja::Environment::empty();
    env.add_filter("upper", filters::upper);
    env.add_filter("lower", filters::lower);
    env.add_filter("title", filters::title);
    env.add_filter("capitalize", filters::capitalize);
    env.add_filter("trim", filters::trim);
    env.add_filter("default", filters::default);
    env.add_filter("escape", filters::escape);
    env.add_filter("e", filters::escape);
    env.add_test("defined", tests::is_defined);
    env.add_test("undefined", tests::is_undefined);
    env.add_test("none", tests::is_none);
    // Only `.html` names are escaped (the engine's default); keep newlines as written.
    env.set_auto_escape_callback(|name| {
        if name.ends_with(".html") {
            minijinja::AutoEscape::Html
        } else {
            minijinja::AutoEscape::None
        }
    });
    env.set_keep_trailing_newline(true);
    env.set_fuel(Some(RENDER_FUEL));
    env
}

/// Refuses the syntax a bounded message does not need: every statement but `if`, `elif`,
/// `else` and `endif`; the operators that grow a string; lists, maps, assignments; filters and
/// tests not in [`FILTERS`] and [`TESTS`].
fn check_syntax(field: &'static str, source: &str) -> Result<(), InvalidInput> {
    use minijinja::machinery::{tokenize, Token, WhitespaceConfig};
    let refuse = |what: String| {
        Err(InvalidInput::new(
            field,
            format!(
                "{field} may use placeholders, filters ({}), tests ({}) and {{% if %}} / {{% elif %}} / {{% else %}}, \
                 got {what}",
                FILTERS.join(", "),
                TESTS.join(", ")
            ),
        ))
    };
    let syntax = minijinja::syntax::SyntaxConfig;
    let mut previous: Option<Token<'_>> = None;
    let mut expect_test = false;
    for token in tokenize(source, false, syntax, WhitespaceConfig::default()) {
        let (token, _) = token.map_err(|e| {
            InvalidInput::new(
                field,
                format!("{field} is not a valid template: {}", e.detail().unwrap_or("syntax error")),
            )
        })?;
        if expect_test {
            // `is NAME` or `is not NAME`: NAME is a test.
            match &token {
                Token::Ident("not") => {}
                Token::Ident(name) if TESTS.contains(name) => expect_test = false,
                Token::Ident(name) => return refuse(format!("the test {}", super::quoted(name))),
                _ => expect_test = false,
            }
        }
        match (&previous, &token) {
            (Some(Token::BlockStart), Token::Ident(keyword))
                if !matches!(*keyword, "if" | "elif" | "else" | "endif") =>
            {
                return refuse(format!("{{% {keyword} %}}"));
            }
            (Some(Token::BlockStart), Token::Ident(_)) => {}
            (Some(Token::BlockStart), _) => return refuse("a statement without a name".to_owned()),
            (Some(Token::Pipe), Token::Ident(name)) if !FILTERS.contains(name) => {
                return refuse(format!("the filter {}", super::quoted(name)));
            }
            (Some(Token::Dot), _) => {}
            (_, Token::Ident("is")) => expect_test = true,
            _ => {}
        }
        let operator = match &token {
            Token::Mul => Some("*"),
            Token::Pow => Some("**"),
            Token::Tilde => Some("~"),
            Token::Plus => Some("+"),
            Token::Minus => Some("-"),
            Token::Div => Some("/"),
            Token::FloorDiv => Some("//"),
            Token::Mod => Some("%"),
            Token::Assign => Some("="),
            Token::Colon => Some(":"),
            Token::BracketOpen => Some("["),
            Token::BraceOpen => Some("{"),
            _ => None,
        };
        if let Some(operator) = operator {
            return refuse(format!("the operator {}", super::quoted(operator)));
        }
        previous = Some(token);
    }
    Ok(())
}

/// An `io::Write` that takes at most `room` bytes, then fails (and says it was full).
struct Capped {
    text: Vec<u8>,
    room: usize,
    full: bool,
}

impl std::io::Write for Capped {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if buf.len() > self.room - self.text.len() {
            self.full = true;
            return Err(std::io::Error::other("message too large"));
        }
        self.text.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The template part named `name` (`subject`, `template`, `html_template`), checked.
fn check_part(field: &'static str, name: &str, source: &str, extra: Extra) -> Result<(), InvalidInput> {
    if source.chars().count() > MAX_TEMPLATE {
        return Err(InvalidInput::new(field, format!("{field} must be at most {MAX_TEMPLATE} characters")));
    }
    if source.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
        return Err(InvalidInput::new(
            field,
            format!("{field} must not contain control characters but line breaks and tabs"),
        ));
    }
    check_syntax(field, source)?;
    let env = environment();
    let template = env.template_from_named_str(name, source).map_err(|e| {
        InvalidInput::new(field, format!("{field} is not a valid template: {}", e.detail().unwrap_or("syntax error")))
    })?;
    let unknown: BTreeSet<String> = template
        .undeclared_variables(true)
        .into_iter()
        .filter(|v| {
            !PLACEHOLDERS.contains(&v.as_str()) && !extra.contains(&v.as_str()) && v != "tags" && !is_tag_path(v)
        })
        .collect();
    if !unknown.is_empty() {
        let names: Vec<String> = unknown.iter().map(|v| format!("{{{{ {v} }}}}")).collect();
        return Err(InvalidInput::new(
            field,
            format!(
                "{field} names unknown placeholders {}; the placeholders are {}, and {{{{ tags.KEY }}}}",
                names.join(", "),
                PLACEHOLDERS.iter().chain(extra).map(|p| format!("{{{{ {p} }}}}")).collect::<Vec<_>>().join(", ")
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
        Self::parse_with(subject, text, html, &[])
    }

    /// Checks an allotment's template: it may name [`ALLOTMENT_PLACEHOLDERS`] too.
    pub fn parse_for_allotment(subject: &str, text: &str, html: Option<&str>) -> Result<Self, InvalidInput> {
        Self::parse_with(subject, text, html, &ALLOTMENT_PLACEHOLDERS)
    }

    fn parse_with(subject: &str, text: &str, html: Option<&str>, extra: Extra) -> Result<Self, InvalidInput> {
        if subject.trim().is_empty() {
            return Err(InvalidInput::new("subject", "subject must not be empty"));
        }
        if text.trim().is_empty() {
            return Err(InvalidInput::new("template", "template must not be empty"));
        }
        check_part("subject", "subject.txt", subject, extra)?;
        check_part("template", "template.txt", text, extra)?;
        if let Some(html) = html {
            check_part("html_template", "template.html", html, extra)?;
        }
        Ok(Self { subject: subject.to_owned(), text: text.to_owned(), html: html.map(str::to_owned) })
    }

    /// Fills the template in for one message. A tag the recipient does not have is empty. A
    /// message over [`MAX_MESSAGE_BYTES`], or a subject over [`MAX_SUBJECT_CHARS`], is refused,
    /// naming the part and the limit.
    pub fn render(&self, context: &MessageContext) -> Result<RenderedMessage, InvalidInput> {
        let env = environment();
        let mut used = 0;
        let mut render = |field: &'static str, name: &str, source: &str| {
            let too_large = || {
                InvalidInput::new(
                    field,
                    format!(
                        "{field}: the filled-in message is larger than {} KiB (subject, text and HTML together)",
                        MAX_MESSAGE_BYTES / 1024
                    ),
                )
            };
            let template = env.template_from_named_str(name, source).map_err(|e| {
                InvalidInput::new(field, format!("{field} could not be filled in: {}", e.detail().unwrap_or("error")))
            })?;
            let mut out = Capped { text: Vec::new(), room: MAX_MESSAGE_BYTES - used, full: false };
            if let Err(e) = template.render_captured_to(context, &mut out) {
                if out.full {
                    return Err(too_large());
                }
                let detail = if e.kind() == minijinja::ErrorKind::OutOfFuel {
                    "it runs too long"
                } else {
                    e.detail().unwrap_or("error")
                };
                return Err(InvalidInput::new(field, format!("{field} could not be filled in: {detail}")));
            }
            used += out.text.len();
            String::from_utf8(out.text)
                .map_err(|_| InvalidInput::new(field, format!("{field} could not be filled in: not UTF-8")))
        };
        let subject = render("subject", "subject.txt", &self.subject)?;
        let subject: String = subject.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
        let subject = subject.trim().to_owned();
        let length = subject.chars().count();
        if length > MAX_SUBJECT_CHARS {
            return Err(InvalidInput::new(
                "subject",
                format!(
                    "subject is {length} characters once filled in; it may have at most {MAX_SUBJECT_CHARS} \
                     (mail servers refuse longer header lines)"
                ),
            ));
        }
        let text = render("template", "template.txt", &self.text)?;
        let html = self.html.as_deref().map(|h| render("html_template", "template.html", h)).transpose()?;
        Ok(RenderedMessage { subject, text, html })
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
    fn constructs_that_can_grow_or_loop_are_refused_and_named() {
        for (source, named) in [
            ("{% macro m(n) %}{% if n > 0 %}{{ m(n-1) }}{{ m(n-1) }}{% endif %}{% endmacro %}{{ m(22) }}", "macro"),
            ("{{ \"x\" * 100000000 }}", "\"*\""),
            ("{{ code ~ code }}", "\"~\""),
            ("{{ code + code }}", "\"+\""),
            ("{% set x = code %}{{ x }}", "{% set %}"),
            ("{% for c in code %}{{ c }}{% endfor %}", "{% for %}"),
            ("{% include \"x\" %}", "{% include %}"),
            ("{% with x = 1 %}{% endwith %}", "{% with %}"),
            ("{% filter upper %}x{% endfilter %}", "{% filter %}"),
            ("{{ code | replace(\"A\", \"BBBBBBBB\") }}", "the filter \"replace\""),
            ("{{ name | indent(100000000) }}", "the filter \"indent\""),
            ("{{ [code] }}", "\"[\""),
            ("{% if code is sameas name %}x{% endif %}", "the test \"sameas\""),
        ] {
            let e = MessageTemplate::parse("Hi", source, None).unwrap_err();
            assert_eq!(e.field, "template", "{source}");
            assert!(e.message.contains(named), "{source}: {}", e.message);
        }
        // What a message needs still works.
        let t = MessageTemplate::parse(
            "{{ conference | upper }}",
            "{% if tags.company is defined %}{{ tags.company | title }}{% elif name %}{{ name }}{% else %}-{% endif %} \
             {{ tags.missing | default(\"none\") }}{% if tags.missing is not defined %}!{% endif %}",
            None,
        )
        .unwrap();
        let m = t.render(&context()).unwrap();
        assert_eq!(m.subject, "PYCON US 2027");
        assert_eq!(m.text, "Acme <& Co> none!");
    }

    #[test]
    fn a_message_is_at_most_its_cap_and_a_subject_at_most_its_length() {
        // 99,000 characters of text, a placeholder repeated 2,000 times: under the cap.
        let big = "x".repeat(99_000);
        let t = MessageTemplate::parse("Hi", &big, Some(&big)).unwrap();
        assert!(t.render(&context()).is_ok());
        // A message over 256 KiB as the placeholders fill it in (a long tag, escaped in HTML).
        let tags = BTreeMap::from([("company".to_owned(), "<".repeat(200))]);
        let long = Recipient::parse("ana@example.org", "Ana", tags).unwrap();
        let tz: Tz = "UTC".parse().unwrap();
        let long = MessageContext::new("C", &long, "Conf", tz, VoucherType::Comp, Money::ZERO, None);
        let many = "{{ tags.company }}".repeat(1_000);
        let t = MessageTemplate::parse("Hi", &many, Some(&many)).unwrap();
        let e = t.render(&long).unwrap_err();
        assert_eq!(e.field, "html_template");
        assert!(e.message.contains("256 KiB"), "{}", e.message);
        // A subject that fills in past 250 characters is refused; 250 is fine.
        let e = MessageTemplate::parse(&"a".repeat(999), "x", None).unwrap().render(&context()).unwrap_err();
        assert_eq!(e.field, "subject");
        assert!(e.message.contains("999 characters") && e.message.contains("at most 250"), "{}", e.message);
        assert!(MessageTemplate::parse(&"a".repeat(250), "x", None).unwrap().render(&context()).is_ok());
        let e = MessageTemplate::parse(&"{{ tags.company }}".repeat(30), "x", None).unwrap().render(&context());
        assert_eq!(e.unwrap_err().field, "subject");
    }

    #[test]
    fn discounts_in_words() {
        assert_eq!(discount_in_words(VoucherType::Comp, Money::ZERO), "free");
        assert_eq!(discount_in_words(VoucherType::Percentage, Money::from_cents(2500)), "25% off");
        assert_eq!(discount_in_words(VoucherType::Percentage, Money::from_cents(1250)), "12.50% off");
        assert_eq!(discount_in_words(VoucherType::FixedAmount, Money::from_cents(2000)), "20.00 off");
    }
}
