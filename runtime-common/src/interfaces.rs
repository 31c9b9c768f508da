//! The server's network interfaces, told to the core as
//! [`SmbConfig::interfaces`](polyshare_core::config::SmbConfig::interfaces)
//! for FSCTL_QUERY_NETWORK_INTERFACE_INFO (MS-SMB2 3.3.5.15.11): each
//! address an SMB listener is bound to, with the index and link speed of the
//! interface that holds it. A listener on the unspecified address (0.0.0.0,
//! ::) stands for every address of its family on an interface that is up,
//! loopback only when there is nothing else (and no IPv6 link-local
//! address, which needs a scope the reply cannot carry). Linux gives the
//! index and speed in `/sys/class/net/<name>/ifindex` and `speed` (Mb/s;
//! missing, or -1, for virtual links: then [`DEFAULT_LINK_SPEED`]).

use std::net::IpAddr;

use polyshare_core::config::NetworkInterface;

/// The link speed reported where Linux tells none (loopback, virtual
/// links): 1 Gb/s.
pub const DEFAULT_LINK_SPEED: u64 = 1_000_000_000;

/// One address of the host: the interface's name, the address, whether the
/// interface is a loopback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostAddr {
    /// The interface's name (`eth0`).
    pub name: String,
    /// One of its addresses.
    pub addr: IpAddr,
    /// Whether it is a loopback interface.
    pub loopback: bool,
}

/// The interfaces to report for SMB listeners bound to `listening`.
pub fn interfaces(listening: &[IpAddr]) -> Vec<NetworkInterface> {
    let host = host_addrs();
    select(listening, &host)
        .into_iter()
        .filter_map(|h| {
            let if_index = sys_value(&h.name, "ifindex").and_then(|v| u32::try_from(v).ok()).filter(|i| *i != 0)?;
            let link_speed = sys_value(&h.name, "speed")
                .filter(|mbps| *mbps > 0)
                .map_or(DEFAULT_LINK_SPEED, |mbps| (mbps as u64).saturating_mul(1_000_000));
            Some(NetworkInterface { if_index, addr: h.addr, link_speed, rss_capable: false })
        })
        .collect()
}

/// The host addresses that stand for `listening`, in order, each once.
pub fn select<'a>(listening: &[IpAddr], host: &'a [HostAddr]) -> Vec<&'a HostAddr> {
    let mut out: Vec<&HostAddr> = Vec::new();
    for l in listening {
        let picked: Vec<&HostAddr> = if l.is_unspecified() {
            let family: Vec<&HostAddr> = host
                .iter()
                .filter(|h| h.addr.is_ipv4() == l.is_ipv4())
                .filter(|h| !matches!(h.addr, IpAddr::V6(a) if a.is_unicast_link_local()))
                .collect();
            let outside: Vec<&HostAddr> = family.iter().copied().filter(|h| !h.loopback).collect();
            if outside.is_empty() { family } else { outside }
        } else {
            host.iter().filter(|h| h.addr == *l).collect()
        };
        for h in picked {
            if !out.iter().any(|o| o.addr == h.addr) {
                out.push(h);
            }
        }
    }
    out
}

/// The addresses of the host's interfaces that are up (getifaddrs(3));
/// none when it fails.
fn host_addrs() -> Vec<HostAddr> {
    use nix::net::if_::InterfaceFlags;
    let Ok(addrs) = nix::ifaddrs::getifaddrs() else { return Vec::new() };
    addrs
        .filter(|a| a.flags.contains(InterfaceFlags::IFF_UP))
        .filter_map(|a| {
            let s = a.address?;
            let addr = match (s.as_sockaddr_in(), s.as_sockaddr_in6()) {
                (Some(v4), _) => IpAddr::V4(v4.ip()),
                (_, Some(v6)) => IpAddr::V6(v6.ip()),
                _ => return None,
            };
            let loopback = a.flags.contains(InterfaceFlags::IFF_LOOPBACK);
            Some(HostAddr { name: a.interface_name, addr, loopback })
        })
        .collect()
}

/// A number from `/sys/class/net/<name>/<file>`.
fn sys_value(name: &str, file: &str) -> Option<i64> {
    if name.contains('/') || name.starts_with('.') {
        return None;
    }
    std::fs::read_to_string(format!("/sys/class/net/{name}/{file}")).ok()?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(name: &str, addr: &str, loopback: bool) -> HostAddr {
        HostAddr { name: name.into(), addr: addr.parse().unwrap(), loopback }
    }

    #[test]
    fn bound_addresses_pick_their_interface_and_the_unspecified_one_every_other() {
        let host = [
            h("lo", "127.0.0.1", true),
            h("eth0", "192.0.2.5", false),
            h("eth0", "fe80::1", false),
            h("eth0", "2001:db8::5", false),
            h("lo", "::1", true),
        ];
        let names = |l: &[&str]| {
            let l: Vec<IpAddr> = l.iter().map(|a| a.parse().unwrap()).collect();
            select(&l, &host).iter().map(|h| h.addr.to_string()).collect::<Vec<_>>()
        };
        assert_eq!(names(&["127.0.0.1"]), ["127.0.0.1"]);
        assert_eq!(names(&["0.0.0.0"]), ["192.0.2.5"], "loopback only when nothing else");
        assert_eq!(names(&["::"]), ["2001:db8::5"], "no link-local");
        assert_eq!(names(&["192.0.2.5", "0.0.0.0"]), ["192.0.2.5"], "each once");
        assert!(names(&["198.51.100.1"]).is_empty(), "not an address of this host");
        let only_lo = [h("lo", "127.0.0.1", true)];
        assert_eq!(select(&["0.0.0.0".parse().unwrap()], &only_lo).len(), 1);
    }

    #[test]
    fn the_loopback_listener_is_reported_with_its_index() {
        let found = interfaces(&["127.0.0.1".parse().unwrap()]);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].addr, "127.0.0.1".parse::<IpAddr>().unwrap());
        assert_ne!(found[0].if_index, 0);
        assert!(found[0].link_speed > 0);
    }
}
