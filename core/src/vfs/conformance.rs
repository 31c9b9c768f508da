//! Conformance suite shared by every backend (tests only). Each check gets a
//! fresh, empty tree; `conformance_tests!` instantiates them per backend.

use std::collections::BTreeSet;

use bytes::Bytes;

use super::*;
use crate::time::Timespec;

pub(crate) const T0: Timespec = Timespec::new(1_700_000_000, 5);

/// Gives the suite the backend under test (and keeps any cleanup guard alive).
pub(crate) trait Harness {
    fn vfs(&mut self) -> &mut dyn Vfs;
}

pub(crate) fn ca(mode: u32) -> CreateAttr {
    CreateAttr { mode, uid: 0, gid: 0 }
}

fn names(fs: &dyn Vfs, dir: ObjectId) -> Vec<String> {
    let (entries, done) = fs.readdir(dir, 0, usize::MAX).unwrap();
    assert!(done);
    let mut v: Vec<String> = entries.into_iter().map(|e| e.name).collect();
    v.sort();
    v
}

pub(crate) fn basic_io(fs: &mut dyn Vfs) {
    let root = fs.root();
    assert_eq!(fs.getattr(root).unwrap().kind, FileType::Directory);
    let f = fs.create(root, "f", ca(0o644), T0).unwrap();
    assert_eq!((f.kind, f.mode, f.size, f.nlink), (FileType::Regular, 0o644, 0, 1));
    assert_eq!(fs.create(root, "f", ca(0o644), T0), Err(VfsError::Exists));
    assert_eq!(fs.lookup(root, "f").unwrap().id, f.id);
    assert_eq!(fs.write(f.id, 0, b"hello", T0).unwrap().size, 5);
    assert_eq!(fs.read(f.id, 0, 100).unwrap(), (Bytes::from_static(b"hello"), true));
    assert_eq!(fs.read(f.id, 1, 2).unwrap(), (Bytes::from_static(b"el"), false));
    assert_eq!(fs.read(f.id, 3, 2).unwrap(), (Bytes::from_static(b"lo"), true));
    assert_eq!(fs.read(f.id, 10, 5).unwrap(), (Bytes::new(), true));
    // Extend with a hole.
    assert_eq!(fs.write(f.id, 10, b"x", T0).unwrap().size, 11);
    assert_eq!(&fs.read(f.id, 4, 100).unwrap().0[..], b"o\0\0\0\0\0x");
    // Truncate, then extend by setattr.
    let set = SetAttr { size: Some(3), ..Default::default() };
    assert_eq!(fs.setattr(f.id, &set, T0).unwrap().size, 3);
    let set = SetAttr { size: Some(6), ..Default::default() };
    fs.setattr(f.id, &set, T0).unwrap();
    assert_eq!(fs.read(f.id, 0, 100).unwrap(), (Bytes::from_static(b"hel\0\0\0"), true));
    assert_eq!(fs.write(f.id, u64::MAX - 1, b"abcd", T0), Err(VfsError::TooBig));
    assert_eq!(fs.read(root, 0, 10), Err(VfsError::IsDir));
    assert_eq!(fs.write(root, 0, b"x", T0), Err(VfsError::IsDir));
    fs.sync(f.id).unwrap();
    let st = fs.fsstat().unwrap();
    assert!(st.total_bytes >= st.free_bytes && st.total_bytes > 0);
    fs.remove(root, "f", T0).unwrap();
    assert_eq!(fs.getattr(f.id), Err(VfsError::Stale));
    assert_eq!(fs.lookup(root, "f"), Err(VfsError::NotFound));
}

pub(crate) fn directories(fs: &mut dyn Vfs) {
    let root = fs.root();
    let d = fs.mkdir(root, "d", ca(0o755), T0).unwrap();
    assert_eq!((d.kind, d.mode), (FileType::Directory, 0o755));
    assert_eq!(fs.mkdir(root, "d", ca(0o755), T0), Err(VfsError::Exists));
    assert_eq!(fs.create(root, "d", ca(0o644), T0), Err(VfsError::Exists));
    assert_eq!(fs.parent(d.id), Ok(root));
    assert_eq!(fs.parent(root), Ok(root));
    let a = fs.create(d.id, "a", ca(0o644), T0).unwrap();
    assert_eq!(fs.parent(a.id), Err(VfsError::NotDir));
    assert_eq!(fs.lookup(a.id, "x"), Err(VfsError::NotDir));
    assert_eq!(fs.create(a.id, "x", ca(0o644), T0), Err(VfsError::NotDir));
    assert_eq!(fs.readdir(a.id, 0, 10), Err(VfsError::NotDir));
    assert_eq!(fs.rmdir(root, "d", T0), Err(VfsError::NotEmpty));
    assert_eq!(fs.remove(root, "d", T0), Err(VfsError::IsDir));
    assert_eq!(fs.rmdir(d.id, "a", T0), Err(VfsError::NotDir));
    assert_eq!(fs.rmdir(d.id, "nope", T0), Err(VfsError::NotFound));
    assert_eq!(fs.remove(d.id, "nope", T0), Err(VfsError::NotFound));
    assert_eq!(names(fs, d.id), vec!["a".to_string()]);
    fs.remove(d.id, "a", T0).unwrap();
    assert_eq!(fs.readdir(d.id, 0, 10).unwrap(), (vec![], true));
    fs.rmdir(root, "d", T0).unwrap();
    assert_eq!(fs.lookup(root, "d"), Err(VfsError::NotFound));
    assert_eq!(fs.getattr(d.id), Err(VfsError::Stale));
}

pub(crate) fn bad_names(fs: &mut dyn Vfs) {
    let root = fs.root();
    fs.mkdir(root, "d", ca(0o755), T0).unwrap();
    for bad in ["", ".", "..", "a/b", "/etc", "a\\b", "a\0b", "../d"] {
        assert_eq!(fs.lookup(root, bad), Err(VfsError::InvalidName), "{bad:?}");
        assert_eq!(fs.create(root, bad, ca(0o644), T0), Err(VfsError::InvalidName), "{bad:?}");
        assert_eq!(fs.mkdir(root, bad, ca(0o755), T0), Err(VfsError::InvalidName), "{bad:?}");
        assert_eq!(fs.remove(root, bad, T0), Err(VfsError::InvalidName), "{bad:?}");
        assert_eq!(fs.rename(root, "d", root, bad, true, T0), Err(VfsError::InvalidName), "{bad:?}");
    }
    let long = "x".repeat(MAX_NAME_LEN + 1);
    assert_eq!(fs.create(root, &long, ca(0o644), T0), Err(VfsError::NameTooLong));
    let ok = "y".repeat(MAX_NAME_LEN);
    fs.create(root, &ok, ca(0o644), T0).unwrap();
    assert_eq!(names(fs, root), vec!["d".to_string(), ok]);
}

pub(crate) fn symlinks(fs: &mut dyn Vfs) {
    let root = fs.root();
    let s = fs.symlink(root, "s", "target/../x", ca(0o777), T0).unwrap();
    assert_eq!(s.kind, FileType::Symlink);
    assert_eq!(fs.lookup(root, "s").unwrap().id, s.id);
    assert_eq!(fs.readlink(s.id).unwrap(), "target/../x");
    assert!(fs.read(s.id, 0, 10).is_err());
    assert!(fs.write(s.id, 0, b"x", T0).is_err());
    let f = fs.create(root, "f", ca(0o644), T0).unwrap();
    assert_eq!(fs.readlink(f.id), Err(VfsError::Invalid));
    assert_eq!(fs.readlink(root), Err(VfsError::Invalid));
    let (entries, _) = fs.readdir(root, 0, 10).unwrap();
    assert!(entries.iter().any(|e| e.name == "s" && e.kind == FileType::Symlink && e.id == s.id));
    fs.remove(root, "s", T0).unwrap();
    assert_eq!(fs.lookup(root, "s"), Err(VfsError::NotFound));
}

pub(crate) fn hard_links(fs: &mut dyn Vfs) {
    let root = fs.root();
    let sub = fs.mkdir(root, "sub", ca(0o755), T0).unwrap();
    let f = fs.create(root, "f", ca(0o644), T0).unwrap();
    fs.write(f.id, 0, b"abc", T0).unwrap();
    let g = fs.link(f.id, sub.id, "g", T0).unwrap();
    assert_eq!((g.id, g.nlink), (f.id, 2));
    assert_eq!(fs.getattr(f.id).unwrap().nlink, 2);
    assert_eq!(fs.lookup(sub.id, "g").unwrap().id, f.id);
    assert_eq!(fs.link(f.id, sub.id, "g", T0), Err(VfsError::Exists));
    assert_eq!(fs.link(sub.id, root, "dirlink", T0), Err(VfsError::IsDir));
    fs.remove(root, "f", T0).unwrap();
    let g = fs.getattr(f.id).unwrap();
    assert_eq!(g.nlink, 1);
    assert_eq!(fs.read(g.id, 0, 10).unwrap(), (Bytes::from_static(b"abc"), true));
    fs.remove(sub.id, "g", T0).unwrap();
    assert_eq!(fs.lookup(sub.id, "g"), Err(VfsError::NotFound));
}

pub(crate) fn renames(fs: &mut dyn Vfs) {
    let root = fs.root();
    let a = fs.mkdir(root, "a", ca(0o755), T0).unwrap();
    let b = fs.mkdir(root, "b", ca(0o755), T0).unwrap();
    let f = fs.create(a.id, "f", ca(0o644), T0).unwrap();
    fs.write(f.id, 0, b"ffff", T0).unwrap();
    // Same directory, then across directories.
    fs.rename(a.id, "f", a.id, "f2", false, T0).unwrap();
    assert_eq!(fs.lookup(a.id, "f"), Err(VfsError::NotFound));
    assert_eq!(fs.lookup(a.id, "f2").unwrap().id, f.id);
    fs.rename(a.id, "f2", b.id, "f", false, T0).unwrap();
    assert_eq!(fs.lookup(b.id, "f").unwrap().id, f.id);
    assert_eq!(names(fs, a.id), Vec::<String>::new());
    // Onto itself: nothing happens.
    fs.rename(b.id, "f", b.id, "f", false, T0).unwrap();
    assert_eq!(fs.lookup(b.id, "f").unwrap().id, f.id);
    assert_eq!(fs.rename(b.id, "missing", a.id, "x", true, T0), Err(VfsError::NotFound));
    // Replace a file by a file.
    let g = fs.create(a.id, "g", ca(0o644), T0).unwrap();
    assert_eq!(fs.rename(b.id, "f", a.id, "g", false, T0), Err(VfsError::Exists));
    fs.rename(b.id, "f", a.id, "g", true, T0).unwrap();
    assert_eq!(fs.lookup(a.id, "g").unwrap().id, f.id);
    assert_eq!(fs.getattr(g.id), Err(VfsError::Stale));
    assert_eq!(fs.read(f.id, 0, 10).unwrap().0, Bytes::from_static(b"ffff"));
    // Directory cases.
    let d1 = fs.mkdir(b.id, "d1", ca(0o755), T0).unwrap();
    let inner = fs.create(d1.id, "inner", ca(0o644), T0).unwrap();
    fs.mkdir(b.id, "empty", ca(0o755), T0).unwrap();
    let full = fs.mkdir(b.id, "full", ca(0o755), T0).unwrap();
    fs.create(full.id, "x", ca(0o644), T0).unwrap();
    assert_eq!(fs.rename(b.id, "d1", b.id, "full", true, T0), Err(VfsError::NotEmpty));
    assert_eq!(fs.rename(b.id, "d1", a.id, "g", true, T0), Err(VfsError::NotDir));
    assert_eq!(fs.rename(a.id, "g", b.id, "empty", true, T0), Err(VfsError::IsDir));
    assert_eq!(fs.rename(b.id, "d1", b.id, "empty", false, T0), Err(VfsError::Exists));
    fs.rename(b.id, "d1", b.id, "empty", true, T0).unwrap();
    assert_eq!(fs.lookup(b.id, "empty").unwrap().id, d1.id);
    // Into its own subtree.
    let deep = fs.mkdir(d1.id, "deep", ca(0o755), T0).unwrap();
    assert_eq!(fs.rename(b.id, "empty", deep.id, "loop", false, T0), Err(VfsError::Invalid));
    assert_eq!(fs.rename(b.id, "empty", d1.id, "loop", false, T0), Err(VfsError::Invalid));
    // A moved directory keeps its subtree reachable by id.
    fs.rename(b.id, "empty", root, "moved", false, T0).unwrap();
    assert_eq!(fs.parent(d1.id), Ok(root));
    assert_eq!(fs.parent(deep.id), Ok(d1.id));
    assert_eq!(fs.getattr(inner.id).unwrap().kind, FileType::Regular);
    assert_eq!(fs.lookup(d1.id, "inner").unwrap().id, inner.id);
    fs.write(inner.id, 0, b"still here", T0).unwrap();
    assert_eq!(fs.lookup(root, "moved").unwrap().id, d1.id);
    assert_eq!(names(fs, b.id), vec!["full".to_string()]);
}

/// Pages through a directory with a small `max`, removing and adding entries
/// between pages: no surviving entry is skipped or repeated.
pub(crate) fn readdir_paging(fs: &mut dyn Vfs) {
    let root = fs.root();
    let p = fs.mkdir(root, "p", ca(0o755), T0).unwrap();
    assert_eq!(fs.readdir(p.id, 0, 10).unwrap(), (vec![], true));
    let all: Vec<String> = (0..30).map(|i| format!("f{i:02}")).collect();
    for n in &all {
        fs.create(p.id, n, ca(0o644), T0).unwrap();
    }
    let mut seen: Vec<String> = Vec::new();
    let mut removed: BTreeSet<String> = BTreeSet::new();
    let mut cookie = 0;
    let mut round = 0;
    loop {
        let (entries, done) = fs.readdir(p.id, cookie, 4).unwrap();
        assert!(entries.len() <= 4);
        for e in &entries {
            assert!(!removed.contains(&e.name), "removed entry {} listed", e.name);
            seen.push(e.name.clone());
        }
        if let Some(last) = entries.last() {
            cookie = last.cookie;
        }
        if done {
            break;
        }
        assert!(!entries.is_empty());
        // Remove one entry not yet seen and one already seen; add a new one.
        let unseen = all.iter().rev().find(|n| !seen.contains(n) && !removed.contains(*n)).cloned();
        for victim in unseen.into_iter().chain(seen.first().cloned()) {
            if removed.insert(victim.clone()) {
                fs.remove(p.id, &victim, T0).unwrap();
            }
        }
        fs.create(p.id, &format!("new{round}"), ca(0o644), T0).unwrap();
        round += 1;
    }
    let unique: BTreeSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "duplicates in {seen:?}");
    for n in &all {
        if !removed.contains(n) {
            assert!(unique.contains(n), "{n} skipped");
        }
    }
    assert!(round > 3);
}

pub(crate) fn times_and_modes(fs: &mut dyn Vfs) {
    let root = fs.root();
    let f = fs.create(root, "f", ca(0o600), T0).unwrap();
    let mtime = Timespec::new(1_600_000_000, 123_456_789);
    let atime = Timespec::new(1_500_000_000, 987_654_321);
    let set = SetAttr { mtime: Some(mtime), atime: Some(atime), mode: Some(0o640), ..Default::default() };
    let back = fs.setattr(f.id, &set, T0).unwrap();
    assert_eq!((back.mtime, back.atime, back.mode), (mtime, atime, 0o640));
    let back = fs.getattr(f.id).unwrap();
    assert_eq!((back.mtime, back.atime, back.mode), (mtime, atime, 0o640));
    // Fields left out stay as they are.
    let set = SetAttr { mode: Some(0o604), ..Default::default() };
    let back = fs.setattr(f.id, &set, T0).unwrap();
    assert_eq!((back.mtime, back.atime, back.mode), (mtime, atime, 0o604));
    let d = fs.mkdir(root, "d", ca(0o700), T0).unwrap();
    let back = fs.setattr(d.id, &SetAttr { mtime: Some(mtime), ..Default::default() }, T0).unwrap();
    assert_eq!(back.mtime, mtime);
    assert_eq!(fs.setattr(d.id, &SetAttr { size: Some(0), ..Default::default() }, T0), Err(VfsError::IsDir));
}

pub(crate) fn lookup_nocase(fs: &mut dyn Vfs) {
    let root = fs.root();
    let f = fs.create(root, "Readme.TXT", ca(0o644), T0).unwrap();
    let d = fs.mkdir(root, "Sub", ca(0o755), T0).unwrap();
    for i in 0..30 {
        fs.create(d.id, &format!("n{i}"), ca(0o644), T0).unwrap();
    }
    let (a, stored) = fs.lookup_nocase(root, "README.txt").unwrap();
    assert_eq!((a.id, stored.as_str()), (f.id, "Readme.TXT"));
    let (a, stored) = fs.lookup_nocase(root, "Readme.TXT").unwrap();
    assert_eq!((a.id, stored.as_str()), (f.id, "Readme.TXT"));
    assert_eq!(fs.lookup_nocase(root, "sub").unwrap().0.id, d.id);
    assert_eq!(fs.lookup_nocase(d.id, "N29").unwrap().1, "n29");
    assert_eq!(fs.lookup_nocase(root, "missing"), Err(VfsError::NotFound));
    assert_eq!(fs.lookup_nocase(f.id, "x"), Err(VfsError::NotDir));
    assert_eq!(fs.lookup_nocase(root, "a/b"), Err(VfsError::InvalidName));
}

/// What `lookup_nocase` must answer: the exact name, else the first entry in
/// listing order whose fold is the same.
fn scan_nocase(fs: &dyn Vfs, dir: ObjectId, name: &str) -> VfsResult<(ObjectId, String)> {
    if let Ok(a) = fs.lookup(dir, name) {
        return Ok((a.id, name.to_string()));
    }
    let (entries, done) = fs.readdir(dir, 0, usize::MAX)?;
    assert!(done);
    let key = fold(name);
    entries.into_iter().find(|e| fold(&e.name) == key).map(|e| (e.id, e.name)).ok_or(VfsError::NotFound)
}

/// `lookup_nocase` agrees with [`scan_nocase`] for every listed name in
/// several cases and for `extra` names.
fn check_nocase(fs: &dyn Vfs, dir: ObjectId, extra: &[&str]) {
    let (entries, _) = fs.readdir(dir, 0, usize::MAX).unwrap();
    let mut queries: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
    for e in entries {
        queries.push(e.name.to_lowercase());
        queries.push(e.name.to_uppercase());
        queries.push(fold(&e.name));
        queries.push(e.name);
    }
    for q in queries {
        let got = fs.lookup_nocase(dir, &q).map(|(a, s)| (a.id, s));
        assert_eq!(got, scan_nocase(fs, dir, &q), "lookup_nocase({q:?})");
    }
}

/// The case-insensitive lookup stays right through every kind of change.
pub(crate) fn lookup_nocase_changes(fs: &mut dyn Vfs) {
    let root = fs.root();
    let d = fs.mkdir(root, "D", ca(0o755), T0).unwrap().id;
    let e = fs.mkdir(root, "E", ca(0o755), T0).unwrap().id;
    let ci = |fs: &dyn Vfs, dir: ObjectId, n: &str| fs.lookup_nocase(dir, n).map(|(a, s)| (a.id, s));
    let mut ids = Vec::new();
    for i in 0..40 {
        assert_eq!(ci(fs, d, &format!("FILE{i}.txt")), Err(VfsError::NotFound));
        ids.push(fs.create(d, &format!("File{i}.txt"), ca(0o644), T0).unwrap().id);
    }
    for (i, id) in ids.iter().enumerate() {
        assert_eq!(ci(fs, d, &format!("fILE{i}.TXT")), Ok((*id, format!("File{i}.txt"))));
    }
    // Renames: only the case, to another name, to another directory, over
    // an existing name.
    fs.rename(d, "File1.txt", d, "FILE1.TXT", false, T0).unwrap();
    assert_eq!(ci(fs, d, "file1.txt"), Ok((ids[1], "FILE1.TXT".to_string())));
    assert_eq!(fs.lookup(d, "File1.txt"), Err(VfsError::NotFound));
    fs.rename(d, "File2.txt", d, "Other", false, T0).unwrap();
    assert_eq!(ci(fs, d, "FILE2.TXT"), Err(VfsError::NotFound));
    assert_eq!(ci(fs, d, "OTHER"), Ok((ids[2], "Other".to_string())));
    fs.rename(d, "File3.txt", e, "Moved", false, T0).unwrap();
    assert_eq!(ci(fs, d, "file3.txt"), Err(VfsError::NotFound));
    assert_eq!(ci(fs, e, "MOVED"), Ok((ids[3], "Moved".to_string())));
    fs.rename(d, "File4.txt", d, "File5.txt", true, T0).unwrap();
    assert_eq!(ci(fs, d, "FILE4.TXT"), Err(VfsError::NotFound));
    assert_eq!(ci(fs, d, "FILE5.TXT"), Ok((ids[4], "File5.txt".to_string())));
    fs.rename(d, "File6.txt", e, "moved", false, T0).unwrap();
    // Removes, links, directories, symlinks.
    fs.remove(d, "File7.txt", T0).unwrap();
    assert_eq!(ci(fs, d, "FILE7.TXT"), Err(VfsError::NotFound));
    fs.link(ids[8], d, "Linked", T0).unwrap();
    assert_eq!(ci(fs, d, "LINKED"), Ok((ids[8], "Linked".to_string())));
    let sub = fs.mkdir(d, "SubDir", ca(0o755), T0).unwrap().id;
    assert_eq!(ci(fs, d, "subdir"), Ok((sub, "SubDir".to_string())));
    let sym = fs.symlink(d, "Sym", "target", ca(0o777), T0).unwrap().id;
    assert_eq!(ci(fs, d, "SYM"), Ok((sym, "Sym".to_string())));
    fs.rmdir(d, "SubDir", T0).unwrap();
    assert_eq!(ci(fs, d, "SUBDIR"), Err(VfsError::NotFound));
    // Names differing only in case: the exact one, else the first listed.
    let lower = fs.create(d, "dup", ca(0o644), T0).unwrap().id;
    let upper = fs.create(d, "DUP", ca(0o644), T0).unwrap().id;
    assert_eq!(ci(fs, d, "dup"), Ok((lower, "dup".to_string())));
    assert_eq!(ci(fs, d, "DUP"), Ok((upper, "DUP".to_string())));
    check_nocase(fs, d, &["Dup", "dUP"]);
    fs.remove(d, "dup", T0).unwrap();
    assert_eq!(ci(fs, d, "Dup"), Ok((upper, "DUP".to_string())));
    fs.rename(d, "DUP", d, "dUp", false, T0).unwrap();
    assert_eq!(ci(fs, d, "DUP"), Ok((upper, "dUp".to_string())));
    // Beyond ASCII: the SMB folding (simple upper case).
    let accented = fs.create(d, "\u{e9}t\u{e9}", ca(0o644), T0).unwrap().id;
    assert_eq!(ci(fs, d, "\u{c9}T\u{c9}"), Ok((accented, "\u{e9}t\u{e9}".to_string())));
    check_nocase(fs, d, &["missing", "FILE7.TXT", "\u{c9}T\u{e9}", "stra\u{df}e"]);
    check_nocase(fs, e, &["moved", "MOVED", "File6.txt"]);
}

pub(crate) fn name_in(fs: &mut dyn Vfs) {
    let root = fs.root();
    let d = fs.mkdir(root, "d", ca(0o755), T0).unwrap();
    let e = fs.mkdir(d.id, "e", ca(0o755), T0).unwrap();
    for i in 0..30 {
        fs.create(d.id, &format!("n{i}"), ca(0o644), T0).unwrap();
    }
    let f = fs.create(d.id, "f", ca(0o644), T0).unwrap();
    fs.link(f.id, e.id, "g", T0).unwrap();
    assert_eq!(fs.name_in(root, d.id).unwrap(), "d");
    assert_eq!(fs.name_in(d.id, e.id).unwrap(), "e");
    assert_eq!(fs.name_in(d.id, f.id).unwrap(), "f");
    assert_eq!(fs.name_in(e.id, f.id).unwrap(), "g");
    assert_eq!(fs.name_in(root, e.id), Err(VfsError::NotFound));
    fs.rename(d.id, "e", root, "e2", false, T0).unwrap();
    assert_eq!(fs.name_in(root, e.id).unwrap(), "e2");
    assert_eq!(fs.name_in(d.id, e.id), Err(VfsError::NotFound));
    assert_eq!(fs.name_in(f.id, e.id), Err(VfsError::NotDir));
}

/// `is_within` follows directories, hard links, removals and renames.
pub(crate) fn within(fs: &mut dyn Vfs) {
    let root = fs.root();
    let a = fs.mkdir(root, "a", ca(0o755), T0).unwrap().id;
    let b = fs.mkdir(root, "b", ca(0o755), T0).unwrap().id;
    let sub = fs.mkdir(a, "sub", ca(0o755), T0).unwrap().id;
    let f = fs.create(sub, "f", ca(0o644), T0).unwrap().id;
    for (id, dir) in [(f, a), (f, sub), (f, root), (sub, a), (a, a), (root, root)] {
        assert_eq!(fs.is_within(id, dir), Ok(true), "{id} in {dir}");
    }
    for (id, dir) in [(f, b), (a, sub), (b, a), (root, a), (sub, f)] {
        assert_eq!(fs.is_within(id, dir), Ok(false), "{id} not in {dir}");
    }
    // A second name in b: the file lies below both directories.
    fs.link(f, b, "g", T0).unwrap();
    assert_eq!((fs.is_within(f, a), fs.is_within(f, b)), (Ok(true), Ok(true)));
    fs.remove(sub, "f", T0).unwrap();
    assert_eq!((fs.is_within(f, a), fs.is_within(f, b)), (Ok(false), Ok(true)));
    // Moving a directory moves what lies below it.
    fs.rename(root, "a", b, "a2", false, T0).unwrap();
    assert_eq!((fs.is_within(sub, b), fs.is_within(a, b)), (Ok(true), Ok(true)));
    fs.remove(b, "g", T0).unwrap();
    assert_eq!(fs.is_within(f, root), Err(VfsError::Stale));
}

/// DOS attributes and the creation time are kept per object, survive a
/// rename and a mode change, and are masked to [`DOS_KEPT`].
pub(crate) fn dos_attributes(fs: &mut dyn Vfs) {
    let root = fs.root();
    let f = fs.create(root, "f", ca(0o644), T0).unwrap();
    let d = fs.mkdir(root, "d", ca(0o755), T0).unwrap();
    assert_eq!((f.dos, d.dos), (None, None));
    let set = SetAttr { dos: Some(0x2 | 0x20 | 0x10 | 0x1), ..Default::default() };
    assert_eq!(fs.setattr(f.id, &set, T0).unwrap().dos, Some(0x22));
    let set = SetAttr { dos: Some(0x4), ..Default::default() };
    assert_eq!(fs.setattr(d.id, &set, T0).unwrap().dos, Some(0x4));
    let btime = Timespec::new(1_000_000_000, 123_456_700);
    fs.setattr(f.id, &SetAttr { btime: Some(btime), mode: Some(0o444), ..Default::default() }, T0).unwrap();
    fs.rename(root, "f", root, "g", false, T0).unwrap();
    let g = fs.lookup(root, "g").unwrap();
    assert_eq!((g.dos, g.btime, g.mode), (Some(0x22), btime, 0o444));
    assert_eq!(fs.getattr(d.id).unwrap().dos, Some(0x4));
    assert_eq!(fs.setattr(f.id, &SetAttr { dos: Some(0), ..Default::default() }, T0).unwrap().dos, Some(0));
}

/// Server-side copy: between files (extending the target, short at the
/// source's end), within one file over an overlapping range (the source as
/// it was before), and into a stream.
pub(crate) fn copy_range(fs: &mut dyn Vfs) {
    let root = fs.root();
    let a = fs.create(root, "a", ca(0o644), T0).unwrap().id;
    let b = fs.create(root, "b", ca(0o644), T0).unwrap().id;
    fs.write(a, 0, b"0123456789", T0).unwrap();
    let (n, attr) = fs.copy_range(a, 2, b, 4, 6, T0).unwrap();
    assert_eq!((n, attr.size), (6, 10));
    assert_eq!(fs.read(b, 0, 100).unwrap().0, Bytes::from_static(b"\x00\x00\x00\x00234567"));
    assert_eq!(fs.copy_range(a, 8, b, 0, 6, T0).unwrap().0, 2, "short at the source's end");
    assert_eq!(fs.copy_range(a, 0, a, 4, 6, T0).unwrap().0, 6);
    assert_eq!(fs.read(a, 0, 100).unwrap().0, Bytes::from_static(b"0123012345"));
    assert_eq!(fs.copy_range(a, 0, b, 0, MAX_COPY + 1, T0), Err(VfsError::Invalid));
    let s = fs.stream(a, "s", true, T0).unwrap().id;
    assert_eq!(fs.copy_range(b, 4, s, 0, 3, T0).unwrap().0, 3);
    assert_eq!(fs.read(s, 0, 100).unwrap().0, Bytes::from_static(b"234"));
}

/// A security descriptor is kept per object as given, follows a rename,
/// and is forgotten on request; one too large is refused.
pub(crate) fn security(fs: &mut dyn Vfs) {
    let root = fs.root();
    let f = fs.create(root, "f", ca(0o644), T0).unwrap().id;
    let d = fs.mkdir(root, "d", ca(0o755), T0).unwrap().id;
    assert_eq!(fs.security(f), Ok(None));
    let sd = [1u8, 0, 4, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    fs.set_security(f, Some(&sd), T0).unwrap();
    fs.set_security(d, Some(&sd[..4]), T0).unwrap();
    fs.rename(root, "f", root, "g", false, T0).unwrap();
    assert_eq!(fs.security(fs.lookup(root, "g").unwrap().id), Ok(Some(sd.to_vec())));
    assert_eq!(fs.security(d), Ok(Some(sd[..4].to_vec())));
    fs.set_security(f, None, T0).unwrap();
    assert_eq!(fs.security(f), Ok(None));
    fs.set_security(f, None, T0).unwrap();
    assert_eq!(fs.set_security(f, Some(&vec![0; crate::vfs::MAX_SECURITY + 1]), T0), Err(VfsError::NoSpace));
}

/// Extended attributes are kept per object (files and directories) as
/// given, in the order set, replaced and removed by name (an empty value),
/// follow a rename, and go with the object's last name; bad ones are
/// refused.
pub(crate) fn eas(fs: &mut dyn Vfs) {
    let root = fs.root();
    let f = fs.create(root, "f", ca(0o644), T0).unwrap().id;
    let d = fs.mkdir(root, "d", ca(0o755), T0).unwrap().id;
    assert_eq!(fs.eas(f), Ok(vec![]));
    fs.set_ea(f, "EAONE", b"one", T0).unwrap();
    fs.set_ea(f, "second.ea", b"2", T0).unwrap();
    fs.set_ea(d, "DirEa", &[0, 1, 2], T0).unwrap();
    fs.set_ea(f, "EAONE", b"ONE!", T0).unwrap();
    fs.set_ea(f, "missing", b"", T0).unwrap();
    fs.rename(root, "f", root, "g", false, T0).unwrap();
    let mut got = fs.eas(fs.lookup(root, "g").unwrap().id).unwrap();
    got.sort();
    assert_eq!(got, vec![("EAONE".to_string(), b"ONE!".to_vec()), ("second.ea".to_string(), b"2".to_vec())]);
    assert_eq!(fs.eas(d), Ok(vec![("DirEa".to_string(), vec![0, 1, 2])]));
    fs.set_ea(f, "EAONE", b"", T0).unwrap();
    assert_eq!(fs.eas(f), Ok(vec![("second.ea".to_string(), b"2".to_vec())]));
    assert_eq!(fs.set_ea(f, "", b"v", T0), Err(VfsError::InvalidName));
    assert_eq!(fs.set_ea(f, &"n".repeat(crate::vfs::MAX_EA_NAME + 1), b"v", T0), Err(VfsError::InvalidName));
    assert_eq!(fs.set_ea(f, "big", &vec![1; crate::vfs::MAX_EA_VALUE + 1], T0), Err(VfsError::TooBig));
    // A new object in the old one's place starts with none.
    fs.remove(root, "g", T0).unwrap();
    let h = fs.create(root, "g", ca(0o644), T0).unwrap().id;
    assert_eq!(fs.eas(h), Ok(vec![]));
}

/// A stream renamed within its file keeps its id and data; a target
/// stream is replaced; the names are checked (MS-FSA 2.1.5.15.12.1).
pub(crate) fn stream_renames(fs: &mut dyn Vfs) {
    let root = fs.root();
    let f = fs.create(root, "f", ca(0o644), T0).unwrap().id;
    let one = fs.stream(f, "one", true, T0).unwrap().id;
    fs.write(one, 0, b"data", T0).unwrap();
    fs.rename_stream(f, "one", "two", T0).unwrap();
    assert_eq!(fs.stream(f, "one", false, T0), Err(VfsError::NotFound));
    assert_eq!(fs.stream(f, "two", false, T0).unwrap().id, one, "the id follows");
    assert_eq!(fs.read(one, 0, 100).unwrap().0, Bytes::from_static(b"data"));
    let three = fs.stream(f, "three", true, T0).unwrap().id;
    fs.rename_stream(f, "two", "three", T0).unwrap();
    assert_eq!(fs.list_streams(f).unwrap(), vec![("three".to_string(), 4)]);
    assert_eq!(fs.stream(f, "three", false, T0).unwrap().id, one);
    assert_eq!(fs.getattr(three), Err(VfsError::Stale), "the replaced stream is gone");
    assert_eq!(fs.rename_stream(f, "nope", "x", T0), Err(VfsError::NotFound));
    assert_eq!(fs.rename_stream(f, "three", "a:b", T0), Err(VfsError::InvalidName));
    assert_eq!(fs.list_streams(f).unwrap(), vec![("three".to_string(), 4)]);
}

/// A stream of 1 MiB (past LocalFs's attribute limit) is written in
/// pieces, read back, listed with its size, truncated and extended,
/// renamed within its file, kept through its file's rename, copied from,
/// and removed.
pub(crate) fn large_streams(fs: &mut dyn Vfs) {
    let root = fs.root();
    let f = fs.create(root, "f", ca(0o644), T0).unwrap().id;
    let s = fs.stream(f, "big", true, T0).unwrap().id;
    let data: Vec<u8> = (0..1u32 << 20).map(|i| (i % 251) as u8).collect();
    for (i, piece) in data.chunks(100_000).enumerate() {
        fs.write(s, (i * 100_000) as u64, piece, T0).unwrap();
    }
    assert_eq!(fs.getattr(s).unwrap().size, 1 << 20);
    assert_eq!(fs.read(s, 0, 2 << 20).unwrap(), (Bytes::from(data.clone()), true));
    assert_eq!(fs.read(s, 70_000, 10).unwrap().0, Bytes::copy_from_slice(&data[70_000..70_010]));
    assert_eq!(fs.list_streams(f).unwrap(), vec![("big".to_string(), 1 << 20)]);
    let shrink = SetAttr { size: Some(100_000), ..Default::default() };
    assert_eq!(fs.setattr(s, &shrink, T0).unwrap().size, 100_000);
    let grow = SetAttr { size: Some(300_000), ..Default::default() };
    assert_eq!(fs.setattr(s, &grow, T0).unwrap().size, 300_000);
    let (tail, eof) = fs.read(s, 99_990, 1 << 20).unwrap();
    assert!(eof);
    assert_eq!(&tail[..10], &data[99_990..100_000]);
    assert!(tail[10..].iter().all(|&b| b == 0) && tail.len() == 200_010, "extended with zeros");
    fs.rename_stream(f, "big", "Moved", T0).unwrap();
    assert_eq!(fs.stream(f, "Moved", false, T0).unwrap().id, s, "the id follows");
    assert_eq!(fs.stream(f, "big", false, T0), Err(VfsError::NotFound));
    fs.rename(root, "f", root, "g", false, T0).unwrap();
    assert_eq!(fs.list_streams(f).unwrap(), vec![("Moved".to_string(), 300_000)]);
    let c = fs.create(root, "c", ca(0o644), T0).unwrap().id;
    assert_eq!(fs.copy_range(s, 0, c, 0, 300_000, T0).unwrap().0, 300_000);
    assert_eq!(fs.read(c, 99_990, 10).unwrap().0, Bytes::copy_from_slice(&data[99_990..100_000]));
    fs.remove_stream(f, "Moved", T0).unwrap();
    assert_eq!(fs.list_streams(f).unwrap(), vec![]);
    assert_eq!(fs.getattr(s), Err(VfsError::Stale));
}

/// A stream shares its file's times, DOS attributes and mode, set through
/// either (MS-FSA 2.1.1.3); its size is its own.
pub(crate) fn streams_share_basic_information(fs: &mut dyn Vfs) {
    let root = fs.root();
    let f = fs.create(root, "f", ca(0o644), T0).unwrap().id;
    fs.write(f, 0, b"main", T0).unwrap();
    let s = fs.stream(f, "s", true, T0).unwrap().id;
    let t = Timespec::new(1_600_000_000, 0);
    let set = SetAttr { mtime: Some(t), btime: Some(t), dos: Some(0x22), ..Default::default() };
    fs.setattr(s, &set, T0).unwrap();
    let (fa, sa) = (fs.getattr(f).unwrap(), fs.getattr(s).unwrap());
    assert_eq!((fa.mtime, fa.btime, fa.dos), (t, t, Some(0x22)), "set through the stream, kept for the file");
    assert_eq!((sa.mtime, sa.btime, sa.dos, sa.mode), (fa.mtime, fa.btime, fa.dos, fa.mode));
    assert_eq!((fa.size, sa.size), (4, 0));
}

macro_rules! conformance_tests {
    ($make:expr) => {
        mod conformance {
            use super::*;
            use crate::vfs::conformance as c;

            #[test]
            fn lookup_nocase() {
                c::lookup_nocase($make.vfs())
            }
            #[test]
            fn lookup_nocase_changes() {
                c::lookup_nocase_changes($make.vfs())
            }
            #[test]
            fn name_in() {
                c::name_in($make.vfs())
            }
            #[test]
            fn within() {
                c::within($make.vfs())
            }
            #[test]
            fn basic_io() {
                c::basic_io($make.vfs())
            }
            #[test]
            fn directories() {
                c::directories($make.vfs())
            }
            #[test]
            fn bad_names() {
                c::bad_names($make.vfs())
            }
            #[test]
            fn symlinks() {
                c::symlinks($make.vfs())
            }
            #[test]
            fn hard_links() {
                c::hard_links($make.vfs())
            }
            #[test]
            fn renames() {
                c::renames($make.vfs())
            }
            #[test]
            fn readdir_paging() {
                c::readdir_paging($make.vfs())
            }
            #[test]
            fn times_and_modes() {
                c::times_and_modes($make.vfs())
            }
            #[test]
            fn dos_attributes() {
                c::dos_attributes($make.vfs())
            }
            #[test]
            fn copy_range() {
                c::copy_range($make.vfs())
            }
            #[test]
            fn security() {
                c::security($make.vfs())
            }
            #[test]
            fn eas() {
                c::eas($make.vfs())
            }
            #[test]
            fn stream_renames() {
                c::stream_renames($make.vfs())
            }
            #[test]
            fn large_streams() {
                c::large_streams($make.vfs())
            }
            #[test]
            fn streams_share_basic_information() {
                c::streams_share_basic_information($make.vfs())
            }
        }
    };
}
pub(crate) use conformance_tests;
