//! QUERY_DIRECTORY search patterns: MS-FSA 2.1.4.4 (FsRtlIsNameInExpression),
//! case-insensitive.

use crate::vfs::fold_char;

/// DOS_STAR: like `*` but never consumes the last `.` of the name.
const DOS_STAR: char = '<';
/// DOS_QM: one character, or nothing at a `.` or at the end of the name.
const DOS_QM: char = '>';
/// DOS_DOT: a `.`, or nothing at the end of the name.
const DOS_DOT: char = '"';

/// Whether `pattern` holds any wildcard of MS-FSA 2.1.4.3.
pub fn has_wildcards(pattern: &str) -> bool {
    pattern.contains(['*', '?', DOS_STAR, DOS_QM, DOS_DOT])
}

/// Whether `pattern` may be used as a QUERY_DIRECTORY FileName: a valid file
/// name component (MS-FSCC 2.1.5.2: at most 255 UTF-16 units, no control
/// characters, no `\ / : |`) in which wildcards, "." and ".." are allowed
/// (MS-FSA 2.1.5.6.3). Callers answer STATUS_OBJECT_NAME_INVALID otherwise;
/// an empty pattern means "*". Checking it first also bounds the cost of
/// [`name_matches`].
pub fn valid_search_pattern(pattern: &str) -> bool {
    pattern.encode_utf16().count() <= 255 && !pattern.chars().any(|c| c < ' ' || matches!(c, '\\' | '/' | ':' | '|'))
}

/// Case-insensitive match of `name` against the SMB search `pattern` (`*`,
/// `?` and the DOS wildcards `<` `>` `"`, MS-FSA 2.1.4.4). "*" and "*.*"
/// match every name.
///
/// Runs the expression as an NFA over the name: O(pattern × name) time and
/// O(pattern) memory, whatever the peer sends.
pub fn name_matches(pattern: &str, name: &str) -> bool {
    if name.is_empty() || pattern.is_empty() {
        return name.is_empty() && pattern.is_empty();
    }
    if pattern == "*" || pattern == "*.*" {
        return true;
    }
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    let last_dot = n.iter().rposition(|&c| c == '.');
    // states[i]: the expression has matched up to (not including) p[i].
    let mut states = vec![false; p.len() + 1];
    let mut next = vec![false; p.len() + 1];
    if let Some(s) = states.first_mut() {
        *s = true;
    }
    for j in 0..=n.len() {
        let c = n.get(j).copied();
        // Epsilon transitions only go from i to i + 1: one forward pass closes.
        for (i, &pc) in p.iter().enumerate() {
            if !states.get(i).copied().unwrap_or(false) {
                continue;
            }
            let skip = match pc {
                '*' | DOS_STAR => true,
                DOS_QM => c.is_none() || c == Some('.'),
                DOS_DOT => c.is_none(),
                _ => false,
            };
            if skip {
                if let Some(s) = states.get_mut(i + 1) {
                    *s = true;
                }
            }
        }
        let Some(c) = c else {
            return states.last().copied().unwrap_or(false);
        };
        next.iter_mut().for_each(|s| *s = false);
        let mut alive = false;
        for (i, &pc) in p.iter().enumerate() {
            if !states.get(i).copied().unwrap_or(false) {
                continue;
            }
            let target = match pc {
                '*' => Some(i),
                DOS_STAR => (c != '.' || last_dot.is_some_and(|d| d > j)).then_some(i),
                '?' => Some(i + 1),
                DOS_QM => (c != '.').then_some(i + 1),
                DOS_DOT => (c == '.').then_some(i + 1),
                lit => chars_eq(lit, c).then_some(i + 1),
            };
            if let Some(s) = target.and_then(|t| next.get_mut(t)) {
                *s = true;
                alive = true;
            }
        }
        if !alive {
            return false;
        }
        std::mem::swap(&mut states, &mut next);
    }
    false
}

fn chars_eq(a: char, b: char) -> bool {
    a == b || fold_char(a) == fold_char(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use quickcheck::quickcheck;

    #[test]
    fn pattern_table() {
        let table: &[(&str, &str, bool)] = &[
            ("*", "anything.txt", true),
            ("*", ".", true),
            ("*.*", "noext", true),
            ("*.*", "..", true),
            ("", "", true),
            ("", "a", false),
            ("*", "", false),
            ("abc", "ABC", true),
            ("ABC", "abd", false),
            ("\u{c9}t\u{c9}", "\u{e9}t\u{e9}", true),
            ("*.txt", "Report.TXT", true),
            ("*.txt", "a.txt.bak", false),
            ("*.txt", "txt", false),
            ("a*b*c", "aXXbYYc", true),
            ("a*b*c", "aXXbYY", false),
            ("a?c", "abc", true),
            ("a?c", "ac", false),
            ("a?c", "abbc", false),
            ("*?", "", false),
            ("**", "x", true),
            // DOS_STAR: like * but never eats the last dot.
            ("<", "abc", true),
            ("<", "a.b", false),
            ("<.txt", "a.b.txt", true),
            ("<b", "a.b", false),
            ("<\"", "noext", true),
            ("<\"", "has.ext", false),
            ("<.<", "a.b", true),
            // DOS_QM: one char, or nothing at a dot or at the end.
            ("a>>", "a", true),
            ("a>>", "abc", true),
            ("a>>", "abcd", false),
            ("a>>.txt", "ab.txt", true),
            ("a>>.txt", "abcd.txt", false),
            (">", ".", false),
            // DOS_DOT: a dot, or nothing at the end.
            ("abc\"", "abc", true),
            ("abc\"txt", "abc.txt", true),
            ("abc\"txt", "abctxt", false),
            ("abc\"*", "abc.d", true),
        ];
        for &(pattern, name, expected) in table {
            assert_eq!(name_matches(pattern, name), expected, "{pattern:?} vs {name:?}");
        }
        assert!(has_wildcards("a<b") && has_wildcards("*") && !has_wildcards("plain.txt"));
        for ok in ["*", "..", "a<b>c\"d", "x?.txt", ""] {
            assert!(valid_search_pattern(ok), "{ok:?}");
        }
        for bad in ["a\\b", "a/b", "a:b", "a|b", "a\u{1}", &"x".repeat(256)] {
            assert!(!valid_search_pattern(bad), "{bad:?}");
        }
    }

    #[test]
    fn long_patterns_stay_cheap() {
        let pattern = "*a".repeat(2000);
        let name = "a".repeat(255);
        assert!(!name_matches(&pattern, &name));
        assert!(name_matches(&"*".repeat(5000), &name));
    }

    quickcheck! {
        fn never_panics(pattern: String, name: String) -> bool {
            let _ = name_matches(&pattern, &name);
            true
        }

        fn literal_names_match_themselves(name: String) -> bool {
            has_wildcards(&name) || name_matches(&name, &name)
        }

        fn star_matches_all(name: String) -> bool {
            name.is_empty() || name_matches("*", &name)
        }
    }
}
