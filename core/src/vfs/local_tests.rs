use std::sync::atomic::{AtomicU64, Ordering};

use super::*;
use crate::vfs::conformance::{Harness, T0, ca};

/// A LocalFs on a fresh directory under the system temp dir, removed on drop.
struct TempTree {
    fs: LocalFs,
    dir: PathBuf,
}

impl TempTree {
    fn new() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("polyshare-localfs-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir(&dir).unwrap();
        TempTree { fs: LocalFs::new(&dir).unwrap(), dir }
    }
}

impl Drop for TempTree {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

impl Harness for TempTree {
    fn vfs(&mut self) -> &mut dyn Vfs {
        &mut self.fs
    }
}

crate::vfs::conformance::conformance_tests!(TempTree::new());

#[test]
fn symlinks_pointing_out_are_never_followed() {
    let t = TempTree::new();
    let root = t.fs.root();
    std::os::unix::fs::symlink("/etc/passwd", t.dir.join("pw")).unwrap();
    std::os::unix::fs::symlink("/etc", t.dir.join("etc")).unwrap();
    std::os::unix::fs::symlink("..", t.dir.join("up")).unwrap();
    let pw = t.fs.lookup(root, "pw").unwrap();
    assert_eq!(pw.kind, FileType::Symlink);
    assert_eq!(t.fs.readlink(pw.id).unwrap(), "/etc/passwd");
    assert_eq!(t.fs.read(pw.id, 0, 4096), Err(VfsError::Invalid));
    assert_eq!(t.fs.write(pw.id, 0, b"x", T0), Err(VfsError::Invalid));
    let trunc = SetAttr { size: Some(0), ..Default::default() };
    assert!(t.fs.setattr(pw.id, &trunc, T0).is_err());
    assert_eq!(t.fs.create(root, "pw", ca(0o644), T0), Err(VfsError::Exists));
    for link in ["etc", "up"] {
        let l = t.fs.lookup(root, link).unwrap();
        assert_eq!(l.kind, FileType::Symlink);
        assert_eq!(t.fs.lookup(l.id, "passwd"), Err(VfsError::NotDir));
        assert_eq!(t.fs.readdir(l.id, 0, 10), Err(VfsError::NotDir));
        assert_eq!(t.fs.create(l.id, "x", ca(0o644), T0), Err(VfsError::NotDir));
    }
    for bad in ["..", "../..", "/etc/passwd", "a\0", "etc/passwd"] {
        assert_eq!(t.fs.lookup(root, bad), Err(VfsError::InvalidName), "{bad:?}");
    }
    // Only the root's own entries are visible; nothing was created outside.
    let (entries, done) = t.fs.readdir(root, 0, 100).unwrap();
    assert!(done);
    let mut names: Vec<_> = entries.into_iter().map(|e| e.name).collect();
    names.sort();
    assert_eq!(names, ["etc", "pw", "up"]);
    assert!(fs::read_to_string("/etc/passwd").map_or(true, |s| !s.is_empty()));
}

#[test]
fn a_directory_swapped_for_a_symlink_outside_is_not_followed() {
    let t = TempTree::new();
    let root = t.fs.root();
    let d = t.fs.mkdir(root, "d", ca(0o755), T0).unwrap();
    let f = t.fs.create(d.id, "passwd", ca(0o644), T0).unwrap();
    // Another process moves the directory away and plants a symlink.
    fs::rename(t.dir.join("d"), t.dir.join("d2")).unwrap();
    std::os::unix::fs::symlink("/etc", t.dir.join("d")).unwrap();
    // The remembered path d/passwd now leads through a symlink: it is not
    // used; the search finds the real file under d2.
    let back = t.fs.getattr(f.id).unwrap();
    assert_eq!((back.id, back.size), (f.id, 0));
    assert_eq!(t.fs.read(f.id, 0, 100).unwrap(), (Bytes::new(), true));
    assert_eq!(t.fs.parent(d.id), Ok(root));
    assert_eq!(t.fs.lookup(root, "d2").unwrap().id, d.id);
    assert_eq!(t.fs.lookup(root, "d").unwrap().kind, FileType::Symlink);
}

#[test]
fn ids_survive_a_restart() {
    let t = TempTree::new();
    let root = t.fs.root();
    let a = t.fs.mkdir(root, "a", ca(0o755), T0).unwrap();
    let b = t.fs.mkdir(a.id, "b", ca(0o755), T0).unwrap();
    let c = t.fs.create(b.id, "c", ca(0o644), T0).unwrap();
    t.fs.write(c.id, 0, b"persisted", T0).unwrap();
    let gen_c = c.generation;

    let fresh = LocalFs::new(&t.dir).unwrap();
    assert_eq!(fresh.root(), root);
    assert_eq!(fresh.getattr(root).unwrap().kind, FileType::Directory);
    // Found by searching the tree, without any lookup first.
    assert_eq!(fresh.getattr(c.id).unwrap().size, 9);
    assert_eq!(fresh.lookup(root, "a").unwrap().id, a.id);
    let (entries, _) = fresh.readdir(a.id, 0, 10).unwrap();
    assert_eq!(entries[0].id, b.id);
    let c2 = fresh.lookup(b.id, "c").unwrap();
    assert_eq!((c2.id, c2.generation), (c.id, gen_c));
    assert_eq!(fresh.read(c.id, 0, 100).unwrap().0, Bytes::from_static(b"persisted"));
    assert_eq!(fresh.parent(b.id), Ok(a.id));
}

#[test]
fn streams_are_not_supported() {
    let t = TempTree::new();
    let root = t.fs.root();
    let f = t.fs.create(root, "f", ca(0o644), T0).unwrap();
    assert_eq!(t.fs.stream(f.id, "s", true, T0), Err(VfsError::NotSupported));
    assert_eq!(t.fs.list_streams(f.id), Ok(vec![]));
    assert_eq!(t.fs.remove_stream(f.id, "s", T0), Err(VfsError::NotSupported));
}

#[test]
fn new_refuses_a_missing_or_non_directory_root() {
    let t = TempTree::new();
    assert_eq!(LocalFs::new(t.dir.join("missing")).unwrap_err(), VfsError::NotFound);
    fs::write(t.dir.join("file"), b"x").unwrap();
    assert_eq!(LocalFs::new(t.dir.join("file")).unwrap_err(), VfsError::NotDir);
    let st = t.fs.fsstat().unwrap();
    assert!(st.total_bytes > 0 && st.total_files > 0);
}

#[test]
fn removed_and_unknown_ids_are_stale() {
    let t = TempTree::new();
    let root = t.fs.root();
    let d = t.fs.mkdir(root, "d", ca(0o755), T0).unwrap();
    let f = t.fs.create(d.id, "f", ca(0o644), T0).unwrap();
    t.fs.remove(d.id, "f", T0).unwrap();
    assert_eq!(t.fs.getattr(f.id), Err(VfsError::Stale));
    assert_eq!(t.fs.getattr(u64::MAX - 3), Err(VfsError::Stale));
    assert_eq!(t.fs.getattr(u64::MAX - 3), Err(VfsError::Stale));
    // Moved by another process: found again by id.
    let g = t.fs.create(d.id, "g", ca(0o644), T0).unwrap();
    fs::create_dir(t.dir.join("e")).unwrap();
    fs::rename(t.dir.join("d/g"), t.dir.join("e/g2")).unwrap();
    let fresh = LocalFs::new(&t.dir).unwrap();
    assert_eq!(fresh.getattr(g.id).unwrap().id, g.id);
    assert_eq!(fresh.parent(d.id), Ok(root));
    assert_eq!(t.fs.getattr(g.id).unwrap().kind, FileType::Regular);
}

#[test]
fn hard_links_in_one_directory_share_a_page() {
    let t = TempTree::new();
    let root = t.fs.root();
    let f = t.fs.create(root, "f", ca(0o644), T0).unwrap();
    for name in ["g", "h"] {
        t.fs.link(f.id, root, name, T0).unwrap();
    }
    for name in ["x", "y", "z"] {
        t.fs.create(root, name, ca(0o644), T0).unwrap();
    }
    for max in 1..=4 {
        let (mut cookie, mut seen) = (0, Vec::new());
        loop {
            let (page, done) = t.fs.readdir(root, cookie, max).unwrap();
            assert!(!page.is_empty() || done);
            cookie = page.last().map_or(cookie, |e| e.cookie);
            seen.extend(page.into_iter().map(|e| e.name));
            if done {
                break;
            }
        }
        seen.sort();
        assert_eq!(seen, ["f", "g", "h", "x", "y", "z"], "max {max}");
    }
}

#[test]
fn dir_version_follows_the_directory() {
    let t = TempTree::new();
    let root = t.fs.root();
    let v0 = t.fs.dir_version(root).unwrap();
    let d = t.fs.mkdir(root, "d", ca(0o755), T0).unwrap();
    assert_ne!(t.fs.dir_version(root).unwrap(), v0);
    let f = t.fs.create(d.id, "f", ca(0o644), T0).unwrap();
    assert_eq!(t.fs.dir_version(f.id), Err(VfsError::NotDir));
}

#[test]
fn modes_are_exact_despite_the_umask() {
    let t = TempTree::new();
    let root = t.fs.root();
    let d = t.fs.mkdir(root, "locked", ca(0o000), T0).unwrap();
    assert_eq!(d.mode, 0);
    let f = t.fs.create(root, "f", ca(0o777), T0).unwrap();
    assert_eq!(f.mode, 0o777);
    // Restore so that the temp dir can be removed.
    t.fs.setattr(d.id, &SetAttr { mode: Some(0o700), ..Default::default() }, T0).unwrap();
}
