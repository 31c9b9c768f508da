//! NETWORK_INTERFACE_INFO (MS-SMB2 2.2.32.5), the reply of
//! FSCTL_QUERY_NETWORK_INTERFACE_INFO: one 152-byte entry per address,
//! chained by their Next offsets.

use std::net::IpAddr;

use super::codec::*;
use crate::config::NetworkInterface;

/// Size of one entry: Next, IfIndex, Capability, Reserved, LinkSpeed and a
/// 128-byte SOCKADDR_STORAGE.
pub const ENTRY_LEN: usize = 24 + 128;
const RSS_CAPABLE: u32 = 0x1;
const AF_INET: u16 = 0x0002;
const AF_INET6: u16 = 0x0017;

/// The entries for `interfaces`, skipping any with IfIndex 0
/// (3.3.5.15.11); Next is 0 on the last.
pub fn encode_network_interfaces(interfaces: &[NetworkInterface]) -> Vec<u8> {
    let listed: Vec<&NetworkInterface> = interfaces.iter().filter(|i| i.if_index != 0).collect();
    let mut out = Vec::with_capacity(listed.len() * ENTRY_LEN);
    for (n, i) in listed.iter().enumerate() {
        let next = if n + 1 < listed.len() { ENTRY_LEN as u32 } else { 0 };
        put_u32(&mut out, next);
        put_u32(&mut out, i.if_index);
        put_u32(&mut out, if i.rss_capable { RSS_CAPABLE } else { 0 });
        put_u32(&mut out, 0);
        put_u64(&mut out, i.link_speed);
        let start = out.len();
        // SOCKADDR_IN / SOCKADDR_IN6 (2.2.32.5.1.1, 2.2.32.5.1.2): the
        // family little-endian, the port 0, the address in network order.
        match i.addr {
            IpAddr::V4(a) => {
                out.extend_from_slice(&AF_INET.to_le_bytes());
                out.extend_from_slice(&[0, 0]);
                out.extend_from_slice(&a.octets());
            }
            IpAddr::V6(a) => {
                out.extend_from_slice(&AF_INET6.to_le_bytes());
                out.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
                out.extend_from_slice(&a.octets());
            }
        }
        out.resize(start + 128, 0);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iface(if_index: u32, addr: &str, rss: bool) -> NetworkInterface {
        NetworkInterface { if_index, addr: addr.parse().unwrap(), link_speed: 10_000_000_000, rss_capable: rss }
    }

    #[test]
    fn entries_are_chained_and_carry_the_addresses() {
        let b = encode_network_interfaces(&[iface(2, "192.0.2.7", true), iface(0, "192.0.2.8", false), iface(2, "2001:db8::1", false)]);
        assert_eq!(b.len(), 2 * ENTRY_LEN, "IfIndex 0 is left out");
        assert_eq!(u32_at(&b, 0).unwrap(), ENTRY_LEN as u32);
        assert_eq!(u32_at(&b, 4).unwrap(), 2);
        assert_eq!(u32_at(&b, 8).unwrap(), RSS_CAPABLE);
        assert_eq!(u64_at(&b, 16).unwrap(), 10_000_000_000);
        assert_eq!(u16_at(&b, 24).unwrap(), AF_INET);
        assert_eq!(&b[26..32], &[0, 0, 192, 0, 2, 7]);
        let e = &b[ENTRY_LEN..];
        assert_eq!(u32_at(e, 0).unwrap(), 0, "the last has Next 0");
        assert_eq!(u32_at(e, 8).unwrap(), 0);
        assert_eq!(u16_at(e, 24).unwrap(), AF_INET6);
        let v6: std::net::Ipv6Addr = "2001:db8::1".parse().unwrap();
        assert_eq!(&e[32..48], &v6.octets());
        assert!(encode_network_interfaces(&[]).is_empty());
    }
}
