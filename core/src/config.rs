//! Server configuration: limits, shares, exports, users. Plain data, built by
//! the embedding program (the example servers build it from the command line).

use std::net::IpAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

#[derive(Debug, Clone)]
pub struct Config {
    /// Wall-clock time at the `start` instant given to `Server::new`; every
    /// FILETIME and nfstime3 derives from it. Adapters set it from the OS
    /// clock; tests fix it.
    pub wall_anchor: SystemTime,
    pub limits: Limits,
    /// How long a lease or oplock break may stay unacknowledged before the
    /// lease is taken to NONE (35 s in Windows, Samba and ksmbd).
    pub break_timeout: Duration,
    pub smb: SmbConfig,
    pub nfs: NfsConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            // 2026-01-01T00:00:00Z: a fixed default keeps tests deterministic.
            wall_anchor: UNIX_EPOCH + Duration::from_secs(1_767_225_600),
            limits: Limits::default(),
            break_timeout: Duration::from_secs(35),
            smb: SmbConfig::default(),
            nfs: NfsConfig::default(),
        }
    }
}

/// Bounds on everything a peer can make the server hold.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest SMB message or ONC RPC record accepted, in bytes.
    pub max_frame: usize,
    pub max_connections: usize,
    /// Requests a connection may have in progress at once (SMB async
    /// operations, NFS parked calls).
    pub max_outstanding_per_conn: usize,
    /// Operations waiting for lease breaks, across the server.
    pub max_parked: usize,
    /// Open files per SMB session.
    pub max_opens_per_session: usize,
    /// Entries one directory query may return.
    pub max_dir_entries: usize,
    /// A connection that has not authenticated by then is closed.
    pub unauthenticated_timeout: Duration,
    /// Storage requests handed to the adapter and not yet completed; more
    /// wait their turn in the core (see [`crate::io`]).
    pub max_io_in_flight: usize,
    /// Idle read buffers kept for reuse, in bytes.
    pub io_buffer_pool: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_frame: 16 * 1024 * 1024 + 4096,
            max_connections: 1024,
            max_outstanding_per_conn: 512,
            max_parked: 4096,
            max_opens_per_session: 16_384,
            max_dir_entries: 65_536,
            unauthenticated_timeout: Duration::from_secs(60),
            max_io_in_flight: 64,
            io_buffer_pool: 64 << 20,
        }
    }
}

#[derive(Debug, Clone)]
pub struct User {
    pub name: String,
    pub password: String,
}

#[derive(Debug, Clone)]
pub struct Share {
    /// The share name clients connect to (`\\server\NAME`).
    pub name: String,
    /// Directory inside the Vfs that the share exposes ("/" for the root).
    pub path: String,
    pub read_only: bool,
    /// Whether guest and anonymous sessions may connect.
    pub guest_ok: bool,
}

#[derive(Debug, Clone)]
pub struct SmbConfig {
    pub server_name: String,
    pub domain: String,
    pub shares: Vec<Share>,
    pub users: Vec<User>,
    /// Map unknown users and empty passwords to guest.
    pub guest: bool,
    pub require_signing: bool,
    pub max_read_size: u32,
    pub max_write_size: u32,
    pub max_transact_size: u32,
    /// Credits a connection may hold at once.
    pub max_credits: u16,
    /// Owner of files and directories created over SMB. SMB sessions carry
    /// no Unix identity; the default is the identity NFS root-squashes to
    /// (65534), so that NFS clients can write what SMB clients created.
    pub create_uid: u32,
    pub create_gid: u32,
}

impl Default for SmbConfig {
    fn default() -> Self {
        Self {
            server_name: "POLYSHARE".into(),
            domain: "WORKGROUP".into(),
            shares: vec![Share { name: "share".into(), path: "/".into(), read_only: false, guest_ok: true }],
            users: Vec::new(),
            guest: true,
            require_signing: false,
            max_read_size: 8 * 1024 * 1024,
            max_write_size: 8 * 1024 * 1024,
            max_transact_size: 8 * 1024 * 1024,
            max_credits: 8192,
            create_uid: 65534,
            create_gid: 65534,
        }
    }
}

/// How an NFS operation waits for an SMB lease break (docs/LEASES.md "How NFS waits").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NfsBreakPolicy {
    /// Park the RPC until every blocking break resolves.
    #[default]
    Wait,
    /// Send the break and answer NFS3ERR_JUKEBOX at once.
    Jukebox,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Squash {
    /// Map uid 0 to the anonymous ids.
    #[default]
    Root,
    /// Map every uid to the anonymous ids.
    All,
    None,
}

/// A client address range: `addr` with `prefix` leading bits significant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddrRange {
    pub addr: IpAddr,
    pub prefix: u8,
}

impl AddrRange {
    pub fn contains(&self, ip: IpAddr) -> bool {
        fn masked(bytes: &[u8], prefix: u8) -> Vec<u8> {
            let mut out = bytes.to_vec();
            let mut bits = prefix as usize;
            for b in out.iter_mut() {
                if bits >= 8 {
                    bits -= 8;
                } else {
                    *b &= !(0xffu8.checked_shr(bits as u32).unwrap_or(0));
                    bits = 0;
                }
            }
            out
        }
        let (a, b) = match (self.addr, ip.to_canonical()) {
            (IpAddr::V4(a), IpAddr::V4(b)) => (a.octets().to_vec(), b.octets().to_vec()),
            (IpAddr::V6(a), IpAddr::V6(b)) => (a.octets().to_vec(), b.octets().to_vec()),
            _ => return false,
        };
        masked(&a, self.prefix) == masked(&b, self.prefix)
    }
}

#[derive(Debug, Clone)]
pub struct Export {
    /// The path clients mount (`/share`).
    pub name: String,
    /// Directory inside the Vfs that the export exposes.
    pub path: String,
    pub read_only: bool,
    /// Client addresses allowed to mount and use the export; empty = any.
    pub allowed: Vec<AddrRange>,
    pub squash: Squash,
    pub anon_uid: u32,
    pub anon_gid: u32,
    pub policy: NfsBreakPolicy,
}

impl Default for Export {
    fn default() -> Self {
        Self {
            name: "/share".into(),
            path: "/".into(),
            read_only: false,
            allowed: Vec::new(),
            squash: Squash::Root,
            anon_uid: 65534,
            anon_gid: 65534,
            policy: NfsBreakPolicy::Wait,
        }
    }
}

#[derive(Debug, Clone)]
pub struct NfsConfig {
    pub exports: Vec<Export>,
    /// The port reported by portmapper GETPORT for NFS and MOUNT (the adapter
    /// fills it with the port it listens on).
    pub port: u16,
}

impl Default for NfsConfig {
    fn default() -> Self {
        Self { exports: vec![Export::default()], port: 2049 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addr_range_matches_prefix() {
        let r = AddrRange { addr: "10.1.0.0".parse().unwrap(), prefix: 16 };
        assert!(r.contains("10.1.200.3".parse().unwrap()));
        assert!(!r.contains("10.2.0.1".parse().unwrap()));
        let one = AddrRange { addr: "127.0.0.1".parse().unwrap(), prefix: 32 };
        assert!(one.contains("127.0.0.1".parse().unwrap()));
        assert!(one.contains("::ffff:127.0.0.1".parse().unwrap()));
        assert!(!one.contains("127.0.0.2".parse().unwrap()));
    }
}
