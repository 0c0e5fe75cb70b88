//! The webhook sender's HTTP client: [`HttpClient`] POSTs a delivery with reqwest over rustls,
//! through a resolver that refuses a host with an internal address (unless the operator allows
//! them), so a name that resolves to the deployment's own network is refused at every delivery,
//! and the connection goes to an address the check saw (no second lookup to rebind). Redirects
//! are not followed, no proxy is used, an answer must come within the timeout, and at most
//! [`RESPONSE_KEPT`] bytes of its body are read.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::domain::{forbidden_address, TargetPolicy, WebhookUrl};
use crate::service::webhooks::{Answer, WebhookClient, RESPONSE_KEPT};

/// How long a receiver has to answer.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// POSTs deliveries; see the module.
#[derive(Debug, Clone)]
pub struct HttpClient {
    client: reqwest::Client,
}

/// Resolves a host name and refuses it when any of its addresses is internal.
#[derive(Debug)]
struct GuardedResolver {
    allow_private: bool,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if found.is_empty() {
                return Err(format!("{host} resolves to no address").into());
            }
            if !allow_private {
                // Not the address itself: the delivery's error is shown to organizers.
                if let Some(reason) = found.iter().find_map(|a| forbidden_address(a.ip())) {
                    return Err(format!("refused target: {host} resolves to a {reason} address").into());
                }
            }
            let addresses: reqwest::dns::Addrs = Box::new(found.into_iter());
            Ok(addresses)
        })
    }
}

impl HttpClient {
    /// A client that sends where `policy` allows, waiting at most `timeout` for an answer.
    pub fn new(policy: TargetPolicy, timeout: Duration) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .dns_resolver(Arc::new(GuardedResolver { allow_private: policy.allow_private }))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(timeout)
            .connect_timeout(timeout)
            .user_agent(concat!("vouchers-webhooks/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("the webhook client could not start: {e}"))?;
        Ok(Self { client })
    }
}

#[async_trait]
impl WebhookClient for HttpClient {
    async fn post(&self, url: &WebhookUrl, headers: &[(&'static str, String)], body: &str) -> Result<Answer, String> {
        let mut request = self.client.post(url.as_str()).body(body.to_owned());
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let mut response = request.send().await.map_err(describe)?;
        let status = response.status().as_u16();
        let mut kept: Vec<u8> = Vec::new();
        while kept.len() < RESPONSE_KEPT {
            match response.chunk().await {
                Ok(Some(chunk)) => kept.extend_from_slice(&chunk[..chunk.len().min(RESPONSE_KEPT - kept.len())]),
                // The status came; a body cut short does not change the verdict.
                Ok(None) | Err(_) => break,
            }
        }
        Ok(Answer { status, body: String::from_utf8_lossy(&kept).into_owned() })
    }
}

/// An error in words, with its causes (reqwest's own message is "error sending request"), and
/// never the URL's query (a receiver may put a token there).
fn describe(error: reqwest::Error) -> String {
    let error = error.without_url();
    let mut words = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        let text = cause.to_string();
        if !words.contains(&text) {
            words.push_str(": ");
            words.push_str(&text);
        }
        source = cause.source();
    }
    if error.is_timeout() {
        words.push_str(" (no answer within the timeout)");
    }
    words
}
