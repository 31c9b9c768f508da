//! Share-relative path handling: backslash-separated names walked from the
//! tree root, case-insensitive lookup fallback, `file:stream:$DATA` names.

use crate::access::Identity;
use crate::smb::short_name;
use crate::smb::status;
use crate::vfs::{FileAttr, FileType, ObjectId, Vfs, VfsError, check_name};

/// A parsed CREATE or rename target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmbPath {
    /// Directory components then the final name; empty for the share root.
    pub components: Vec<String>,
    /// A named stream of the final component (`None`: the unnamed data stream).
    pub stream: Option<String>,
    /// The unnamed data stream was named (`name::$DATA`): a directory has
    /// none (MS-FSCC 2.1.5.3).
    pub data: bool,
}

fn valid_component(c: &str) -> Result<(), u32> {
    if c.chars().any(|ch| matches!(ch, '<' | '>' | '"' | '|' | '?' | '*' | '/' | ':') || (ch as u32) < 0x20) {
        return Err(status::OBJECT_NAME_INVALID);
    }
    valid_stream(c)
}

/// A stream name may hold any character but `\`, `/`, `:` and NUL (MS-FSCC
/// 2.1.5.3: wildcards and control characters are allowed; smbtorture
/// smb2.streams.names2 expects only those three refused as invalid).
fn valid_stream(c: &str) -> Result<(), u32> {
    check_name(c).map_err(|e| match e {
        VfsError::NameTooLong => status::NAME_TOO_LONG,
        _ => status::OBJECT_NAME_INVALID,
    })
}

/// Parses `dir\sub\name[:stream[:$DATA]]`. A `/` separates components
/// as a `\` does, as smbd takes it (Windows refuses it as an invalid
/// name; smbtorture smb2.timestamps.test_close_not_attrib names its file
/// `dir/file`). A leading separator is STATUS_INVALID_PARAMETER (MS-SMB2
/// 3.3.5.9); empty, `.` and `..` components are invalid names, and a `..`
/// above the share root STATUS_OBJECT_PATH_SYNTAX_BAD.
pub fn parse(name: &str) -> Result<SmbPath, u32> {
    let name = name.replace('/', "\\");
    let name = name.as_str();
    if name.starts_with('\\') {
        return Err(status::INVALID_PARAMETER);
    }
    let name = name.strip_suffix('\\').unwrap_or(name);
    if name.is_empty() {
        return Ok(SmbPath { components: Vec::new(), stream: None, data: false });
    }
    let mut components: Vec<String> = name.split('\\').map(str::to_string).collect();
    let mut stream = None;
    let mut data = false;
    let split = components.last().and_then(|l| l.split_once(':')).map(|(b, r)| (b.to_string(), r.to_string()));
    if let Some((base, rest)) = split {
        let (sname, stype) = match rest.split_once(':') {
            Some((s, t)) => (s, Some(t)),
            None => (rest.as_str(), None),
        };
        if stype.is_some_and(|t| !t.eq_ignore_ascii_case("$DATA")) {
            return Err(status::OBJECT_NAME_INVALID);
        }
        if sname.is_empty() && stype.is_none() {
            return Err(status::OBJECT_NAME_INVALID);
        }
        if !sname.is_empty() {
            valid_stream(sname)?;
            stream = Some(sname.to_string());
        }
        data = sname.is_empty();
        if let Some(last) = components.last_mut() {
            *last = base;
        }
    }
    // A `..` that climbs above the share root is a bad path syntax, as
    // Windows and smbd answer; any other `.` or `..` an invalid name.
    let mut depth = 0usize;
    for c in &components {
        if c == ".." {
            depth = depth.checked_sub(1).ok_or(status::OBJECT_PATH_SYNTAX_BAD)?;
        } else {
            depth += 1;
        }
    }
    for c in &components {
        valid_component(c)?;
    }
    Ok(SmbPath { components, stream, data })
}

/// Looks `name` up in `dir`, exactly first, then ignoring case (names equal
/// under [`crate::vfs::fold`], the rule wildcard matching uses too). Returns
/// the attributes and the name as stored.
/// A miss on a name of the short-name form (crate::smb::short_name) is
/// looked for among the short names of the directory's long names
/// (MS-FSA 2.1.5.1: a file may be opened by its 8.3 name).
pub fn lookup_ci(vfs: &dyn Vfs, dir: ObjectId, name: &str) -> Result<(FileAttr, String), VfsError> {
    match vfs.lookup_nocase(dir, name) {
        Err(VfsError::NotFound) if short_name::looks_mangled(name) => short_name::lookup(vfs, dir, name),
        r => r,
    }
}

/// The name under which `id` is listed in `dir`.
pub fn name_in(vfs: &dyn Vfs, dir: ObjectId, id: ObjectId) -> Option<String> {
    vfs.name_in(dir, id).ok()
}

/// Walks every component but the last from `root`: the parent directory of
/// the target. A missing or non-directory intermediate component is
/// STATUS_OBJECT_PATH_NOT_FOUND.
/// The directory holding the last component, walked from `root` as `id`
/// may walk it: every directory searched, the root included, needs search
/// (x) permission, as a POSIX path walk does (crate::access); one that
/// lacks it is STATUS_ACCESS_DENIED, as smbd answers. The share root
/// itself (no components) needs none.
pub fn walk_parent(vfs: &dyn Vfs, root: ObjectId, components: &[String], id: &Identity) -> Result<ObjectId, u32> {
    if components.is_empty() {
        return Ok(root);
    }
    let searchable = |a: &FileAttr| crate::access::permits(a, id, crate::access::X);
    if !searchable(&vfs.getattr(root).map_err(|e| status::from_vfs(&e))?) {
        return Err(status::ACCESS_DENIED);
    }
    let mut dir = root;
    for c in components.iter().take(components.len() - 1) {
        match lookup_ci(vfs, dir, c) {
            Ok((a, _)) if a.kind == FileType::Directory => {
                if !searchable(&a) {
                    return Err(status::ACCESS_DENIED);
                }
                dir = a.id;
            }
            Ok(_) | Err(VfsError::NotFound) | Err(VfsError::NotDir) => return Err(status::OBJECT_PATH_NOT_FOUND),
            Err(e) => return Err(status::from_vfs(&e)),
        }
    }
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_paths_and_streams() {
        assert_eq!(parse("").unwrap().components.len(), 0);
        assert_eq!(parse("a\\b").unwrap().components, vec!["a", "b"]);
        // `/` separates as `\` does, as smbd takes it.
        assert_eq!(parse("a/b").unwrap().components, vec!["a", "b"]);
        assert_eq!(parse("/a"), Err(status::INVALID_PARAMETER));
        let p = parse("a\\f.txt:s1:$DATA").unwrap();
        assert_eq!((p.components, p.stream.as_deref()), (vec!["a".to_string(), "f.txt".to_string()], Some("s1")));
        let p = parse("f::$DATA").unwrap();
        assert_eq!((p.components, p.stream, p.data), (vec!["f".to_string()], None, true));
        assert!(!parse("f").unwrap().data && !parse("f:s").unwrap().data);
        assert_eq!(parse("f:s").unwrap().stream.as_deref(), Some("s"));
        // Stream names take wildcards and control characters, not `/`.
        assert_eq!(parse("f:?s*\u{5}<|>:$DATA").unwrap().stream.as_deref(), Some("?s*\u{5}<|>"));
        assert_eq!(parse("f:s/t:$DATA"), Err(status::OBJECT_NAME_INVALID));
        assert_eq!(parse("f:s:t:$DATA"), Err(status::OBJECT_NAME_INVALID));
        assert_eq!(parse("f*:s"), Err(status::OBJECT_NAME_INVALID));
        assert_eq!(parse("f:s:$INDEX_ALLOCATION"), Err(status::OBJECT_NAME_INVALID));
        assert_eq!(parse("a\\..\\b"), Err(status::OBJECT_NAME_INVALID));
        assert_eq!(parse("..\\..\\.."), Err(status::OBJECT_PATH_SYNTAX_BAD));
        assert_eq!(parse("a\\..\\..\\b"), Err(status::OBJECT_PATH_SYNTAX_BAD));
        assert_eq!(parse("a\\\\b"), Err(status::OBJECT_NAME_INVALID));
        assert_eq!(parse("a*b"), Err(status::OBJECT_NAME_INVALID));
        assert_eq!(parse("\\a"), Err(status::INVALID_PARAMETER));
    }
}
