//! Extended attributes (MS-FSCC 2.4.16) of a LocalFs object, kept as
//! Samba's `ea support = yes` keeps them: the EA `NAME` is the extended
//! attribute `user.NAME` with the value as it is, so a tree served by smbd
//! keeps its EAs here and the reverse.
//!
//! The `user.` attributes polyshare and Samba keep for themselves are not
//! EAs: they are left out of the list and cannot be set as one (compared
//! ignoring case, as Samba's `samba_private_attr_name` does):
//! `user.DOSATTRIB` (local/dosattrib.rs), `user.DosStream.*`
//! (local/streams.rs), `user.polyshare.*` (local/ntacl.rs,
//! local/change_time.rs), and Samba's `user.SAMBA_PAI` and
//! `user.SAMBA_STREAMS`. Attributes of other namespaces are not EAs either.
//!
//! Where the file system refuses user extended attributes the whole list
//! is one sidecar value (local/sidecar.rs), `.polyshare\eas/<inode>`: per
//! EA a one-byte name length, the name, a two-byte little-endian value
//! length and the value.

use std::io;
use std::path::Path;

use super::dosattrib::Store;
use super::{sidecar, xattr};

/// The namespace an EA lives in.
const PREFIX: &str = "user.";

/// The sidecar directory under the served root.
pub const SIDECAR_DIR: &str = sidecar::EAS_DIR;

/// Names (after `user.`, any case) that are kept values, not EAs.
const PRIVATE: [&str; 3] = ["DOSATTRIB", "SAMBA_PAI", "SAMBA_STREAMS"];
/// Name prefixes (after `user.`, any case) that are kept values, not EAs.
const PRIVATE_PREFIXES: [&str; 2] = ["DosStream.", "polyshare."];

/// Whether EA `name` would land on a value polyshare or Samba keeps.
pub fn is_private(name: &str) -> bool {
    let starts = |p: &str| name.get(..p.len()).is_some_and(|h| h.eq_ignore_ascii_case(p));
    PRIVATE.iter().any(|p| name.eq_ignore_ascii_case(p)) || PRIVATE_PREFIXES.iter().any(|p| starts(p))
}

/// The EAs of the object at `path` as (name, value).
pub fn read(store: Store<'_>, path: &Path) -> io::Result<Vec<(String, Vec<u8>)>> {
    match store {
        Store::Xattr => {
            let names = match xattr::list(path) {
                Err(e) if xattr::unsupported(&e) => return Ok(Vec::new()),
                r => r?,
            };
            let mut out = Vec::new();
            for attr in names {
                let Some(name) = attr.strip_prefix(PREFIX).filter(|n| !n.is_empty() && !is_private(n)) else {
                    continue;
                };
                // Gone since the listing, or empty (not an EA value): skip.
                if let Some(v) = xattr::get(path, &attr)?.filter(|v| !v.is_empty()) {
                    out.push((name.to_owned(), v));
                }
            }
            Ok(out)
        }
        Store::Sidecar { root, ino, generation } => {
            Ok(sidecar::read(root, SIDECAR_DIR, ino, generation).map(|b| decode(&b)).unwrap_or_default())
        }
    }
}

/// Sets EA `name` of the object at `path` to `value`, or removes it when
/// `value` is empty.
pub fn write(store: Store<'_>, path: &Path, name: &str, value: &[u8]) -> io::Result<()> {
    match store {
        Store::Xattr => {
            let attr = format!("{PREFIX}{name}");
            match value.is_empty() {
                false => xattr::set(path, &attr, value),
                true => match xattr::remove(path, &attr) {
                    Err(e) if xattr::is_missing(&e) => Ok(()),
                    r => r,
                },
            }
        }
        Store::Sidecar { root, ino, generation } => {
            let mut list = sidecar::read(root, SIDECAR_DIR, ino, generation).map(|b| decode(&b)).unwrap_or_default();
            match list.iter().position(|(n, _)| n == name) {
                Some(i) if value.is_empty() => {
                    list.remove(i);
                }
                Some(i) => list[i].1 = value.to_vec(),
                None if value.is_empty() => return Ok(()),
                None => list.push((name.to_owned(), value.to_vec())),
            }
            match list.is_empty() {
                true => sidecar::remove(root, SIDECAR_DIR, ino),
                false => sidecar::write(root, SIDECAR_DIR, ino, generation, &encode(&list)),
            }
        }
    }
}

/// The sidecar value of `list` (names at most 255 bytes, values at most
/// 65535: the caller checked).
fn encode(list: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut b = Vec::new();
    for (name, value) in list {
        b.push(name.len() as u8);
        b.extend_from_slice(name.as_bytes());
        b.extend_from_slice(&(value.len() as u16).to_le_bytes());
        b.extend_from_slice(value);
    }
    b
}

/// The list a sidecar value holds; a damaged tail is dropped.
fn decode(mut b: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    while let Some((&n, rest)) = b.split_first() {
        let Some((name, rest)) = rest.split_at_checked(usize::from(n)) else { break };
        let Some((len, rest)) = rest.split_at_checked(2) else { break };
        let Some((value, rest)) = rest.split_at_checked(usize::from(u16::from_le_bytes([len[0], len[1]]))) else {
            break;
        };
        let Ok(name) = std::str::from_utf8(name) else { break };
        out.push((name.to_owned(), value.to_vec()));
        b = rest;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use quickcheck::quickcheck;

    #[test]
    fn private_names() {
        for n in ["DOSATTRIB", "dosattrib", "DosStream.x:$DATA", "DOSSTREAM.y", "polyshare.NTACL", "SAMBA_PAI"] {
            assert!(is_private(n), "{n}");
        }
        for n in ["EAONE", "DOSATTRIBX", "polyshare", "Dos", "user.DOSATTRIB"] {
            assert!(!is_private(n), "{n}");
        }
    }

    quickcheck! {
        fn sidecar_value_round_trips(list: Vec<(String, Vec<u8>)>) -> bool {
            let list: Vec<_> = list
                .into_iter()
                .filter(|(n, v)| n.len() <= 255 && v.len() <= 65_535)
                .collect();
            decode(&encode(&list)) == list
        }

        fn decode_never_panics(b: Vec<u8>) -> bool {
            let _ = decode(&b);
            true
        }
    }
}
