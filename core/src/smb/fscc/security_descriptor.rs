//! The self-relative SECURITY_DESCRIPTOR (MS-DTYP 2.4.6) with its SIDs
//! (2.4.2.2), ACLs (2.4.5) and ACEs (2.4.4): one decoder and one encoder
//! for what QUERY_INFO answers, SET_INFO and the SecD create context bring,
//! and what the backends keep (docs/WINDOWS-SEMANTICS.md).
//!
//! ACEs of the basic shape (header, mask, SID) are kept: ACCESS_ALLOWED,
//! ACCESS_DENIED and SYSTEM_AUDIT. Object, callback and other ACE types are
//! refused ([`SdError::Unmappable`]), never dropped. Parts are encoded in
//! the order owner, group, SACL, DACL, as Samba's NDR writes them.

use super::{put_u8, put_u16, put_u32};

/// SECURITY_DESCRIPTOR.Control bits (MS-DTYP 2.4.6).
pub const SE_DACL_PRESENT: u16 = 0x0004;
pub const SE_SACL_PRESENT: u16 = 0x0010;
pub const SE_SELF_RELATIVE: u16 = 0x8000;

/// AceType (MS-DTYP 2.4.4.1).
pub const ACCESS_ALLOWED_ACE_TYPE: u8 = 0;
pub const ACCESS_DENIED_ACE_TYPE: u8 = 1;
pub const SYSTEM_AUDIT_ACE_TYPE: u8 = 2;

/// AceFlags (MS-DTYP 2.4.4.1).
pub const OBJECT_INHERIT_ACE: u8 = 0x01;
pub const CONTAINER_INHERIT_ACE: u8 = 0x02;
pub const NO_PROPAGATE_INHERIT_ACE: u8 = 0x04;
pub const INHERIT_ONLY_ACE: u8 = 0x08;
pub const INHERITED_ACE: u8 = 0x10;

/// ACL revisions 2 and 4 (MS-DTYP 2.4.5).
const ACL_REVISION: u8 = 2;
const HEADER_LEN: usize = 20;
/// SubAuthorityCount is at most 15 (MS-DTYP 2.4.2.2).
const MAX_SUB_AUTHORITIES: usize = 15;

/// Why a descriptor is not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SdError {
    /// Malformed: STATUS_INVALID_PARAMETER.
    Invalid,
    /// Well-formed but holding what is not kept: STATUS_NOT_SUPPORTED.
    Unmappable,
}

/// A SID: IdentifierAuthority (48 bits) and SubAuthorities.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Sid {
    pub authority: u64,
    pub sub: Vec<u32>,
}

impl Sid {
    pub fn new(authority: u64, sub: &[u32]) -> Sid {
        Sid { authority, sub: sub.to_vec() }
    }

    /// The Unix id of an S-1-22-`kind`-ID SID (kind 1 users, 2 groups), as
    /// Samba names Unix ids.
    pub fn unix_id(&self, kind: u32) -> Option<u32> {
        match (self.authority, self.sub.as_slice()) {
            (22, [k, id]) if *k == kind => Some(*id),
            _ => None,
        }
    }

    fn len(&self) -> usize {
        8 + 4 * self.sub.len()
    }

    fn encode(&self, out: &mut Vec<u8>) {
        put_u8(out, 1);
        put_u8(out, self.sub.len() as u8);
        out.extend_from_slice(self.authority.to_be_bytes().get(2..).unwrap_or_default());
        for &s in &self.sub {
            put_u32(out, s);
        }
    }

    /// The SID at `off` and its length.
    fn decode(buf: &[u8], off: usize) -> Result<(Sid, usize), SdError> {
        let rev = *buf.get(off).ok_or(SdError::Invalid)?;
        let count = *buf.get(off + 1).ok_or(SdError::Invalid)? as usize;
        if rev != 1 || count > MAX_SUB_AUTHORITIES {
            return Err(SdError::Invalid);
        }
        let auth = buf.get(off + 2..off + 8).ok_or(SdError::Invalid)?;
        let authority = auth.iter().fold(0u64, |a, b| (a << 8) | u64::from(*b));
        let sub = (0..count).map(|i| u32_at(buf, off + 8 + 4 * i)).collect::<Option<Vec<u32>>>().ok_or(SdError::Invalid)?;
        Ok((Sid { authority, sub }, 8 + 4 * count))
    }
}

/// One ACE of the basic shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ace {
    pub kind: u8,
    pub flags: u8,
    pub mask: u32,
    pub sid: Sid,
}

/// An ACL.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Acl {
    pub revision: u8,
    pub aces: Vec<Ace>,
}

impl Acl {
    pub fn new(aces: Vec<Ace>) -> Acl {
        Acl { revision: ACL_REVISION, aces }
    }

    fn encode(&self, out: &mut Vec<u8>) {
        let size: usize = 8 + self.aces.iter().map(|a| 8 + a.sid.len()).sum::<usize>();
        put_u8(out, self.revision);
        put_u8(out, 0);
        put_u16(out, size as u16);
        put_u16(out, self.aces.len() as u16);
        put_u16(out, 0);
        for a in &self.aces {
            put_u8(out, a.kind);
            put_u8(out, a.flags);
            put_u16(out, (8 + a.sid.len()) as u16);
            put_u32(out, a.mask);
            a.sid.encode(out);
        }
    }

    fn decode(buf: &[u8], off: usize) -> Result<Acl, SdError> {
        let revision = *buf.get(off).ok_or(SdError::Invalid)?;
        let size = u16_at(buf, off + 2).ok_or(SdError::Invalid)? as usize;
        let count = u16_at(buf, off + 4).ok_or(SdError::Invalid)? as usize;
        let end = off.checked_add(size).filter(|e| *e <= buf.len() && size >= 8).ok_or(SdError::Invalid)?;
        if !(2..=4).contains(&revision) {
            return Err(SdError::Invalid);
        }
        let mut aces = Vec::with_capacity(count.min(size / 16));
        let mut at = off + 8;
        for _ in 0..count {
            let kind = *buf.get(at).ok_or(SdError::Invalid)?;
            let flags = *buf.get(at + 1).ok_or(SdError::Invalid)?;
            let ace_size = u16_at(buf, at + 2).ok_or(SdError::Invalid)? as usize;
            if ace_size < 16 || at + ace_size > end {
                return Err(SdError::Invalid);
            }
            if !matches!(kind, ACCESS_ALLOWED_ACE_TYPE | ACCESS_DENIED_ACE_TYPE | SYSTEM_AUDIT_ACE_TYPE) {
                return Err(SdError::Unmappable);
            }
            let mask = u32_at(buf, at + 4).ok_or(SdError::Invalid)?;
            let (sid, sid_len) = Sid::decode(buf, at + 8)?;
            // Trailing bytes after the SID would not come back: refused.
            if 8 + sid_len != ace_size {
                return Err(SdError::Invalid);
            }
            aces.push(Ace { kind, flags, mask, sid });
            at += ace_size;
        }
        Ok(Acl { revision, aces })
    }
}

/// A security descriptor. `dacl` is `None` with SE_DACL_PRESENT set in
/// `control` for a NULL DACL (everyone may do everything), and without it
/// for no DACL at all; likewise the SACL.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SecurityDescriptor {
    pub control: u16,
    pub owner: Option<Sid>,
    pub group: Option<Sid>,
    pub sacl: Option<Acl>,
    pub dacl: Option<Acl>,
}

impl SecurityDescriptor {
    /// Whether a DACL (possibly NULL) is present.
    pub fn dacl_present(&self) -> bool {
        self.control & SE_DACL_PRESENT != 0 || self.dacl.is_some()
    }

    /// The self-relative encoding; SE_SELF_RELATIVE is always set and each
    /// PRESENT bit whenever its ACL is there.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let start = out.len();
        let mut control = self.control | SE_SELF_RELATIVE;
        if self.dacl.is_some() {
            control |= SE_DACL_PRESENT;
        }
        if self.sacl.is_some() {
            control |= SE_SACL_PRESENT;
        }
        out.resize(start + HEADER_LEN, 0);
        let mut offsets = [0u32; 4];
        if let Some(s) = &self.owner {
            offsets[0] = (out.len() - start) as u32;
            s.encode(out);
        }
        if let Some(s) = &self.group {
            offsets[1] = (out.len() - start) as u32;
            s.encode(out);
        }
        if let Some(a) = &self.sacl {
            offsets[2] = (out.len() - start) as u32;
            a.encode(out);
        }
        if let Some(a) = &self.dacl {
            offsets[3] = (out.len() - start) as u32;
            a.encode(out);
        }
        let mut header = Vec::with_capacity(HEADER_LEN);
        put_u8(&mut header, 1); // Revision
        put_u8(&mut header, 0); // Sbz1
        put_u16(&mut header, control);
        for o in offsets {
            put_u32(&mut header, o);
        }
        if let Some(h) = out.get_mut(start..start + HEADER_LEN) {
            h.copy_from_slice(&header);
        }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode(&mut out);
        out
    }

    /// Decodes a self-relative descriptor. An offset of 0 is an absent
    /// part; an ACL whose PRESENT bit is clear is ignored (MS-DTYP 2.4.6).
    pub fn decode(buf: &[u8]) -> Result<SecurityDescriptor, SdError> {
        if buf.first() != Some(&1) || buf.len() < HEADER_LEN {
            return Err(SdError::Invalid);
        }
        let control = u16_at(buf, 2).ok_or(SdError::Invalid)?;
        if control & SE_SELF_RELATIVE == 0 {
            return Err(SdError::Invalid);
        }
        let at = |i: usize| u32_at(buf, 4 + 4 * i).map(|o| o as usize).ok_or(SdError::Invalid);
        let part = |off: usize| if off == 0 { Ok(None) } else if off < HEADER_LEN { Err(SdError::Invalid) } else { Ok(Some(off)) };
        let owner = part(at(0)?)?.map(|o| Sid::decode(buf, o).map(|s| s.0)).transpose()?;
        let group = part(at(1)?)?.map(|o| Sid::decode(buf, o).map(|s| s.0)).transpose()?;
        let sacl = match control & SE_SACL_PRESENT {
            0 => None,
            _ => part(at(2)?)?.map(|o| Acl::decode(buf, o)).transpose()?,
        };
        let dacl = match control & SE_DACL_PRESENT {
            0 => None,
            _ => part(at(3)?)?.map(|o| Acl::decode(buf, o)).transpose()?,
        };
        Ok(SecurityDescriptor { control, owner, group, sacl, dacl })
    }
}

fn u16_at(buf: &[u8], off: usize) -> Option<u16> {
    buf.get(off..off + 2).map(|b| u16::from_le_bytes([b[0], b[1]]))
}

fn u32_at(buf: &[u8], off: usize) -> Option<u32> {
    buf.get(off..off + 4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use quickcheck::{Arbitrary, Gen, quickcheck};

    impl Arbitrary for Sid {
        fn arbitrary(g: &mut Gen) -> Sid {
            let n = usize::arbitrary(g) % (MAX_SUB_AUTHORITIES + 1);
            Sid { authority: u64::arbitrary(g) & 0xFFFF_FFFF_FFFF, sub: (0..n).map(|_| u32::arbitrary(g)).collect() }
        }
    }

    impl Arbitrary for Acl {
        fn arbitrary(g: &mut Gen) -> Acl {
            let n = usize::arbitrary(g) % 6;
            let kinds = [ACCESS_ALLOWED_ACE_TYPE, ACCESS_DENIED_ACE_TYPE, SYSTEM_AUDIT_ACE_TYPE];
            let aces = (0..n)
                .map(|_| Ace {
                    kind: *g.choose(&kinds).unwrap_or(&0),
                    flags: u8::arbitrary(g),
                    mask: u32::arbitrary(g),
                    sid: Sid::arbitrary(g),
                })
                .collect();
            Acl { revision: *g.choose(&[2u8, 4]).unwrap_or(&2), aces }
        }
    }

    impl Arbitrary for SecurityDescriptor {
        fn arbitrary(g: &mut Gen) -> SecurityDescriptor {
            let dacl = Option::<Acl>::arbitrary(g);
            let sacl = Option::<Acl>::arbitrary(g);
            // The PRESENT bits follow the ACLs, except a NULL DACL.
            let mut control = (u16::arbitrary(g) & !(SE_DACL_PRESENT | SE_SACL_PRESENT)) | SE_SELF_RELATIVE;
            if dacl.is_some() || bool::arbitrary(g) {
                control |= SE_DACL_PRESENT;
            }
            if sacl.is_some() {
                control |= SE_SACL_PRESENT;
            }
            SecurityDescriptor { control, owner: Option::arbitrary(g), group: Option::arbitrary(g), sacl, dacl }
        }
    }

    quickcheck! {
        fn roundtrip(sd: SecurityDescriptor) -> bool {
            SecurityDescriptor::decode(&sd.to_bytes()) == Ok(sd)
        }

        fn arbitrary_bytes_never_panic(b: Vec<u8>) -> bool {
            let _ = SecurityDescriptor::decode(&b);
            true
        }
    }

    #[test]
    fn null_dacl_and_absent_dacl_differ() {
        let null = SecurityDescriptor { control: SE_SELF_RELATIVE | SE_DACL_PRESENT, ..Default::default() };
        let b = null.to_bytes();
        assert_eq!((u16_at(&b, 2), u32_at(&b, 16), b.len()), (Some(0x8004), Some(0), 20));
        let got = SecurityDescriptor::decode(&b).unwrap();
        assert!(got.dacl_present() && got.dacl.is_none());
        let absent = SecurityDescriptor::decode(&[1, 0, 0, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]).unwrap();
        assert!(!absent.dacl_present());
    }

    #[test]
    fn malformed_and_unkept_are_told_apart() {
        let sd = SecurityDescriptor {
            control: SE_SELF_RELATIVE,
            dacl: Some(Acl::new(vec![Ace { kind: 0, flags: 0, mask: 1, sid: Sid::new(1, &[0]) }])),
            ..Default::default()
        };
        let mut b = sd.to_bytes();
        assert_eq!(SecurityDescriptor::decode(&b[..b.len() - 1]), Err(SdError::Invalid));
        b[HEADER_LEN + 8] = 5; // ACCESS_ALLOWED_OBJECT_ACE_TYPE
        assert_eq!(SecurityDescriptor::decode(&b), Err(SdError::Unmappable));
        // Not self-relative.
        assert_eq!(SecurityDescriptor::decode(&[1, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), Err(SdError::Invalid));
    }
}
