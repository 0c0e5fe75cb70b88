//! The client's address.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::http::HeaderMap;

/// The address the load balancer appended: the last entry of the last `X-Forwarded-For` line
/// (a client may send lines and entries of its own ahead of it, never after it). `None` when
/// that entry is not an address.
fn forwarded_for(headers: &HeaderMap) -> Option<IpAddr> {
    let last_line = headers.get_all("x-forwarded-for").iter().next_back()?;
    last_line.to_str().ok()?.rsplit(',').next()?.trim().parse().ok()
}

/// The client's address as every per-address limit counts it (the checkout's guessing limit and
/// its shared window, the console's sign-in limit): with `trust_forwarded_for`, the entry the load
/// balancer appended to `X-Forwarded-For`, else the TCP peer (unspecified for in-process calls);
/// an IPv6 address as its /64 ([`vouchers_core::domain::caller_network`]).
pub fn client_address(trust_forwarded_for: bool, headers: &HeaderMap, peer: Option<SocketAddr>) -> IpAddr {
    let forwarded = trust_forwarded_for.then(|| forwarded_for(headers)).flatten();
    let address = forwarded.or(peer.map(|p| p.ip())).unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    vouchers_core::domain::caller_network(address)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(lines: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for line in lines {
            headers.append("x-forwarded-for", line.parse().unwrap());
        }
        headers
    }

    #[test]
    fn the_balancers_entry_counts_only_when_trusted() {
        let peer = Some(SocketAddr::from(([10, 0, 0, 1], 4000)));
        let sent = headers(&["1.1.1.1, 2.2.2.2", "3.3.3.3, 4.4.4.4"]);
        assert_eq!(client_address(true, &sent, peer), IpAddr::from([4, 4, 4, 4]));
        assert_eq!(client_address(false, &sent, peer), IpAddr::from([10, 0, 0, 1]));
        assert_eq!(client_address(true, &headers(&["not an address"]), peer), IpAddr::from([10, 0, 0, 1]));
        assert_eq!(client_address(true, &HeaderMap::new(), None), IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        let network: IpAddr = "2001:db8:1:2::".parse().unwrap();
        assert_eq!(client_address(true, &headers(&["2001:db8:1:2:3:4:5:6"]), peer), network);
    }
}
