//! 8.3 short names (MS-FSCC 2.1.5.2.1; MS-FSA 2.1.5.6.3, 2.1.5.12.1):
//! what FileAlternateNameInformation, the ShortName of
//! FileBothDirectoryInformation / FileIdBothDirectoryInformation and a
//! CREATE by short name use.
//!
//! Nothing is stored: the short name of a long name is computed from the
//! name alone, so it is deterministic and stable across restarts, renames of
//! other files and both backends (docs/WINDOWS-SEMANTICS.md). A
//! name that is a valid 8.3 name already (case ignored) is its own short
//! name. Any other name maps to `P` + five characters of a hash + `~` + one
//! more hash character, then `.` and the first three valid characters of
//! its extension if it has one: `LongFileName.text` -> `LXXXXX~X.TEX`. `P`
//! is the first valid character of the name (`_` if none); the hash is
//! FNV-1a (64 bit) over the name [`fold`]ed (so names equal but for case,
//! which SMB treats as one name, share it), written in base 36. Two long
//! names in one directory share a short name only on a hash collision (36^6
//! values per first character and extension): a lookup by such a short name
//! finds the first in listing order.

use crate::vfs::fold;

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

/// The short name of `name`: `name` itself when it is 8.3 already, else the
/// mangled form described in the module docs.
pub fn short_name(name: &str) -> String {
    if is_8dot3(name) {
        return name.to_string();
    }
    mangle(name)
}

/// The mangled 8.3 form of a long name (upper case).
fn mangle(name: &str) -> String {
    let folded = fold(name);
    let mut h = fnv1a(&folded);
    let mut digit = || {
        let d = BASE36[(h % 36) as usize] as char;
        h /= 36;
        d
    };
    let first = folded.chars().find(|&c| valid_char(c) && c != '~').unwrap_or('_');
    let mut out = String::with_capacity(12);
    out.push(first);
    for _ in 0..5 {
        out.push(digit());
    }
    out.push('~');
    out.push(digit());
    // The extension: after the last dot, unless the name starts with it.
    if let Some((base, ext)) = folded.rsplit_once('.')
        && !base.is_empty()
    {
        let ext: String = ext.chars().filter(|&c| valid_char(c)).take(3).collect();
        if !ext.is_empty() {
            out.push('.');
            out.push_str(&ext);
        }
    }
    out
}

/// Whether `name` has the form [`mangle`] gives (`X?????~?` with an
/// optional extension), so a lookup miss is worth a scan of the directory.
pub fn looks_mangled(name: &str) -> bool {
    is_8dot3(name) && name.split('.').next().is_some_and(|b| b.len() == 8 && b.as_bytes()[6] == b'~')
}

/// The name in a directory listing's ShortName field: empty for a name that
/// is 8.3 already (as Windows leaves it), the mangled form otherwise.
pub fn listing_short_name(name: &str) -> String {
    match is_8dot3(name) || name == "." || name == ".." {
        true => String::new(),
        false => mangle(name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_8dot3_names_are_their_own() {
        for n in ["a.txt", "README", "FILE1234.C", "x~1.abc", "A_B-C"] {
            assert!(is_8dot3(n), "{n}");
            assert_eq!(short_name(n), n);
            assert_eq!(listing_short_name(n), "");
        }
        for n in ["LongFileName.text", "a b.txt", "abc.defg", "one.two.three", ".hidden", "ninechars", "é.txt", ""] {
            assert!(!is_8dot3(n), "{n}");
        }
    }

    #[test]
    fn mangled_names_are_8dot3_deterministic_and_case_blind() {
        let s = short_name("LongFileName.text");
        assert!(is_8dot3(&s) && looks_mangled(&s), "{s}");
        assert!(s.starts_with('L') && s.ends_with(".TEX"), "{s}");
        assert_eq!(s, short_name("LongFileName.text"));
        assert_eq!(s, short_name("LONGFILENAME.TEXT"));
        assert_ne!(s, short_name("LongFileName2.text"));
        assert_eq!(listing_short_name("LongFileName.text"), s);
        // No extension from a leading dot; an invalid first character.
        let dot = short_name(".profile");
        assert!(is_8dot3(&dot) && !dot.contains('.'), "{dot}");
        assert!(short_name("éé long").starts_with('L'));
        assert!(short_name("éé").starts_with('_'));
    }

    #[test]
    fn few_collisions_among_many_names() {
        let names: Vec<String> = (0..20_000).map(|i| format!("document number {i}.docx")).collect();
        let shorts: std::collections::BTreeSet<String> = names.iter().map(|n| short_name(n)).collect();
        assert_eq!(shorts.len(), names.len());
    }
}
