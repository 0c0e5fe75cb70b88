//! Which network a client address stands for when a limit counts callers.
//!
//! An IPv6 client is normally given a whole /64 (a home line, a cloud instance), so counting its
//! addresses one by one would give it 2^64 budgets: every per-address limit counts the /64. An
//! IPv4-mapped IPv6 address (`::ffff:203.0.113.7`) is the IPv4 address it maps.

use std::net::{IpAddr, Ipv6Addr};

/// The network a limit counts `address` as: an IPv4 address itself, an IPv6 address's /64 (its
/// first 64 bits, the rest zero), an IPv4-mapped IPv6 address as its IPv4 address.
pub fn caller_network(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(text: &str) -> String {
        caller_network(text.parse().unwrap()).to_string()
    }

    #[test]
    fn ipv6_counts_by_its_64_and_mapped_ipv4_as_ipv4() {
        assert_eq!(net("2001:db8:1:2:3:4:5:6"), "2001:db8:1:2::");
        assert_eq!(net("2001:db8:1:2:ffff:ffff:ffff:ffff"), "2001:db8:1:2::");
        assert_ne!(net("2001:db8:1:3::1"), net("2001:db8:1:2::1"));
        assert_eq!(net("::ffff:203.0.113.7"), "203.0.113.7");
        assert_eq!(net("203.0.113.7"), "203.0.113.7");
        assert_eq!(net("::1"), "::");
    }
}
