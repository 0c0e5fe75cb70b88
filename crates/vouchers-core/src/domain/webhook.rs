//! Webhooks as the domain knows them: the event types, a subscription and its secret, where a
//! delivery may go (the target rules), how a delivery is signed, and when a failed one is tried
//! again.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::Sha256;

use super::voucher::{rfc3339, rfc3339_opt};
use super::InvalidInput;

/// What happened, as a subscription names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventType {
    /// A use was held for a cart.
    VoucherHeld,
    /// A cart's hold was released (a hold that runs out sends nothing).
    VoucherHoldReleased,
    /// A use was consumed by an order.
    VoucherRedeemed,
    /// An order's use was given back.
    VoucherReleased,
    /// A voucher was changed or deactivated by an organizer.
    VoucherUpdated,
    /// A batch was generated or imported.
    BatchCreated,
    /// A batch was deactivated.
    BatchDeactivated,
    /// A redemption used the last of a voucher's budget.
    BudgetExhausted,
    /// An email will not be tried again.
    MessageFailed,
    /// An allotment's deadline passed: its unassigned passes were returned.
    AllotmentReturned,
}

impl EventType {
    /// Every type, in the order of its bit.
    pub const ALL: [EventType; 10] = [
        EventType::VoucherHeld,
        EventType::VoucherHoldReleased,
        EventType::VoucherRedeemed,
        EventType::VoucherReleased,
        EventType::VoucherUpdated,
        EventType::BatchCreated,
        EventType::BatchDeactivated,
        EventType::BudgetExhausted,
        EventType::MessageFailed,
        EventType::AllotmentReturned,
    ];

    /// Its name in the CLI, the JSON and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::VoucherHeld => "voucher.held",
            EventType::VoucherHoldReleased => "voucher.hold_released",
            EventType::VoucherRedeemed => "voucher.redeemed",
            EventType::VoucherReleased => "voucher.released",
            EventType::VoucherUpdated => "voucher.updated",
            EventType::BatchCreated => "batch.created",
            EventType::BatchDeactivated => "batch.deactivated",
            EventType::BudgetExhausted => "budget.exhausted",
            EventType::MessageFailed => "message.failed",
            EventType::AllotmentReturned => "allotment.returned",
        }
    }

    /// The type named `name`; [`InvalidInput`] on `events` naming every type otherwise.
    pub fn parse(name: &str) -> Result<Self, InvalidInput> {
        Self::ALL.into_iter().find(|t| t.as_str() == name).ok_or_else(|| {
            let names: Vec<&str> = Self::ALL.iter().map(|t| t.as_str()).collect();
            InvalidInput::new(
                "events",
                format!("events must name event types among {}, got {}", names.join(", "), super::quoted(name)),
            )
        })
    }

    /// Its bit in a subscription's stored set.
    pub fn bit(self) -> i64 {
        let index = Self::ALL.iter().position(|t| *t == self).unwrap_or_default();
        1 << index
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The event types a subscription wants (never none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventSet(i64);

impl EventSet {
    /// Every type.
    pub fn all() -> Self {
        Self(EventType::ALL.iter().fold(0, |bits, t| bits | t.bit()))
    }

    /// The types named; every type when `names` is empty. Names are trimmed; a repeated one
    /// counts once.
    pub fn parse<S: AsRef<str>>(names: &[S]) -> Result<Self, InvalidInput> {
        if names.is_empty() {
            return Ok(Self::all());
        }
        if names.len() > 100 {
            return Err(InvalidInput::new("events", "events must name at most 100 event types"));
        }
        names.iter().try_fold(Self(0), |set, name| Ok(Self(set.0 | EventType::parse(name.as_ref().trim())?.bit())))
    }

    /// The set stored as `bits`; `None` when it names no known type.
    pub fn from_bits(bits: i64) -> Option<Self> {
        let known = bits & Self::all().0;
        (known != 0).then_some(Self(known))
    }

    /// As stored.
    pub fn bits(self) -> i64 {
        self.0
    }

    /// True when the set has `event`.
    pub fn contains(self, event: EventType) -> bool {
        self.0 & event.bit() != 0
    }

    /// The names, in the order of [`EventType::ALL`].
    pub fn names(self) -> Vec<String> {
        EventType::ALL.iter().filter(|t| self.contains(**t)).map(|t| t.as_str().to_owned()).collect()
    }
}

/// A subscription as the API shows it: `{"id", "url", "events", "enabled"}` (never its secret).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Webhook {
    /// Database id.
    pub id: i64,
    /// Where deliveries go.
    pub url: String,
    /// The event types it wants.
    pub events: Vec<String>,
    /// Whether events are written for it and delivered.
    pub enabled: bool,
    /// Why it was disabled by the sender (deliveries failed for 3 days), for the console.
    #[serde(skip)]
    pub disabled_reason: Option<String>,
    /// Creation time.
    #[serde(skip)]
    pub created_at: DateTime<Utc>,
}

/// A subscription's signing secret, shown once (at create and rotate). `Debug` never prints it.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret(String);

impl WebhookSecret {
    /// Every secret starts with this, so a leaked one is easy to recognise.
    pub const PREFIX: &'static str = "whsec_";

    /// Wraps a stored or generated secret.
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }

    /// The secret itself: for signing, and for showing it once.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret(***)")
    }
}

/// Where a delivery of one event stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Not delivered yet: waiting its turn, or its next attempt.
    Pending,
    /// A 2xx answer came.
    Delivered,
    /// Not delivered for 3 days: no more attempts (a redelivery queues it again).
    Failed,
}

impl DeliveryStatus {
    /// Its name in the CLI, the JSON and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Failed => "failed",
        }
    }

    /// The status named `name` (the `status` filter).
    pub fn parse(name: &str) -> Result<Self, InvalidInput> {
        match name {
            "pending" => Ok(DeliveryStatus::Pending),
            "delivered" => Ok(DeliveryStatus::Delivered),
            "failed" => Ok(DeliveryStatus::Failed),
            other => Err(InvalidInput::new(
                "status",
                format!("status must be one of pending, delivered, failed, got {}", super::quoted(other)),
            )),
        }
    }
}

/// One event's delivery to one subscription, as the API lists it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Delivery {
    /// Database id (what `redeliver` takes).
    pub id: i64,
    /// The subscription.
    pub webhook_id: i64,
    /// The event's id: the same on every attempt and redelivery (`Vouchers-Event-Id`).
    pub event_id: String,
    /// The event type.
    #[serde(rename = "type")]
    pub event_type: String,
    /// Where it stands.
    pub status: DeliveryStatus,
    /// Attempts so far.
    pub attempts: i64,
    /// The receiver's status code at the last attempt (`null`: none yet, or no answer).
    pub last_status_code: Option<i64>,
    /// When a pending delivery is tried next (it also waits for the subscription's earlier ones).
    #[serde(serialize_with = "rfc3339_opt")]
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// When a 2xx answer came.
    #[serde(serialize_with = "rfc3339_opt")]
    pub delivered_at: Option<DateTime<Utc>>,
    /// Why the last attempt failed, for the console (no answer, a refused target).
    #[serde(skip)]
    pub last_error: Option<String>,
    /// The start of the receiver's last answer (at most 4 KiB), for the console.
    #[serde(skip)]
    pub response_body: Option<String>,
    /// When the event was written.
    #[serde(skip)]
    pub created_at: DateTime<Utc>,
}

/// An event as it is delivered: `{"id", "type", "created_at", "conference", "data"}`.
#[derive(Debug, Clone, Serialize)]
pub struct Event<'a, D: Serialize> {
    /// `evt_` and 26 random characters: what a receiver de-duplicates on.
    pub id: &'a str,
    /// The event type.
    #[serde(rename = "type")]
    pub event_type: &'static str,
    /// When the change happened.
    #[serde(serialize_with = "rfc3339")]
    pub created_at: DateTime<Utc>,
    /// The conference's slug.
    pub conference: &'a str,
    /// What changed: the voucher or batch JSON of the API, and what the event adds.
    pub data: D,
}

/// The operator's rules for where a webhook may point (never an API field).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TargetPolicy {
    /// Plain `http://` is allowed (`VOUCHERS_WEBHOOK_ALLOW_HTTP=1`).
    pub allow_http: bool,
    /// Loopback, private, link-local and other internal addresses are allowed
    /// (`VOUCHERS_WEBHOOK_ALLOW_PRIVATE=1`).
    pub allow_private: bool,
}

/// The longest URL a subscription takes.
pub const MAX_URL_LEN: usize = 2000;

/// A webhook target that passed the rules that need no DNS: `https://` (or `http://` when the
/// operator allows it), a host, no credentials, and no internal IP address written in it. A host
/// name is checked by resolving it (`service::webhooks::check_target`, and the sender's resolver).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookUrl(url::Url);

impl WebhookUrl {
    /// Checks `text` against `policy`; [`InvalidInput`] on `url` naming the rule otherwise.
    pub fn parse(text: &str, policy: TargetPolicy) -> Result<Self, InvalidInput> {
        let invalid = |message: String| InvalidInput::new("url", message);
        let text = text.trim();
        if text.is_empty() {
            return Err(invalid("url is required".into()));
        }
        if text.chars().count() > MAX_URL_LEN {
            return Err(invalid(format!("url must be at most {MAX_URL_LEN} characters")));
        }
        let url = url::Url::parse(text).map_err(|e| invalid(format!("url is not a valid URL ({e})")))?;
        match url.scheme() {
            "https" => {}
            "http" if policy.allow_http => {}
            "http" => return Err(invalid(
                "url must start with https:// (plain http:// needs the operator setting VOUCHERS_WEBHOOK_ALLOW_HTTP=1)"
                    .into(),
            )),
            other => return Err(invalid(format!("url must start with https://, got a {other}: URL"))),
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(invalid("url must not carry a user name or password".into()));
        }
        let host = match url.host() {
            Some(host) => host,
            None => return Err(invalid("url must name a host".into())),
        };
        if !policy.allow_private {
            let ip = match host {
                url::Host::Ipv4(ip) => Some(IpAddr::V4(ip)),
                url::Host::Ipv6(ip) => Some(IpAddr::V6(ip)),
                // A name is judged by what it resolves to, at create time and at every delivery.
                url::Host::Domain(_) => None,
            };
            if let Some(reason) = ip.and_then(forbidden_address) {
                return Err(invalid(format!("url must not point at a {reason} address")));
            }
        }
        Ok(Self(url))
    }

    /// The URL.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// The host to resolve, and the port, when the host is a name (not an IP address).
    pub fn domain(&self) -> Option<(&str, u16)> {
        self.0.domain().map(|d| (d, self.0.port_or_known_default().unwrap_or(443)))
    }
}

/// Why a delivery may not go to `ip` (`"loopback"`, `"private"`, ...); `None` for a public
/// address. IPv4-mapped and NAT64 IPv6 addresses are judged by the IPv4 address they carry.
pub fn forbidden_address(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => forbidden_v6(v6),
    }
}

fn forbidden_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, ..] = ip.octets();
    if ip.is_loopback() {
        Some("loopback")
    } else if ip.is_unspecified() || a == 0 {
        Some("unspecified")
    } else if ip.is_private() || (a == 100 && (64..128).contains(&b)) {
        // 10/8, 172.16/12, 192.168/16, and the carrier-grade NAT range 100.64/10.
        Some("private")
    } else if ip.is_link_local() {
        // 169.254/16: the cloud metadata service (169.254.169.254) lives here.
        Some("link-local")
    } else if ip.is_multicast() {
        Some("multicast")
    } else if ip.is_broadcast() || a >= 240 {
        Some("reserved")
    } else {
        None
    }
}

fn forbidden_v6(ip: Ipv6Addr) -> Option<&'static str> {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return forbidden_v4(v4);
    }
    let segments = ip.segments();
    // NAT64 (64:ff9b::/96) reaches the IPv4 address in its last 32 bits.
    if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        let [.., hi, lo] = segments;
        return forbidden_v4(Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo)));
    }
    if ip.is_loopback() {
        Some("loopback")
    } else if ip.is_unspecified() {
        Some("unspecified")
    } else if segments[0] & 0xfe00 == 0xfc00 {
        Some("private")
    } else if segments[0] & 0xffc0 == 0xfe80 {
        Some("link-local")
    } else if ip.is_multicast() {
        Some("multicast")
    } else if segments[..6] == [0, 0, 0, 0, 0, 0] {
        // The deprecated IPv4-compatible form ::a.b.c.d.
        Some("reserved")
    } else {
        None
    }
}

/// The `Vouchers-Signature` header of `body` sent at `t` (Unix seconds): `t=<t>,v1=<hex>` with
/// one `v1` per secret, each the HMAC-SHA256 of `"<t>.<body>"` keyed by the secret's text.
pub fn signature_header(secrets: &[&WebhookSecret], t: i64, body: &str) -> String {
    let mut header = format!("t={t}");
    for secret in secrets {
        header.push_str(",v1=");
        header.push_str(&sign(secret, t, body));
    }
    header
}

/// The hex HMAC-SHA256 of `"<t>.<body>"` keyed by `secret`.
pub fn sign(secret: &WebhookSecret, t: i64, body: &str) -> String {
    // HMAC takes a key of any length: `new_from_slice` cannot fail for it.
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.expose().as_bytes()) {
        Ok(mac) => mac,
        Err(_) => return String::new(),
    };
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    let digest = mac.finalize().into_bytes();
    digest.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// When deliveries are tried again: after `base` (30 s by default), doubling with each failed
/// attempt, at most [`RetrySchedule::MAX_GAP`] apart, with jitter, for up to
/// [`RetrySchedule::GIVE_UP_AFTER`] after the first attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetrySchedule {
    /// The wait after the first failed attempt.
    pub base: std::time::Duration,
}

impl RetrySchedule {
    /// The longest wait between two attempts.
    pub const MAX_GAP: Duration = Duration::hours(6);
    /// How long after its first attempt a delivery stops being tried.
    pub const GIVE_UP_AFTER: Duration = Duration::days(3);

    /// The instant of the next attempt after `attempts` failed attempts, the first at
    /// `first_attempt_at`, the last ending at `now`; `jitter` (0 to 1) spreads it between 80% and
    /// 120% of the wait. `None` when it would come more than [`Self::GIVE_UP_AFTER`] after the
    /// first attempt: the delivery failed.
    pub fn next_attempt(
        &self,
        first_attempt_at: DateTime<Utc>,
        attempts: i64,
        now: DateTime<Utc>,
        jitter: f64,
    ) -> Option<DateTime<Utc>> {
        let doublings = u32::try_from(attempts.saturating_sub(1).clamp(0, 30)).unwrap_or(30);
        let max_gap = Self::MAX_GAP.to_std().unwrap_or_default();
        let wait = self.base.saturating_mul(2u32.saturating_pow(doublings)).min(max_gap);
        let wait = wait.mul_f64(0.8 + 0.4 * jitter.clamp(0.0, 1.0)).min(max_gap);
        let at = now + Duration::from_std(wait).unwrap_or(Self::MAX_GAP);
        (at <= first_attempt_at + Self::GIVE_UP_AFTER).then_some(at)
    }
}

impl Default for RetrySchedule {
    fn default() -> Self {
        Self { base: std::time::Duration::from_secs(30) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open() -> TargetPolicy {
        TargetPolicy { allow_http: true, allow_private: true }
    }

    #[test]
    fn every_event_type_round_trips_and_has_its_own_bit() {
        let mut bits = 0;
        for t in EventType::ALL {
            assert_eq!(EventType::parse(t.as_str()).unwrap(), t);
            assert_eq!(bits & t.bit(), 0);
            bits |= t.bit();
        }
        assert_eq!(EventSet::all().bits(), bits);
        assert_eq!(EventSet::parse::<&str>(&[]).unwrap().names().len(), 10);
        let set = EventSet::parse(&["voucher.redeemed", " batch.created ", "voucher.redeemed"]).unwrap();
        assert_eq!(set.names(), ["voucher.redeemed", "batch.created"]);
        let error = EventSet::parse(&["voucher.eaten"]).unwrap_err();
        assert_eq!(error.field, "events");
        assert!(error.message.contains("voucher.eaten") && error.message.contains("message.failed"));
        assert_eq!(EventSet::from_bits(0), None);
        assert_eq!(EventSet::from_bits(set.bits()), Some(set));
    }

    #[test]
    fn targets_must_be_https_with_a_host_and_no_credentials() {
        let strict = TargetPolicy::default();
        assert!(WebhookUrl::parse("https://hooks.example.com/vouchers", strict).is_ok());
        for (url, words) in [
            ("http://hooks.example.com/", "VOUCHERS_WEBHOOK_ALLOW_HTTP"),
            ("ftp://hooks.example.com/", "ftp"),
            ("https://user:pw@hooks.example.com/", "password"),
            ("https://user@hooks.example.com/", "user name"),
            ("not a url", "not a valid URL"),
            ("", "required"),
            ("file:///etc/passwd", "file"),
        ] {
            let error = WebhookUrl::parse(url, strict).unwrap_err();
            assert_eq!(error.field, "url", "{url}");
            assert!(error.message.contains(words), "{url}: {}", error.message);
        }
        let long = format!("https://example.com/{}", "a".repeat(MAX_URL_LEN));
        assert!(WebhookUrl::parse(&long, open()).unwrap_err().message.contains("2000"));
        assert!(WebhookUrl::parse("http://127.0.0.1:9/", open()).is_ok());
    }

    #[test]
    fn internal_addresses_are_refused_unless_the_operator_allows_them() {
        let strict = TargetPolicy { allow_http: true, allow_private: false };
        for url in [
            "http://127.0.0.1/",
            "https://10.0.0.1/",
            "https://172.16.5.4/",
            "https://192.168.1.1/",
            "https://[::1]/",
            "https://169.254.169.254/latest/meta-data",
            "https://0.0.0.0/",
            "https://[::]/",
            "https://[::ffff:127.0.0.1]/",
            "https://[::ffff:10.1.2.3]/",
            "https://[64:ff9b::a9fe:a9fe]/",
            "https://[fe80::1]/",
            "https://[fd00::1]/",
            "https://224.0.0.1/",
            "https://[ff02::1]/",
            "https://100.64.0.1/",
            "https://2130706433/",
        ] {
            let error = WebhookUrl::parse(url, strict).unwrap_err();
            assert_eq!(error.field, "url", "{url}");
            assert!(error.message.contains("must not point at"), "{url}: {}", error.message);
            assert!(WebhookUrl::parse(url, open()).is_ok(), "{url}");
        }
        for url in ["https://93.184.216.34/", "https://[2606:2800:220:1::1]/", "https://hooks.example.com/"] {
            assert!(WebhookUrl::parse(url, strict).is_ok(), "{url}");
        }
    }

    #[test]
    fn the_signature_is_the_hmac_of_time_dot_body_under_each_secret() {
        // HMAC-SHA256 keyed "Jefe" over "0.what do ya want for nothing?", as Python's hmac
        // module computes it.
        let secret = WebhookSecret::new("Jefe");
        let mac = sign(&secret, 0, "what do ya want for nothing?");
        assert_eq!(mac, "37f471929915ccd2cbbe79feb84ffcff4f2bb25e15fc41c2506687331ae179cc");
        let old = WebhookSecret::new("whsec_old");
        let header = signature_header(&[&secret, &old], 1_700_000_000, "{}");
        let parts: Vec<&str> = header.split(',').collect();
        assert_eq!(parts[0], "t=1700000000");
        assert_eq!(parts[1], format!("v1={}", sign(&secret, 1_700_000_000, "{}")));
        assert_eq!(parts[2], format!("v1={}", sign(&old, 1_700_000_000, "{}")));
        assert_ne!(parts[1], parts[2]);
        assert_eq!(format!("{secret:?}"), "WebhookSecret(***)");
    }

    #[test]
    fn retries_double_from_the_base_up_to_six_hours_and_stop_after_three_days() {
        let schedule = RetrySchedule::default();
        let start: DateTime<Utc> = "2027-01-01T00:00:00Z".parse().unwrap();
        let wait = |attempts, jitter| schedule.next_attempt(start, attempts, start, jitter).unwrap() - start;
        assert_eq!(wait(1, 0.5), Duration::seconds(30));
        assert_eq!(wait(2, 0.5), Duration::seconds(60));
        assert_eq!(wait(3, 0.0), Duration::seconds(96));
        assert_eq!(wait(3, 1.0), Duration::seconds(144));
        assert_eq!(wait(20, 1.0), Duration::hours(6));
        assert_eq!(wait(60, 0.5), Duration::hours(6));
        // The last attempt may come at three days; one after that is not made.
        let late = start + Duration::days(3) - Duration::hours(1);
        assert_eq!(schedule.next_attempt(start, 20, late, 0.5), None);
        let earlier = start + Duration::days(2);
        assert!(schedule.next_attempt(start, 20, earlier, 0.5).is_some());
    }
}
