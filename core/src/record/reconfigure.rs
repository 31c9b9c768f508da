//! The body of a recorded reload (`Event::Reconfigure`): the shares, exports
//! and accounts it set, in the recording's little-endian layout. Strings are
//! a u16 length and UTF-8 bytes; lists a u16 count; flags one byte.
//!
//! - share: name, path, read_only, guest_ok, guest_read_only, create_mask
//!   u32, directory_mask u32, encrypt u8
//! - export: name, path, read_only, allowed (count, then family 4 or 6, the
//!   address bytes, prefix), secure, squash (0 root, 1 all, 2 none),
//!   anon_uid u32, anon_gid u32, policy (0 wait, 1 jukebox), break_timeout
//!   u64 nanoseconds (u64::MAX: the server's)
//! - user: name, NT hash (16 bytes), uid u32, gid u32, groups (count, u32 each)

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use bytes::{Buf, BufMut, BytesMut};

use crate::config::{AddrRange, Export, NfsBreakPolicy, NtHash, Reconfigure, Share, Squash, User};

fn put_str(buf: &mut BytesMut, s: &str) {
    // Names and paths come from the administrator's configuration; longer
    // ones are cut at a character boundary rather than mis-framed.
    let mut end = s.len().min(u16::MAX as usize);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    buf.put_u16_le(end as u16);
    buf.put_slice(&s.as_bytes()[..end]);
}

fn put_count(buf: &mut BytesMut, n: usize) {
    buf.put_u16_le(n.min(u16::MAX as usize) as u16);
}

/// Appends `r` to `buf`.
pub(super) fn encode(r: &Reconfigure, buf: &mut BytesMut) {
    put_count(buf, r.shares.len());
    for s in r.shares.iter().take(u16::MAX as usize) {
        put_str(buf, &s.name);
        put_str(buf, &s.path);
        buf.put_u8(s.read_only.into());
        buf.put_u8(s.guest_ok.into());
        buf.put_u8(s.guest_read_only.into());
        buf.put_u32_le(s.create_mask);
        buf.put_u32_le(s.directory_mask);
        buf.put_u8(s.encrypt.into());
    }
    put_count(buf, r.exports.len());
    for e in r.exports.iter().take(u16::MAX as usize) {
        put_str(buf, &e.name);
        put_str(buf, &e.path);
        buf.put_u8(e.read_only.into());
        put_count(buf, e.allowed.len());
        for a in e.allowed.iter().take(u16::MAX as usize) {
            match a.addr {
                IpAddr::V4(v4) => {
                    buf.put_u8(4);
                    buf.put_slice(&v4.octets());
                }
                IpAddr::V6(v6) => {
                    buf.put_u8(6);
                    buf.put_slice(&v6.octets());
                }
            }
            buf.put_u8(a.prefix);
        }
        buf.put_u8(e.secure.into());
        buf.put_u8(match e.squash {
            Squash::Root => 0,
            Squash::All => 1,
            Squash::None => 2,
        });
        buf.put_u32_le(e.anon_uid);
        buf.put_u32_le(e.anon_gid);
        buf.put_u8(match e.policy {
            NfsBreakPolicy::Wait => 0,
            NfsBreakPolicy::Jukebox => 1,
        });
        buf.put_u64_le(e.break_timeout.map_or(u64::MAX, |d| d.as_nanos().min(u128::from(u64::MAX - 1)) as u64));
    }
    put_count(buf, r.users.len());
    for u in r.users.iter().take(u16::MAX as usize) {
        put_str(buf, &u.name);
        buf.put_slice(u.nt_hash.as_bytes());
        buf.put_u32_le(u.uid);
        buf.put_u32_le(u.gid);
        put_count(buf, u.groups.len());
        for g in u.groups.iter().take(u16::MAX as usize) {
            buf.put_u32_le(*g);
        }
    }
}

/// A bounds-checked reader: every getter answers `None` past the end.
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn bytes(&mut self, n: usize) -> Option<&[u8]> {
        let (head, rest) = (self.0.get(..n)?, self.0.get(n..)?);
        self.0 = rest;
        Some(head)
    }
    fn u8(&mut self) -> Option<u8> {
        self.bytes(1).map(|b| b[0])
    }
    fn flag(&mut self) -> Option<bool> {
        match self.u8()? {
            0 => Some(false),
            1 => Some(true),
            _ => None,
        }
    }
    fn u16(&mut self) -> Option<usize> {
        self.bytes(2).map(|mut b| b.get_u16_le() as usize)
    }
    fn u32(&mut self) -> Option<u32> {
        self.bytes(4).map(|mut b| b.get_u32_le())
    }
    fn u64(&mut self) -> Option<u64> {
        self.bytes(8).map(|mut b| b.get_u64_le())
    }
    fn string(&mut self) -> Option<String> {
        let n = self.u16()?;
        String::from_utf8(self.bytes(n)?.to_vec()).ok()
    }
}

/// Decodes a body [`encode`] wrote, all of `data`; `None` when it is
/// truncated, malformed, or followed by extra bytes.
pub(super) fn decode(data: &[u8]) -> Option<Reconfigure> {
    let mut r = Reader(data);
    let mut out = Reconfigure::default();
    for _ in 0..r.u16()? {
        out.shares.push(Share {
            name: r.string()?,
            path: r.string()?,
            read_only: r.flag()?,
            guest_ok: r.flag()?,
            guest_read_only: r.flag()?,
            create_mask: r.u32()?,
            directory_mask: r.u32()?,
            encrypt: r.flag()?,
        });
    }
    for _ in 0..r.u16()? {
        let (name, path, read_only) = (r.string()?, r.string()?, r.flag()?);
        let mut allowed = Vec::new();
        for _ in 0..r.u16()? {
            let addr = match r.u8()? {
                4 => IpAddr::V4(Ipv4Addr::from(<[u8; 4]>::try_from(r.bytes(4)?).ok()?)),
                6 => IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(r.bytes(16)?).ok()?)),
                _ => return None,
            };
            allowed.push(AddrRange { addr, prefix: r.u8()? });
        }
        let secure = r.flag()?;
        let squash = match r.u8()? {
            0 => Squash::Root,
            1 => Squash::All,
            2 => Squash::None,
            _ => return None,
        };
        let (anon_uid, anon_gid) = (r.u32()?, r.u32()?);
        let policy = match r.u8()? {
            0 => NfsBreakPolicy::Wait,
            1 => NfsBreakPolicy::Jukebox,
            _ => return None,
        };
        let break_timeout = Some(r.u64()?).filter(|n| *n != u64::MAX).map(Duration::from_nanos);
        out.exports.push(Export {
            name,
            path,
            read_only,
            allowed,
            secure,
            squash,
            anon_uid,
            anon_gid,
            policy,
            break_timeout,
        });
    }
    for _ in 0..r.u16()? {
        let name = r.string()?;
        let nt_hash = NtHash::from_bytes(r.bytes(16)?.try_into().ok()?);
        let (uid, gid) = (r.u32()?, r.u32()?);
        let groups = (0..r.u16()?).map(|_| r.u32()).collect::<Option<Vec<_>>>()?;
        out.users.push(User { name, nt_hash, uid, gid, groups });
    }
    r.0.is_empty().then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_every_truncation() {
        let r = Reconfigure {
            shares: vec![Share {
                read_only: true,
                guest_ok: false,
                guest_read_only: true,
                create_mask: 0o640,
                ..Share::new("data", "/d")
            }],
            exports: vec![Export {
                name: "/data".into(),
                allowed: vec![
                    AddrRange { addr: "10.0.0.0".parse().unwrap(), prefix: 8 },
                    AddrRange { addr: "::1".parse().unwrap(), prefix: 128 },
                ],
                squash: Squash::All,
                policy: NfsBreakPolicy::Jukebox,
                anon_uid: 7,
                break_timeout: Some(Duration::from_millis(1500)),
                ..Export::default()
            }],
            users: vec![User::new("alice", "pw").with_ids(1000, 100, vec![4, 27])],
        };
        let mut buf = BytesMut::new();
        encode(&r, &mut buf);
        assert_eq!(decode(&buf), Some(r));
        for cut in 0..buf.len() {
            assert_eq!(decode(&buf[..cut]), None, "cut at {cut}");
        }
    }
}
