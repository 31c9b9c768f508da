//! 8.3 short names (MS-FSCC 2.1.5.2.1; MS-FSA 2.1.5.6.3, 2.1.5.12.1):
//! what FileAlternateNameInformation, the ShortName of
//! FileBothDirectoryInformation / FileIdBothDirectoryInformation and a
//! CREATE by short name use.
//!
//! Nothing is stored. A name that is a valid 8.3 name already (case
//! ignored) is its own short name. Any other name is mangled to `P` + five
//! characters of a hash + `~` + one more character, then `.` and the first
//! three valid characters of its extension if it has one:
//! `LongFileName.text` -> `LXXXXX~X.TEX`. `P` is the first valid character
//! of the name (`_` if none); the hash is FNV-1a (64 bit) over the name
//! [`fold`]ed (so names equal but for case, which SMB treats as one name,
//! share it), written in base 36.
//!
//! Uniqueness in the directory: the names whose mangled forms agree but for
//! the character after `~` (the same stem and extension, a "family"), and
//! the 8.3 names of that form already there, are resolved together
//! ([`assign`]): a long name keeps the character its hash gives unless an
//! 8.3 name or a member with a lower object id holds it, and then takes the
//! first free one of `0-9A-Z`. So a short name depends on the directory's
//! contents and never changes while its family does not: only a new name
//! of the same family with a lower object id (about one chance in 36^5 per
//! pair of names with the same first character and extension) can move it.
//! Past 36 members of one family, the rest have no short name.

use std::collections::{BTreeMap, BTreeSet};

use crate::vfs::{FileAttr, ObjectId, Vfs, VfsError, fold};

/// Characters an 8.3 name may hold besides letters and digits (MS-FSCC
/// 2.1.5.2.1; `.` only as the separator).
const SPECIAL: &str = "!#$%&'()-@^_`{}~";

fn valid_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || SPECIAL.contains(c)
}

/// Whether `name` is a valid 8.3 name: a base of 1 to 8 and an optional
/// extension of 1 to 3 valid characters, case ignored.
pub fn is_8dot3(name: &str) -> bool {
    let (base, ext) = match name.split_once('.') {
        Some((b, e)) => (b, Some(e)),
        None => (name, None),
    };
    let ok = |s: &str, max: usize| !s.is_empty() && s.len() <= max && s.chars().all(valid_char);
    ok(base, 8) && ext.is_none_or(|e| ok(e, 3))
}

fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3))
}

const BASE36: &[u8; 36] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";

/// A family: the six characters before `~` and the extension (with its
/// dot, or empty), upper case.
type Family = (String, String);

/// The mangled form of a long name: its family and the character after `~`
/// its hash gives.
fn mangle(name: &str) -> (Family, char) {
    let folded = fold(name);
    let mut h = fnv1a(&folded);
    let mut digit = || {
        let d = BASE36[(h % 36) as usize] as char;
        h /= 36;
        d
    };
    let first = folded.chars().find(|&c| valid_char(c) && c != '~').unwrap_or('_');
    let mut stem = String::with_capacity(6);
    stem.push(first);
    for _ in 0..5 {
        stem.push(digit());
    }
    let own = digit();
    // The extension: after the last dot, unless the name starts with it.
    let mut ext = String::new();
    if let Some((base, e)) = folded.rsplit_once('.')
        && !base.is_empty()
    {
        let e: String = e.chars().filter(|&c| valid_char(c)).take(3).collect();
        if !e.is_empty() {
            ext = format!(".{e}");
        }
    }
    ((stem, ext), own)
}

fn form((stem, ext): &Family, c: char) -> String {
    format!("{stem}~{c}{ext}")
}

/// The family and character of a name of the mangled form
/// (`X?????~?` with an optional extension), upper case.
fn parse_mangled(name: &str) -> Option<(Family, char)> {
    if !looks_mangled(name) {
        return None;
    }
    let up = fold(name);
    let (base, ext) = match up.split_once('.') {
        Some((b, e)) => (b, format!(".{e}")),
        None => (up.as_str(), String::new()),
    };
    Some(((base[..6].to_string(), ext), base.chars().nth(7)?))
}

/// Whether `name` has the mangled form, so a lookup miss is worth a scan
/// of the directory.
pub fn looks_mangled(name: &str) -> bool {
    is_8dot3(name) && name.split('.').next().is_some_and(|b| b.len() == 8 && b.as_bytes()[6] == b'~')
}

/// What a family's resolution needs: its long names with their object ids,
/// and the characters that 8.3 names of the family's form hold.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Members {
    /// (object id, name, the character its hash gives), long names only
    /// (a hard link is a member per name).
    pub long: Vec<(ObjectId, String, char)>,
    /// Characters taken by names that are 8.3 already.
    pub taken: BTreeSet<char>,
}

/// The character after `~` of each long member (by object id and name),
/// or none past 36 members: in order of object id (then name), each keeps
/// its own character unless it is taken, else the first free one of
/// `0-9A-Z`.
pub fn assign(m: &Members) -> BTreeMap<(ObjectId, String), char> {
    let mut used = m.taken.clone();
    let mut long = m.long.clone();
    long.sort();
    let mut out = BTreeMap::new();
    for (id, name, own) in long {
        let c = match used.contains(&own) {
            false => Some(own),
            true => BASE36.iter().map(|&b| b as char).find(|c| !used.contains(c)),
        };
        if let Some(c) = c {
            used.insert(c);
            out.insert((id, name), c);
        }
    }
    out
}

/// Scans `dir` once for the members of `families`.
fn members(vfs: &dyn Vfs, dir: ObjectId, families: &BTreeSet<Family>) -> Result<BTreeMap<Family, Members>, VfsError> {
    let mut out: BTreeMap<Family, Members> = BTreeMap::new();
    let mut cookie = 0;
    loop {
        let (entries, done) = vfs.readdir(dir, cookie, crate::vfs::NOCASE_SCAN_BATCH)?;
        for e in &entries {
            if is_8dot3(&e.name) {
                if let Some((f, c)) = parse_mangled(&e.name).filter(|(f, _)| families.contains(f)) {
                    out.entry(f).or_default().taken.insert(c);
                }
            } else if e.name != "." && e.name != ".." {
                let (f, c) = mangle(&e.name);
                if families.contains(&f) {
                    out.entry(f).or_default().long.push((e.id, e.name.clone(), c));
                }
            }
        }
        match entries.last() {
            Some(last) if !done => cookie = last.cookie,
            _ => return Ok(out),
        }
    }
}

/// The short names of some entries (name, object id) of `dir`, in order:
/// the name itself for an 8.3 name, else its unique mangled form (empty
/// past 36 members of a family). One scan of the directory when any is
/// long.
pub fn short_names_in(vfs: &dyn Vfs, dir: ObjectId, entries: &[(&str, ObjectId)]) -> Vec<String> {
    let mangled: Vec<Option<(Family, char)>> =
        entries.iter().map(|(n, _)| (!is_8dot3(n) && *n != "." && *n != "..").then(|| mangle(n))).collect();
    let families: BTreeSet<Family> = mangled.iter().flatten().map(|(f, _)| f.clone()).collect();
    let found = match families.is_empty() {
        true => BTreeMap::new(),
        false => members(vfs, dir, &families).unwrap_or_default(),
    };
    let assigned: BTreeMap<&Family, BTreeMap<(ObjectId, String), char>> = found.iter().map(|(f, m)| (f, assign(m))).collect();
    entries
        .iter()
        .zip(mangled)
        .map(|((name, id), m)| match m {
            None => name.to_string(),
            // Not found in the scan (it went away meanwhile): its own form.
            Some((f, own)) => match assigned.get(&f) {
                Some(a) => a.get(&(*id, name.to_string())).map_or(String::new(), |c| form(&f, *c)),
                None => form(&f, own),
            },
        })
        .collect()
}

/// The short name of `name` (object `id`) in `dir` ([`short_names_in`]).
pub fn short_name_in(vfs: &dyn Vfs, dir: ObjectId, name: &str, id: ObjectId) -> String {
    short_names_in(vfs, dir, &[(name, id)]).pop().unwrap_or_default()
}

/// The entry of `dir` whose short name is `short` (case ignored): the
/// family's members are resolved as listings show them.
pub fn lookup(vfs: &dyn Vfs, dir: ObjectId, short: &str) -> Result<(FileAttr, String), VfsError> {
    let (family, want) = parse_mangled(short).ok_or(VfsError::NotFound)?;
    let m = members(vfs, dir, &BTreeSet::from([family.clone()]))?.remove(&family).unwrap_or_default();
    let (id, name) = assign(&m).into_iter().find(|(_, c)| *c == want).map(|(k, _)| k).ok_or(VfsError::NotFound)?;
    Ok((vfs.getattr(id)?, name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Timespec;
    use crate::vfs::{CreateAttr, MemoryFs};

    fn file(vfs: &MemoryFs, name: &str) -> ObjectId {
        let a = CreateAttr { mode: 0o644, uid: 0, gid: 0 };
        vfs.create(vfs.root(), name, a, Timespec::new(1, 0)).unwrap().id
    }

    #[test]
    fn valid_8dot3_names_are_their_own() {
        let vfs = MemoryFs::new();
        for n in ["a.txt", "README", "FILE1234.C", "x~1.abc", "A_B-C"] {
            assert!(is_8dot3(n), "{n}");
            let id = file(&vfs, n);
            assert_eq!(short_name_in(&vfs, vfs.root(), n, id), n);
        }
        for n in ["LongFileName.text", "a b.txt", "abc.defg", "one.two.three", ".hidden", "ninechars", "é.txt", ""] {
            assert!(!is_8dot3(n), "{n}");
        }
    }

    #[test]
    fn mangled_names_are_8dot3_deterministic_and_case_blind() {
        let vfs = MemoryFs::new();
        let id = file(&vfs, "LongFileName.text");
        let s = short_name_in(&vfs, vfs.root(), "LongFileName.text", id);
        assert!(is_8dot3(&s) && looks_mangled(&s), "{s}");
        assert!(s.starts_with('L') && s.ends_with(".TEX"), "{s}");
        let (f, own) = mangle("LONGFILENAME.TEXT");
        assert_eq!(s, form(&f, own), "alone in its family, the name's own form, whatever its case");
        assert_ne!(mangle("LongFileName2.text"), mangle("LongFileName.text"));
        assert_eq!(lookup(&vfs, vfs.root(), &s.to_lowercase()).unwrap().1, "LongFileName.text");
        // No extension from a leading dot; an invalid first character.
        let (f, _) = mangle(".profile");
        assert!(f.1.is_empty(), "{f:?}");
        assert!(mangle("éé long").0.0.starts_with('L'));
        assert!(mangle("éé").0.0.starts_with('_'));
    }

    /// Two names of one family, found by search: (a, b) with the same
    /// stem and extension, and the same character after `~` too when
    /// `same_char`.
    fn colliding(same_char: bool) -> (String, String) {
        let mut seen: BTreeMap<(Family, Option<char>), String> = BTreeMap::new();
        for i in 0..2_000_000 {
            let n = format!("document number {i}.docx");
            let (f, c) = mangle(&n);
            if let Some(prev) = seen.insert((f, same_char.then_some(c)), n.clone()) {
                return (prev, n);
            }
        }
        panic!("no collision found");
    }

    #[test]
    fn colliding_names_get_unique_short_names_that_open_them() {
        for same_char in [false, true] {
            let (a, b) = colliding(same_char);
            assert_eq!(mangle(&a).0, mangle(&b).0);
            assert_eq!(mangle(&a).1 == mangle(&b).1, same_char);
            let vfs = MemoryFs::new();
            let (ia, ib) = (file(&vfs, &a), file(&vfs, &b));
            assert!(ia < ib);
            let root = vfs.root();
            let shorts = short_names_in(&vfs, root, &[(a.as_str(), ia), (b.as_str(), ib)]);
            assert_ne!(shorts[0], shorts[1], "{a} and {b} share {shorts:?}");
            assert!(shorts.iter().all(|s| is_8dot3(s) && looks_mangled(s)), "{shorts:?}");
            // The older keeps its own form; each short name opens its file.
            assert_eq!(shorts[0], form(&mangle(&a).0, mangle(&a).1));
            assert_eq!(lookup(&vfs, root, &shorts[0]).unwrap().1, a);
            assert_eq!(lookup(&vfs, root, &shorts[1]).unwrap().1, b);
            assert_eq!(short_name_in(&vfs, root, &b, ib), shorts[1], "one at a time as in a listing");
            // An 8.3 name of the older one's form takes it from both.
            let lit = file(&vfs, &shorts[0]);
            let again = short_names_in(&vfs, root, &[(a.as_str(), ia), (b.as_str(), ib), (shorts[0].as_str(), lit)]);
            assert_eq!(again[2], shorts[0]);
            assert!(again[0] != again[1] && again[0] != shorts[0] && again[1] != shorts[0], "{again:?}");
            assert_eq!(lookup(&vfs, root, &again[0]).unwrap().1, a);
            vfs.remove(root, &shorts[0], Timespec::new(2, 0)).unwrap();
            // The newer name going away leaves the older one's unchanged.
            vfs.remove(root, &b, Timespec::new(2, 0)).unwrap();
            assert_eq!(short_name_in(&vfs, root, &a, ia), shorts[0]);
        }
    }

    #[test]
    fn a_family_past_36_members_gives_the_rest_none() {
        let f: Family = ("ABCDEF".into(), String::new());
        let m = Members { long: (0..40).map(|i| (i, format!("n{i}"), '0')).collect(), taken: BTreeSet::from(['Z']) };
        let a = assign(&m);
        assert_eq!(a.len(), 35);
        let forms: BTreeSet<String> = a.values().map(|c| form(&f, *c)).collect();
        assert_eq!(forms.len(), 35, "unique");
        assert_eq!(a[&(0, "n0".to_string())], '0');
    }
}
