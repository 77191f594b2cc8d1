//! Which addresses `fetch()` may connect to: public unicast only, unless the operator allows private ones; checked on every name the resolver answers and on every literal IP.
//!
//! A host name on the allowlist is not enough: `api.example.com` may resolve (or be made to
//! resolve, by whoever controls its DNS) to `127.0.0.1`, the cloud metadata address or an
//! internal service. So the client's resolver drops every such address, and the connection
//! is made only to an address that passed — the check and the connection cannot disagree
//! (no DNS rebinding between them).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Whether `ip` is a public unicast address: not loopback, private, link-local, shared
/// (CGNAT), multicast, broadcast, unspecified, documentation, benchmarking or reserved, and
/// not an IPv6 form of one of those.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(a == 0                                   // "this network"
        || a == 10                             // private
        || a == 127                            // loopback
        || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT)
        || (a == 169 && b == 254)              // link-local, cloud metadata
        || (a == 172 && (16..32).contains(&b)) // private
        || (a == 192 && b == 0 && c == 0)      // IETF protocol assignments
        || (a == 192 && b == 0 && c == 2)      // documentation
        || (a == 192 && b == 168)              // private
        || (a == 198 && (b == 18 || b == 19))  // benchmarking
        || (a == 198 && b == 51 && c == 100)   // documentation
        || (a == 203 && b == 0 && c == 113)    // documentation
        || a >= 224) // multicast, reserved, broadcast
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let segments = ip.segments();
    let embedded = |hi: u16, lo: u16| Ipv4Addr::new((hi >> 8) as u8, hi as u8, (lo >> 8) as u8, lo as u8);
    // Forms that reach an IPv4 address are judged by that address: IPv4-mapped
    // (::ffff:a.b.c.d), IPv4-translated (::ffff:0:a.b.c.d), IPv4-compatible (::a.b.c.d),
    // NAT64 (64:ff9b::a.b.c.d) and 6to4 (2002:aabb:ccdd::).
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    if segments[..4] == [0, 0, 0, 0] && matches!(segments[4], 0 | 0xffff) && segments[5] == 0 {
        return is_public_v4(embedded(segments[6], segments[7]));
    }
    if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return is_public_v4(embedded(segments[6], segments[7]));
    }
    if segments[0] == 0x2002 {
        return is_public_v4(embedded(segments[1], segments[2]));
    }
    let first = segments[0];
    !((first & 0xfe00) == 0xfc00          // unique local
        || (first & 0xffc0) == 0xfe80     // link-local
        || (first & 0xffc0) == 0xfec0     // site-local (deprecated)
        || (first & 0xff00) == 0xff00     // multicast
        || (first == 0x64 && segments[1] == 0xff9b && segments[2] == 1) // NAT64 local use (64:ff9b:1::/48)
        || (first == 0x100 && segments[1..4] == [0, 0, 0]) // discard only (100::/64)
        || (first == 0x2001 && segments[1] == 0x0db8) // documentation
        || (first == 0x2001 && segments[1] < 0x0200)) // IETF special purpose: Teredo (2001::/32), ORCHID, benchmarking, …
}

/// Why a name gave no address `fetch()` may use.
#[derive(Debug, thiserror::Error)]
#[error("{host} resolves only to private, loopback or otherwise internal addresses, which fetch() may not reach")]
pub struct AddressRefused {
    pub host: String,
}

/// The client's resolver: the system's answers, minus every address that is not public
/// (unless the operator allowed private addresses).
pub struct CheckedResolver {
    pub allow_private: bool,
}

impl Resolve for CheckedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found = tokio::net::lookup_host((host.as_str(), 0)).await?;
            let usable: Vec<SocketAddr> = found.filter(|addr| allow_private || is_public(addr.ip())).collect();
            if usable.is_empty() {
                return Err(Box::new(AddressRefused { host }) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(usable.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_addresses_are_not_public() {
        for internal in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "192.0.2.1",
            "198.18.0.1",
            "::1",
            "::",
            "fc00::1",
            "fd12::1",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a9fe:a9fe",
            "::10.0.0.1",
            "2001:db8::1",
        ] {
            assert!(!is_public(internal.parse().unwrap()), "{internal} must be refused");
        }
        for public in ["93.184.216.34", "8.8.8.8", "172.32.0.1", "100.128.0.1", "2606:4700::1111", "::ffff:8.8.8.8", "2002:808:808::1"] {
            assert!(is_public(public.parse().unwrap()), "{public} is public");
        }
    }
}
