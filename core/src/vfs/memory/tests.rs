use std::collections::BTreeMap;

use bytes::Bytes;

use super::*;
use crate::vfs::conformance::{Harness, T0, ca};

impl Harness for MemoryFs {
    fn vfs(&mut self) -> &mut dyn Vfs {
        self
    }
}

crate::vfs::conformance::conformance_tests!(MemoryFs::new());

const T1: Timespec = Timespec::new(1_700_000_100, 7);
const T2: Timespec = Timespec::new(1_700_000_200, 9);

#[test]
fn create_sets_all_times_and_write_moves_mtime_ctime() {
    let fs = MemoryFs::new();
    let f = fs.create(ROOT, "f", CreateAttr { mode: 0o640, uid: 10, gid: 20 }, T0).unwrap();
    assert_eq!((f.atime, f.mtime, f.ctime, f.btime), (T0, T0, T0, T0));
    assert_eq!((f.uid, f.gid, f.generation), (10, 20, 1));
    let root = fs.getattr(ROOT).unwrap();
    assert_eq!((root.mtime, root.ctime), (T0, T0));
    let w = fs.write(f.id, 0, &[1; 5000], T1).unwrap();
    assert_eq!((w.atime, w.mtime, w.ctime, w.btime), (T0, T1, T1, T0));
    assert_eq!(w.used, 8192);
    let s = fs.setattr(f.id, &SetAttr { uid: Some(5), ..Default::default() }, T2).unwrap();
    assert_eq!((s.mtime, s.ctime, s.uid), (T1, T2, 5));
    let s = fs.setattr(f.id, &SetAttr { size: Some(1), ..Default::default() }, T0).unwrap();
    assert_eq!((s.mtime, s.ctime, s.used), (T0, T0, 4096));
}

#[test]
fn rename_updates_times_and_dir_link_counts() {
    let fs = MemoryFs::new();
    let a = fs.mkdir(ROOT, "a", ca(0o755), T0).unwrap();
    let b = fs.mkdir(ROOT, "b", ca(0o755), T0).unwrap();
    let d = fs.mkdir(a.id, "d", ca(0o755), T0).unwrap();
    assert_eq!(fs.getattr(ROOT).unwrap().nlink, 4);
    assert_eq!(fs.getattr(a.id).unwrap().nlink, 3);
    fs.rename(a.id, "d", b.id, "d", false, T1).unwrap();
    let (a, b, d) = (fs.getattr(a.id).unwrap(), fs.getattr(b.id).unwrap(), fs.getattr(d.id).unwrap());
    assert_eq!((a.nlink, b.nlink, d.nlink), (2, 3, 2));
    assert_eq!((a.mtime, a.ctime, b.mtime, b.ctime), (T1, T1, T1, T1));
    assert_eq!((d.mtime, d.ctime), (T0, T1));
    fs.rmdir(b.id, "d", T2).unwrap();
    assert_eq!(fs.getattr(b.id).unwrap().nlink, 2);
}

#[test]
fn dir_version_changes_with_the_listing_only() {
    let fs = MemoryFs::new();
    let v0 = fs.dir_version(ROOT).unwrap();
    let f = fs.create(ROOT, "f", ca(0o644), T0).unwrap();
    let v1 = fs.dir_version(ROOT).unwrap();
    assert_ne!(v0, v1);
    fs.write(f.id, 0, b"data", T0).unwrap();
    assert_eq!(fs.dir_version(ROOT).unwrap(), v1);
    fs.rename(ROOT, "f", ROOT, "g", false, T0).unwrap();
    let v2 = fs.dir_version(ROOT).unwrap();
    assert_ne!(v1, v2);
    // A renamed entry gets a new cookie: it is listed after the others.
    fs.create(ROOT, "h", ca(0o644), T0).unwrap();
    fs.rename(ROOT, "g", ROOT, "g2", false, T0).unwrap();
    let (entries, done) = fs.readdir(ROOT, 0, 10).unwrap();
    assert!(done);
    let names: Vec<_> = entries.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["h", "g2"]);
    assert!(entries[0].cookie < entries[1].cookie);
    assert_eq!(fs.dir_version(f.id), Err(VfsError::NotDir));
}

#[test]
fn ids_are_deterministic_and_never_reused() {
    let run = || {
        let fs = MemoryFs::new();
        let a = fs.create(ROOT, "a", ca(0o644), T0).unwrap().id;
        fs.remove(ROOT, "a", T0).unwrap();
        let b = fs.create(ROOT, "a", ca(0o644), T0).unwrap().id;
        (a, b)
    };
    assert_eq!(run(), run());
    let (a, b) = run();
    assert!(b > a);
}

#[test]
fn streams_live_and_die_with_their_file() {
    let fs = MemoryFs::new();
    let f = fs.create(ROOT, "f", ca(0o644), T0).unwrap();
    assert_eq!(fs.stream(f.id, "s1", false, T0), Err(VfsError::NotFound));
    let s1 = fs.stream(f.id, "s1", true, T1).unwrap();
    assert_eq!((s1.kind, s1.parent_file, s1.size), (FileType::Stream, Some(f.id), 0));
    assert_ne!(s1.id, f.id);
    assert_eq!(fs.stream(f.id, "s1", true, T2).unwrap().id, s1.id);
    fs.write(s1.id, 0, b"stream data", T1).unwrap();
    assert_eq!(fs.read(s1.id, 0, 100).unwrap().0, Bytes::from_static(b"stream data"));
    assert_eq!(fs.getattr(f.id).unwrap().size, 0, "the unnamed stream is untouched");
    let s2 = fs.stream(f.id, "s2", true, T1).unwrap();
    fs.setattr(s2.id, &SetAttr { size: Some(3), ..Default::default() }, T1).unwrap();
    assert_eq!(fs.list_streams(f.id).unwrap(), vec![("s1".to_string(), 11), ("s2".to_string(), 3)]);
    for bad in ["a:b", "", "..", "a/b"] {
        assert_eq!(fs.stream(f.id, bad, true, T0), Err(VfsError::InvalidName), "{bad:?}");
    }
    fs.remove_stream(f.id, "s2", T2).unwrap();
    assert_eq!(fs.getattr(s2.id), Err(VfsError::Stale));
    assert_eq!(fs.remove_stream(f.id, "s2", T2), Err(VfsError::NotFound));
    // Streams belong to the file, not to a name.
    fs.link(f.id, ROOT, "g", T0).unwrap();
    fs.remove(ROOT, "f", T0).unwrap();
    assert_eq!(fs.getattr(s1.id).unwrap().size, 11);
    fs.rename(ROOT, "g", ROOT, "h", false, T0).unwrap();
    assert_eq!(fs.stream(f.id, "s1", false, T0).unwrap().id, s1.id);
    fs.remove(ROOT, "h", T0).unwrap();
    assert_eq!(fs.getattr(s1.id), Err(VfsError::Stale));
    let st = fs.fsstat().unwrap();
    assert_eq!(st.free_bytes, st.total_bytes, "all data freed");
    // Only files and directories have streams.
    let l = fs.symlink(ROOT, "l", "x", ca(0o777), T0).unwrap();
    assert_eq!(fs.stream(l.id, "s", true, T0), Err(VfsError::Invalid));
    assert_eq!(fs.stream(s1.id, "s", true, T0), Err(VfsError::Stale));
}

#[test]
fn size_limits_and_capacity() {
    let fs = MemoryFs::with_capacity(20 * 4096);
    let f = fs.create(ROOT, "f", ca(0o644), T0).unwrap();
    assert_eq!(fs.write(f.id, MAX_FILE_SIZE, b"x", T0), Err(VfsError::TooBig));
    assert_eq!(fs.write(f.id, u64::MAX, b"x", T0), Err(VfsError::TooBig));
    let big = SetAttr { size: Some(MAX_FILE_SIZE + 1), ..Default::default() };
    assert_eq!(fs.setattr(f.id, &big, T0), Err(VfsError::TooBig));
    // A sparse extension to the limit costs no space.
    let max = SetAttr { size: Some(MAX_FILE_SIZE), ..Default::default() };
    assert_eq!(fs.setattr(f.id, &max, T0).unwrap().used, 0);
    fs.write(f.id, MAX_FILE_SIZE - 1, b"z", T0).unwrap();
    assert_eq!(fs.read(f.id, MAX_FILE_SIZE - 2, 10).unwrap(), (Bytes::from_static(b"\0z"), true));
    fs.write(f.id, 0, &[1; 8192], T0).unwrap();
    assert_eq!(fs.write(f.id, 100_000, b"x", T0), Err(VfsError::NoSpace));
    assert_eq!(fs.fsstat().unwrap().free_bytes, 2 * 4096);
    // Overwriting in place needs no new space.
    fs.write(f.id, 0, &[2; 100], T0).unwrap();
    fs.remove(ROOT, "f", T0).unwrap();
    assert_eq!(fs.fsstat().unwrap().free_bytes, 20 * 4096);
}

#[test]
fn hard_link_data_freed_with_last_link() {
    let fs = MemoryFs::new();
    let total = fs.fsstat().unwrap().total_bytes;
    let f = fs.create(ROOT, "f", ca(0o644), T0).unwrap();
    fs.write(f.id, 0, &[9; 10_000], T0).unwrap();
    fs.link(f.id, ROOT, "g", T1).unwrap();
    assert_eq!(fs.getattr(f.id).unwrap().ctime, T1);
    assert_eq!(fs.fsstat().unwrap().free_bytes, total - 12_288);
    // Replacing one name by rename drops only that link.
    let other = fs.create(ROOT, "o", ca(0o644), T0).unwrap();
    fs.rename(ROOT, "o", ROOT, "f", true, T2).unwrap();
    assert_eq!(fs.getattr(f.id).unwrap().nlink, 1);
    assert_eq!(fs.lookup(ROOT, "f").unwrap().id, other.id);
    fs.remove(ROOT, "g", T2).unwrap();
    assert_eq!(fs.getattr(f.id), Err(VfsError::Stale));
    assert_eq!(fs.fsstat().unwrap().free_bytes, total);
}

#[test]
fn readdir_max_zero_and_cookie_past_end() {
    let fs = MemoryFs::new();
    fs.create(ROOT, "a", ca(0o644), T0).unwrap();
    assert_eq!(fs.readdir(ROOT, 0, 0).unwrap(), (vec![], false));
    assert_eq!(fs.readdir(ROOT, u64::MAX, 10).unwrap(), (vec![], true));
    let (e, done) = fs.readdir(ROOT, 0, 1).unwrap();
    assert!(done);
    assert_eq!(e[0].kind, FileType::Regular);
}

/// Structural invariants of the tree: entries and link counts agree, every
/// directory chain leads to the root, streams belong to live files, and the
/// space accounting matches the data held.
fn check_invariants(fs: &MemoryFs) {
    let fs = &*fs.tree();
    let mut refs: BTreeMap<ObjectId, u32> = BTreeMap::new();
    let mut used = 0;
    for (&id, node) in &fs.nodes {
        for &sid in node.streams.values() {
            match &fs.nodes[&sid].body {
                Body::Stream { file, .. } => assert_eq!(*file, id),
                other => panic!("stream id {sid} is {other:?}"),
            }
            *refs.entry(sid).or_default() += 1;
        }
        match &node.body {
            Body::Dir(d) => {
                assert_eq!(d.names.len(), d.by_seq.len());
                for (name, &(seq, child)) in &d.names {
                    assert_eq!(d.by_seq.get(&seq), Some(name));
                    assert!(seq < d.next_seq);
                    assert!(fs.nodes.contains_key(&child), "dangling entry {name}");
                    *refs.entry(child).or_default() += 1;
                }
                let subdirs = d.names.values().filter(|(_, c)| matches!(fs.nodes[c].body, Body::Dir(_))).count();
                assert_eq!(node.nlink as usize, 2 + subdirs, "dir {id} nlink");
                // The parent chain reaches the root without a cycle.
                let mut at = id;
                for _ in 0..=fs.nodes.len() {
                    at = fs.dir(at).unwrap().parent;
                }
                assert_eq!(at, ROOT);
                if id != ROOT {
                    assert!(fs.dir(d.parent).unwrap().names.values().any(|&(_, c)| c == id));
                }
            }
            Body::File(data) | Body::Stream { data, .. } => used += data.used(),
            Body::Symlink(_) => {}
        }
    }
    for (&id, node) in &fs.nodes {
        let n = refs.get(&id).copied().unwrap_or(0);
        match node.body {
            Body::Dir(_) => assert_eq!(n, u32::from(id != ROOT), "dir {id} referenced {n} times"),
            Body::Stream { .. } => assert_eq!(n, 1),
            _ => assert_eq!(n, node.nlink, "object {id} has {n} names, nlink {}", node.nlink),
        }
    }
    assert_eq!(fs.used, used);
}

const NAMES: [&str; 4] = ["a", "b", "c", "d"];

fn pick<T: Copy>(v: &[T], i: u8) -> Option<T> {
    if v.is_empty() { None } else { v.get(usize::from(i) % v.len()).copied() }
}

/// Applies one random operation; errors are fine, panics and broken
/// invariants are not.
fn apply(fs: &mut MemoryFs, (op, x, y, z): (u8, u8, u8, u16), now: Timespec) {
    let dirs: Vec<ObjectId> =
        fs.tree().nodes.iter().filter(|(_, n)| matches!(n.body, Body::Dir(_))).map(|(i, _)| *i).collect();
    let others: Vec<ObjectId> =
        fs.tree().nodes.iter().filter(|(_, n)| !matches!(n.body, Body::Dir(_))).map(|(i, _)| *i).collect();
    let (Some(d1), Some(d2)) = (pick(&dirs, x), pick(&dirs, y)) else { return };
    let (n1, n2) = (NAMES[usize::from(x >> 4) % 4], NAMES[usize::from(y >> 4) % 4]);
    let obj = pick(&others, x ^ y).unwrap_or(d1);
    let off = u64::from(z) * 37;
    let _ = match op % 11 {
        0 => fs.create(d1, n1, ca(0o644), now).map(drop),
        1 => fs.mkdir(d1, n1, ca(0o755), now).map(drop),
        2 => fs.symlink(d1, n1, "t", ca(0o777), now).map(drop),
        3 => fs.link(obj, d2, n2, now).map(drop),
        4 => fs.remove(d1, n1, now),
        5 => fs.rmdir(d1, n1, now),
        6 => fs.rename(d1, n1, d2, n2, z & 1 == 1, now),
        7 => fs.write(obj, off, &vec![x; usize::from(y)], now).map(drop),
        8 => fs.setattr(obj, &SetAttr { size: Some(off), ..Default::default() }, now).map(drop),
        9 => fs.stream(obj, n1, true, now).and_then(|s| fs.write(s.id, off, b"stream", now)).map(drop),
        _ => fs.remove_stream(obj, n1, now),
    };
}

quickcheck::quickcheck! {
    fn random_operations_keep_the_tree_consistent(ops: Vec<(u8, u8, u8, u16)>) -> bool {
        let mut fs = MemoryFs::new();
        for (i, op) in ops.into_iter().enumerate() {
            apply(&mut fs, op, Timespec::new(i as i64, 0));
            check_invariants(&fs);
        }
        // Listing with any page size sees every entry exactly once.
        let (all, _) = fs.readdir(ROOT, 0, usize::MAX).unwrap();
        let mut paged = Vec::new();
        let mut cookie = 0;
        loop {
            let (page, done) = fs.readdir(ROOT, cookie, 2).unwrap();
            if let Some(last) = page.last() { cookie = last.cookie; }
            paged.extend(page);
            if done { break; }
        }
        paged == all
    }
}

#[test]
fn reads_are_capped_at_max_read() {
    let fs = MemoryFs::new();
    let f = fs.create(ROOT, "f", ca(0o644), T0).unwrap();
    let set = SetAttr { size: Some(u64::from(MAX_READ) + 10), ..Default::default() };
    fs.setattr(f.id, &set, T0).unwrap();
    let (data, eof) = fs.read(f.id, 0, u32::MAX).unwrap();
    assert_eq!((data.len(), eof), (MAX_READ as usize, false));
    let (data, eof) = fs.read(f.id, u64::from(MAX_READ), u32::MAX).unwrap();
    assert_eq!((data.len(), eof), (10, true));
}

#[test]
fn zero_range_frees_whole_chunks_that_allocated_ranges_leave_out() {
    let fs = MemoryFs::new();
    let root = fs.root();
    let f = fs.create(root, "f", ca(0o644), T0).unwrap();
    fs.write(f.id, 0, &[1u8; 256 * 1024], T0).unwrap();
    assert_eq!(fs.allocated_ranges(f.id, 0, 1 << 20, 10).unwrap(), [(0, 256 * 1024)]);
    let a = fs.zero_range(f.id, 64 * 1024, 64 * 1024, true, T1).unwrap();
    assert_eq!((a.size, a.mtime), (256 * 1024, T1));
    assert_eq!(a.used, 192 * 1024, "the chunk is freed");
    assert_eq!(fs.allocated_ranges(f.id, 0, 1 << 20, 10).unwrap(), [(0, 64 * 1024), (128 * 1024, 128 * 1024)]);
    assert_eq!(fs.allocated_ranges(f.id, 0, 1 << 20, 1).unwrap(), [(0, 64 * 1024)], "at most max");
    assert_eq!(fs.allocated_ranges(f.id, 100, 64 * 1024, 10).unwrap(), [(100, 64 * 1024 - 100)]);
    // Part of a chunk is zeroed, not freed; without deallocate nothing is.
    fs.zero_range(f.id, 0, 100, true, T1).unwrap();
    fs.zero_range(f.id, 128 * 1024, 64 * 1024, false, T1).unwrap();
    assert_eq!(fs.getattr(f.id).unwrap().used, 192 * 1024);
    let (d, _) = fs.read(f.id, 0, 256 * 1024).unwrap();
    assert!(d[..100].iter().all(|b| *b == 0) && d[100] == 1);
    assert!(d[64 * 1024..192 * 1024].iter().all(|b| *b == 0) && d[192 * 1024] == 1);
}
