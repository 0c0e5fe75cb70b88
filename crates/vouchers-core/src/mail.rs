//! Sending the outbox over SMTP with `lettre`: the server's URL (whose password never shows in
//! `Debug`, `Display` or an error), the sender's address, and the [`Mailer`] that builds each
//! message (plain text, or plain text and HTML as alternatives) with its stable `Message-ID`.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::domain::InvalidInput;
use crate::service::outbox::{MailError, Mailer};
use crate::store::ClaimedMessage;

/// How the connection to the mail server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// `smtps://`: TLS from the first byte (port 465 by default).
    Tls,
    /// `smtp://` (the default, port 587): STARTTLS, required; the password is never sent in clear.
    StartTls,
    /// `smtp://...?tls=opportunistic`: STARTTLS when the server offers it.
    Opportunistic,
    /// `smtp://...?tls=none`: no encryption, for a relay on the same host (and the tests).
    None,
}

/// A mail server, from `VOUCHERS_SMTP_URL` (`smtp://user:pass@host:587`, `smtps://...`).
#[derive(Clone, PartialEq, Eq)]
pub struct SmtpUrl {
    host: String,
    port: u16,
    security: SmtpSecurity,
    user: Option<String>,
    password: Option<String>,
}

impl SmtpUrl {
    /// Reads an SMTP URL. A malformed one is an error naming `smtp_url` that never quotes the
    /// password.
    pub fn parse(text: &str) -> Result<Self, InvalidInput> {
        let bad = |rule: &str| InvalidInput::new("smtp_url", format!("smtp_url {rule}"));
        let url = url::Url::parse(text.trim()).map_err(|e| bad(&format!("is not a URL ({e})")))?;
        let (security, default_port) = match url.scheme() {
            "smtps" => (SmtpSecurity::Tls, 465),
            "smtp" => (SmtpSecurity::StartTls, 587),
            _ => return Err(bad("must start with smtp:// or smtps://")),
        };
        let host = url.host_str().filter(|h| !h.is_empty()).ok_or_else(|| bad("names no host"))?.to_owned();
        let mut security = security;
        for (key, value) in url.query_pairs() {
            match (key.as_ref(), value.as_ref(), security) {
                ("tls", "required", SmtpSecurity::StartTls) => security = SmtpSecurity::StartTls,
                ("tls", "opportunistic", SmtpSecurity::StartTls) => security = SmtpSecurity::Opportunistic,
                ("tls", "none", SmtpSecurity::StartTls) => security = SmtpSecurity::None,
                ("tls", _, _) => {
                    return Err(bad("takes tls=required, tls=opportunistic or tls=none, with smtp:// only"))
                }
                _ => return Err(bad("takes no parameter but tls")),
            }
        }
        let decode = |s: &str| percent_decode(s).ok_or_else(|| bad("has a user or password that is not UTF-8"));
        let user = (!url.username().is_empty()).then(|| decode(url.username())).transpose()?;
        let password = url.password().map(decode).transpose()?;
        Ok(Self { host, port: url.port().unwrap_or(default_port), security, user, password })
    }

    /// The host.
    pub fn host(&self) -> &str {
        &self.host
    }
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

impl fmt::Display for SmtpUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.security == SmtpSecurity::Tls { "smtps" } else { "smtp" };
        write!(f, "{scheme}://")?;
        if let Some(user) = &self.user {
            write!(f, "{user}")?;
            if self.password.is_some() {
                f.write_str(":***")?;
            }
            f.write_str("@")?;
        }
        write!(f, "{}:{}", self.host, self.port)?;
        match self.security {
            SmtpSecurity::Opportunistic => f.write_str("?tls=opportunistic"),
            SmtpSecurity::None => f.write_str("?tls=none"),
            _ => Ok(()),
        }
    }
}

impl fmt::Debug for SmtpUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SmtpUrl({self})")
    }
}

/// Delivers messages through one SMTP server.
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    /// The right-hand side of every `Message-ID`: the sender's domain.
    id_domain: String,
}

impl fmt::Debug for SmtpMailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpMailer").field("from", &self.from.to_string()).finish_non_exhaustive()
    }
}

impl SmtpMailer {
    /// A mailer for `url`, sending as `from` (`vouchers@example.org` or `PyCon <vouchers@example.org>`).
    pub fn new(url: &SmtpUrl, from: &str, timeout: Duration) -> Result<Self, InvalidInput> {
        let from: Mailbox = from.trim().parse().map_err(|_| {
            InvalidInput::new(
                "mail_from",
                format!("mail_from must be an address like vouchers@example.org, got {}", crate::domain::quoted(from)),
            )
        })?;
        let tls = || {
            TlsParameters::new(url.host.clone()).map_err(|e| {
                InvalidInput::new("smtp_url", format!("smtp_url: TLS cannot be set up for the host ({e})"))
            })
        };
        let security = match url.security {
            SmtpSecurity::Tls => Tls::Wrapper(tls()?),
            SmtpSecurity::StartTls => Tls::Required(tls()?),
            SmtpSecurity::Opportunistic => Tls::Opportunistic(tls()?),
            SmtpSecurity::None => Tls::None,
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(url.host.clone())
            .port(url.port)
            .tls(security)
            .timeout(Some(timeout));
        if let Some(user) = &url.user {
            builder = builder.credentials(Credentials::new(user.clone(), url.password.clone().unwrap_or_default()));
        }
        let id_domain = from.email.domain().to_owned();
        Ok(Self { transport: builder.build(), from, id_domain })
    }

    /// The `Message-ID` of a message: fixed by its key, so a message sent twice has one id.
    pub fn message_id(&self, message: &ClaimedMessage) -> String {
        format!("<{}@{}>", message.message_key, self.id_domain)
    }

    /// The message as it goes on the wire.
    pub fn build(&self, message: &ClaimedMessage) -> Result<Message, MailError> {
        let to_address = message
            .to_email
            .parse()
            .map_err(|_| MailError::Permanent(format!("the recipient address {:?} is not valid", message.to_email)))?;
        let to = Mailbox::new(Some(message.to_name.clone()), to_address);
        let builder = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(message.rendered.subject.clone())
            .message_id(Some(self.message_id(message)));
        let built = match &message.rendered.html {
            None => builder.singlepart(SinglePart::plain(message.rendered.text.clone())),
            Some(html) => {
                builder.multipart(MultiPart::alternative_plain_html(message.rendered.text.clone(), html.clone()))
            }
        };
        built.map_err(|e| MailError::Permanent(format!("the message cannot be built: {e}")))
    }
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, message: &ClaimedMessage) -> Result<(), MailError> {
        let email = self.build(message)?;
        match self.transport.send(email).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_permanent() => Err(MailError::Permanent(e.to_string())),
            Err(e) => Err(MailError::Temporary(e.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::RenderedMessage;

    #[test]
    fn urls_hide_their_password() {
        let url = SmtpUrl::parse("smtp://mailer:s3cr%40t@mail.example.org").unwrap();
        assert_eq!(url.port, 587);
        assert_eq!(url.security, SmtpSecurity::StartTls);
        assert_eq!(url.password.as_deref(), Some("s3cr@t"));
        assert_eq!(url.to_string(), "smtp://mailer:***@mail.example.org:587");
        assert!(!format!("{url:?}").contains("s3cr"));
        let tls = SmtpUrl::parse("smtps://u:p@mail.example.org").unwrap();
        assert_eq!((tls.port, tls.security), (465, SmtpSecurity::Tls));
        let plain = SmtpUrl::parse("smtp://127.0.0.1:2525?tls=none").unwrap();
        assert_eq!(plain.security, SmtpSecurity::None);
        for bad in ["http://x", "smtp://", "smtps://h?tls=none", "smtp://h?x=1", "not a url"] {
            let e = SmtpUrl::parse(bad).unwrap_err();
            assert_eq!(e.field, "smtp_url", "{bad}");
        }
        let e = SmtpUrl::parse("ftp://user:hunter2@host").unwrap_err();
        assert!(!e.message.contains("hunter2"), "{}", e.message);
    }

    #[test]
    fn a_message_has_a_stable_id_and_no_injected_header() {
        let url = SmtpUrl::parse("smtp://127.0.0.1:2525?tls=none").unwrap();
        let mailer = SmtpMailer::new(&url, "PyCon <vouchers@pycon.example.org>", Duration::from_secs(5)).unwrap();
        let message = ClaimedMessage {
            id: 1,
            attempt: 1,
            attempt_limit: 8,
            message_key: "abc123".into(),
            to_email: "ana@example.org".into(),
            to_name: "Ana \"Bcc: x@example.org\"".into(),
            rendered: RenderedMessage {
                subject: "Your code".into(),
                text: "CODE-1".into(),
                html: Some("<p>CODE-1</p>".into()),
            },
        };
        let raw = String::from_utf8(mailer.build(&message).unwrap().formatted()).unwrap();
        assert!(raw.contains("Message-ID: <abc123@pycon.example.org>"), "{raw}");
        assert!(!raw.lines().any(|l| l.starts_with("Bcc:")), "{raw}");
        assert!(raw.contains("multipart/alternative"), "{raw}");
        assert!(SmtpMailer::new(&url, "not an address", Duration::from_secs(5)).is_err());
    }
}
