use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;

use super::*;
use crate::vfs::conformance::{Harness, T0, ca};

/// A LocalFs on a fresh directory under the system temp dir, removed on drop.
struct TempTree {
    fs: LocalFs,
    dir: PathBuf,
}

impl TempTree {
    fn new() -> Self {
        Self::new_in(&std::env::temp_dir())
    }

    /// A tree under `base` (`/dev/shm`: tmpfs, whose attribute values hold
    /// 64 KiB where ext4's hold one block).
    fn new_in(base: &Path) -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = base.join(format!("polyshare-localfs-{}-{n}", std::process::id()));
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

/// Streams are `user.DosStream.<name>:$DATA` attributes holding the data
/// and a NUL, as Samba's streams_xattr keeps them: what one server wrote
/// the other reads.
#[test]
fn streams_live_in_samba_compatible_xattrs() {
    let t = TempTree::new();
    let root = t.fs.root();
    let f = t.fs.create(root, "f", ca(0o644), T0).unwrap();
    let s = t.fs.stream(f.id, "Zone.Identifier", true, T0).unwrap();
    assert_eq!((s.kind, s.size, s.parent_file), (FileType::Stream, 0, Some(f.id)));
    assert!(s.id >= STREAM_ID_BASE);
    assert_eq!(xattr::get(&t.dir.join("f"), "user.DosStream.Zone.Identifier:$DATA").unwrap().unwrap(), b"\0");
    t.fs.write(s.id, 0, b"[ZoneTransfer]", T0).unwrap();
    t.fs.write(s.id, 14, b"\nZoneId=3", T0).unwrap();
    let on_disk = xattr::get(&t.dir.join("f"), "user.DosStream.Zone.Identifier:$DATA").unwrap().unwrap();
    assert_eq!(on_disk, b"[ZoneTransfer]\nZoneId=3\0");
    assert_eq!(t.fs.read(s.id, 0, 100).unwrap(), (Bytes::from_static(b"[ZoneTransfer]\nZoneId=3"), true));
    assert_eq!(t.fs.getattr(s.id).unwrap().size, 23);
    // The main stream is untouched; names match ignoring case.
    assert_eq!(t.fs.getattr(f.id).unwrap().size, 0);
    assert_eq!(t.fs.stream(f.id, "zone.identifier", false, T0).unwrap().id, s.id);
    assert_eq!(t.fs.list_streams(f.id).unwrap(), vec![("Zone.Identifier".to_string(), 23)]);
    // A stream another server wrote is found, its NUL not counted.
    xattr::set(&t.dir.join("f"), "user.DosStream.other:$DATA", b"abc\0").unwrap();
    assert_eq!(t.fs.stream(f.id, "other", false, T0).unwrap().size, 3);
    // Truncate; remove.
    let trunc = SetAttr { size: Some(5), ..Default::default() };
    assert_eq!(t.fs.setattr(s.id, &trunc, T0).unwrap().size, 5);
    assert_eq!(t.fs.read(s.id, 0, 100).unwrap().0, Bytes::from_static(b"[Zone"));
    t.fs.remove_stream(f.id, "OTHER", T0).unwrap();
    assert_eq!(t.fs.stream(f.id, "other", false, T0), Err(VfsError::NotFound));
    assert_eq!(t.fs.remove_stream(f.id, "other", T0), Err(VfsError::NotFound));
    assert_eq!(t.fs.stream(f.id, "a:b", true, T0), Err(VfsError::InvalidName));
}

/// The sidecar file of stream `name` of `a` in tree `dir`.
fn stream_file(dir: &Path, a: &FileAttr, name: &str) -> PathBuf {
    dir.join(streams::SIDECAR_DIR).join(a.id.to_string()).join(a.generation.to_string()).join(name)
}

/// The attribute value of stream `name` of `path`, if it has one.
fn stream_xattr(path: &Path, name: &str) -> Option<Vec<u8>> {
    xattr::get(path, &format!("user.DosStream.{name}:$DATA")).unwrap()
}

/// A stream stays in its attribute up to MAX_STREAM bytes (tmpfs holds a
/// 64 KiB value); a write past it moves the stream to its sidecar file,
/// and so does an extension; a sidecar stream stays there when it shrinks.
#[test]
fn a_stream_past_the_xattr_limit_moves_to_the_sidecar() {
    let t = TempTree::new_in(Path::new("/dev/shm"));
    let root = t.fs.root();
    let f = t.fs.create(root, "f", ca(0o644), T0).unwrap();
    let path = t.dir.join("f");
    let s = t.fs.stream(f.id, "big", true, T0).unwrap();
    let full: Vec<u8> = (0..MAX_STREAM).map(|i| (i % 253) as u8).collect();
    assert_eq!(t.fs.write(s.id, 0, &full, T0).unwrap().size, MAX_STREAM);
    assert_eq!(stream_xattr(&path, "big").map(|v| v.len() as u64), Some(MAX_STREAM + 1));
    assert!(!stream_file(&t.dir, &f, "big").exists(), "still an attribute at the limit");
    assert_eq!(t.fs.write(s.id, MAX_STREAM, b"xy", T0).unwrap().size, MAX_STREAM + 2);
    assert_eq!(stream_xattr(&path, "big"), None, "the attribute is gone");
    let on_disk = fs::read(stream_file(&t.dir, &f, "big")).unwrap();
    assert_eq!((&on_disk[..MAX_STREAM as usize], &on_disk[MAX_STREAM as usize..]), (&full[..], &b"xy"[..]));
    assert_eq!(
        t.fs.read(s.id, MAX_STREAM - 1, 10).unwrap(),
        (Bytes::copy_from_slice(&[full[65534], b'x', b'y']), true)
    );
    assert_eq!(t.fs.list_streams(f.id).unwrap(), vec![("big".to_string(), MAX_STREAM + 2)]);
    // Shrunk below the limit, it stays a file.
    let shrink = SetAttr { size: Some(3), ..Default::default() };
    assert_eq!(t.fs.setattr(s.id, &shrink, T0).unwrap().size, 3);
    assert_eq!(fs::read(stream_file(&t.dir, &f, "big")).unwrap(), &full[..3]);
    assert_eq!(stream_xattr(&path, "big"), None);
    // An extension past the limit moves an attribute stream too.
    let other = t.fs.stream(f.id, "other", true, T0).unwrap();
    t.fs.write(other.id, 0, b"head", T0).unwrap();
    let grow = SetAttr { size: Some(MAX_STREAM + 1), ..Default::default() };
    assert_eq!(t.fs.setattr(other.id, &grow, T0).unwrap().size, MAX_STREAM + 1);
    assert_eq!(stream_xattr(&path, "other"), None);
    let moved = fs::read(stream_file(&t.dir, &f, "other")).unwrap();
    assert_eq!(moved.len() as u64, MAX_STREAM + 1);
    assert!(moved.starts_with(b"head") && moved[4..].iter().all(|&b| b == 0));
    // The sidecar is no name a client sees.
    assert_eq!(t.fs.readdir(root, 0, 100).unwrap().0.iter().map(|e| e.name.as_str()).collect::<Vec<_>>(), ["f"]);
}

/// ext4 without `ea_inode` holds one block in an attribute: a stream it
/// refuses (ENOSPC) for its size moves to the sidecar rather than failing.
#[test]
fn a_stream_the_file_system_refuses_as_an_attribute_moves_to_the_sidecar() {
    let t = TempTree::new();
    let root = t.fs.root();
    let f = t.fs.create(root, "f", ca(0o644), T0).unwrap();
    let s = t.fs.stream(f.id, "s", true, T0).unwrap();
    let data = vec![5u8; 60_000];
    let attr = t.fs.write(s.id, 0, &data, T0).unwrap();
    assert_eq!(attr.size, 60_000);
    assert_eq!(t.fs.read(s.id, 0, 100_000).unwrap(), (Bytes::from(data.clone()), true));
    // Wherever it went, it is in one place only.
    let (file, value) = (stream_file(&t.dir, &f, "s").exists(), stream_xattr(&t.dir.join("f"), "s"));
    assert!(file != value.is_some(), "one place: file {file}, attribute {:?}", value.map(|v| v.len()));
}

/// Every operation on a stream kept in the sidecar: positional writes and
/// reads (a write far past the end leaves a hole), list, rename within the
/// file (onto an attribute stream, which it replaces; a case change), copy
/// out, a restart, the file's rename, and remove.
#[test]
fn sidecar_streams_support_every_operation() {
    let t = TempTree::new();
    let root = t.fs.root();
    let f = t.fs.create(root, "f", ca(0o644), T0).unwrap();
    let s = t.fs.stream(f.id, "AFP_Resource", true, T0).unwrap();
    let data: Vec<u8> = (0..300_000u32).map(|i| (i % 241) as u8).collect();
    t.fs.write(s.id, 0, &data, T0).unwrap();
    let file = stream_file(&t.dir, &f, "AFP_Resource");
    let ino_before = fs::metadata(&file).unwrap().ino();
    t.fs.write(s.id, 1000, b"patched", T0).unwrap();
    assert_eq!(fs::metadata(&file).unwrap().ino(), ino_before, "written in place, not rewritten");
    assert_eq!(
        t.fs.read(s.id, 998, 11).unwrap().0,
        Bytes::copy_from_slice(&[
            data[998], data[999], b'p', b'a', b't', b'c', b'h', b'e', b'd', data[1007], data[1008]
        ])
    );
    let far = 1u64 << 30;
    assert_eq!(t.fs.write(s.id, far, b"end", T0).unwrap().size, far + 3);
    assert!(fs::metadata(&file).unwrap().blocks() * 512 < 1 << 20, "a hole, not a gigabyte of zeros");
    assert_eq!(t.fs.read(s.id, far - 2, 10).unwrap(), (Bytes::from_static(b"\0\0end"), true));
    t.fs.setattr(s.id, &SetAttr { size: Some(300_000), ..Default::default() }, T0).unwrap();
    // Renamed onto a small attribute stream, which it replaces.
    let small = t.fs.stream(f.id, "small", true, T0).unwrap();
    t.fs.write(small.id, 0, b"tiny", T0).unwrap();
    t.fs.rename_stream(f.id, "afp_resource", "SMALL", T0).unwrap();
    assert_eq!(t.fs.getattr(small.id), Err(VfsError::Stale), "the replaced stream is gone");
    assert_eq!(stream_xattr(&t.dir.join("f"), "small"), None);
    assert!(!file.exists() && stream_file(&t.dir, &f, "SMALL").exists());
    assert_eq!(t.fs.list_streams(f.id).unwrap(), vec![("SMALL".to_string(), 300_000)]);
    assert_eq!(t.fs.getattr(s.id).unwrap().size, 300_000, "the id follows");
    t.fs.rename_stream(f.id, "small", "small", T0).unwrap();
    assert_eq!(t.fs.list_streams(f.id).unwrap(), vec![("small".to_string(), 300_000)], "a case change");
    // Copied out (copy_range reads a stream).
    let c = t.fs.create(root, "c", ca(0o644), T0).unwrap();
    assert_eq!(t.fs.copy_range(s.id, 0, c.id, 0, 300_000, T0).unwrap().0, 300_000);
    let mut want = data.clone();
    want[1000..1007].copy_from_slice(b"patched");
    assert_eq!(fs::read(t.dir.join("c")).unwrap(), want);
    // A restart and a rename of the file: found by inode and generation.
    t.fs.rename(root, "f", root, "g", false, T0).unwrap();
    let again = LocalFs::new(&t.dir).unwrap();
    let g = again.lookup(again.root(), "g").unwrap();
    let s2 = again.stream(g.id, "SMALL", false, T0).unwrap();
    assert_eq!((s2.size, again.read(s2.id, 1000, 7).unwrap().0), (300_000, Bytes::from_static(b"patched")));
    again.remove_stream(g.id, "small", T0).unwrap();
    assert_eq!(again.list_streams(g.id).unwrap(), vec![]);
    assert_eq!(again.stream(g.id, "small", false, T0), Err(VfsError::NotFound));
}

/// The file's last name going (remove, rmdir, a rename over it) takes its
/// sidecar streams; a hard link left keeps them.
#[test]
fn sidecar_streams_go_with_the_last_name() {
    let t = TempTree::new();
    let root = t.fs.root();
    let big = vec![1u8; 100_000];
    let with_big = |name: &str, dir: bool| {
        let a = match dir {
            true => t.fs.mkdir(root, name, ca(0o755), T0).unwrap(),
            false => t.fs.create(root, name, ca(0o644), T0).unwrap(),
        };
        let s = t.fs.stream(a.id, "big", true, T0).unwrap();
        t.fs.write(s.id, 0, &big, T0).unwrap();
        assert!(stream_file(&t.dir, &a, "big").exists());
        (a, s.id)
    };
    let ino_dir = |a: &FileAttr| t.dir.join(streams::SIDECAR_DIR).join(a.id.to_string());
    let (f, s) = with_big("f", false);
    t.fs.link(f.id, root, "f2", T0).unwrap();
    t.fs.remove(root, "f", T0).unwrap();
    assert_eq!(t.fs.getattr(s).unwrap().size, 100_000, "a link is left");
    t.fs.remove(root, "f2", T0).unwrap();
    assert!(!ino_dir(&f).exists(), "removed with the last name");
    let (d, _) = with_big("d", true);
    t.fs.rmdir(root, "d", T0).unwrap();
    assert!(!ino_dir(&d).exists(), "removed with the directory");
    let (over, _) = with_big("over", false);
    t.fs.create(root, "new", ca(0o644), T0).unwrap();
    t.fs.rename(root, "new", root, "over", true, T0).unwrap();
    assert!(!ino_dir(&over).exists(), "removed with the file renamed over");
}

/// A sidecar directory of an older generation of the inode number (its
/// file removed behind the server) is not the new file's, and goes when
/// the new file's first sidecar stream is made; a move a crash interrupted
/// (both the attribute and the file) reads as the file, listed once, and
/// is removed from both places.
#[test]
fn sidecar_streams_are_keyed_by_generation_and_survive_an_interrupted_move() {
    let t = TempTree::new();
    let root = t.fs.root();
    let f = t.fs.create(root, "f", ca(0o644), T0).unwrap();
    let stale = t.dir.join(streams::SIDECAR_DIR).join(f.id.to_string()).join("12345");
    fs::create_dir_all(&stale).unwrap();
    fs::write(stale.join("ghost"), b"old file's").unwrap();
    assert_eq!(t.fs.list_streams(f.id).unwrap(), vec![]);
    assert_eq!(t.fs.stream(f.id, "ghost", false, T0), Err(VfsError::NotFound));
    let s = t.fs.stream(f.id, "s", true, T0).unwrap();
    t.fs.write(s.id, 0, &vec![2u8; 100_000], T0).unwrap();
    assert!(!stale.exists(), "the older generation's directory is gone");
    // Interrupted: the attribute is still there beside the file.
    xattr::set(&t.dir.join("f"), "user.DosStream.s:$DATA", b"old\0").unwrap();
    assert_eq!(t.fs.list_streams(f.id).unwrap(), vec![("s".to_string(), 100_000)]);
    assert_eq!(t.fs.read(s.id, 0, 3).unwrap().0, Bytes::from_static(b"\x02\x02\x02"));
    t.fs.remove_stream(f.id, "s", T0).unwrap();
    assert_eq!(stream_xattr(&t.dir.join("f"), "s"), None);
    assert!(!stream_file(&t.dir, &f, "s").exists());
    assert_eq!(t.fs.stream(f.id, "s", false, T0), Err(VfsError::NotFound));
}

/// Without user attributes (the sidecar mode) streams live in the sidecar
/// from their creation, small ones too, and are found after a restart.
#[test]
fn streams_in_the_sidecar_mode_live_in_the_sidecar() {
    let t = TempTree::new();
    let open = || LocalFs::new(&t.dir).unwrap().with_dos_sidecar();
    let fs1 = open();
    let f = fs1.create(fs1.root(), "f", ca(0o644), T0).unwrap();
    let s = fs1.stream(f.id, "Zone.Identifier", true, T0).unwrap();
    fs1.write(s.id, 0, b"ZoneId=3", T0).unwrap();
    assert_eq!(stream_xattr(&t.dir.join("f"), "Zone.Identifier"), None);
    assert_eq!(fs::read(stream_file(&t.dir, &f, "Zone.Identifier")).unwrap(), b"ZoneId=3");
    let again = open();
    let s2 = again.stream(f.id, "zone.identifier", false, T0).unwrap();
    assert_eq!(again.read(s2.id, 0, 100).unwrap(), (Bytes::from_static(b"ZoneId=3"), true));
    assert_eq!(again.list_streams(f.id).unwrap(), vec![("Zone.Identifier".to_string(), 8)]);
    again.remove(again.root(), "f", T0).unwrap();
    assert!(!t.dir.join(streams::SIDECAR_DIR).join(f.id.to_string()).exists());
}

/// Streams follow their file through a rename and go with it on remove;
/// directories carry streams too.
#[test]
fn streams_follow_their_file() {
    let t = TempTree::new();
    let root = t.fs.root();
    let f = t.fs.create(root, "f", ca(0o644), T0).unwrap();
    let s = t.fs.stream(f.id, "s", true, T0).unwrap();
    t.fs.write(s.id, 0, b"kept", T0).unwrap();
    t.fs.rename(root, "f", root, "g", false, T0).unwrap();
    assert_eq!(t.fs.list_streams(f.id).unwrap(), vec![("s".to_string(), 4)]);
    assert_eq!(t.fs.read(s.id, 0, 10).unwrap().0, Bytes::from_static(b"kept"));
    t.fs.remove(root, "g", T0).unwrap();
    assert_eq!(t.fs.getattr(s.id), Err(VfsError::Stale));
    let d = t.fs.mkdir(root, "d", ca(0o755), T0).unwrap();
    let ds = t.fs.stream(d.id, "meta", true, T0).unwrap();
    t.fs.write(ds.id, 0, b"x", T0).unwrap();
    assert_eq!(t.fs.list_streams(d.id).unwrap(), vec![("meta".to_string(), 1)]);
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

fn walks(fs: &LocalFs) -> u64 {
    fs.walks.load(Ordering::Relaxed)
}

#[test]
fn a_file_replaced_behind_the_server_is_not_served_from_a_cached_descriptor() {
    let t = TempTree::new();
    let root = t.fs.root();
    for replace_by_rename in [true, false] {
        let f = t.fs.create(root, "f", ca(0o644), T0).unwrap();
        t.fs.write(f.id, 0, b"old", T0).unwrap();
        assert_eq!(t.fs.read(f.id, 0, 10).unwrap().0, Bytes::from_static(b"old"));
        assert!(t.fs.fds.lock().unwrap().map.contains_key(&f.id));
        if replace_by_rename {
            fs::write(t.dir.join("tmp"), b"new").unwrap();
            fs::rename(t.dir.join("tmp"), t.dir.join("f")).unwrap();
        } else {
            fs::remove_file(t.dir.join("f")).unwrap();
            fs::write(t.dir.join("f"), b"new").unwrap();
        }
        let mut buf = [0u8; 10];
        assert_eq!(t.fs.read_into(f.id, 0, &mut buf), Err(VfsError::Stale));
        assert_eq!(t.fs.write(f.id, 0, b"x", T0).map(|_| ()), Err(VfsError::Stale));
        assert_eq!(t.fs.getattr(f.id), Err(VfsError::Stale));
        assert!(!t.fs.fds.lock().unwrap().map.contains_key(&f.id));
        let g = t.fs.lookup(root, "f").unwrap();
        assert_ne!(g.id, f.id);
        assert_eq!(t.fs.read(g.id, 0, 10).unwrap(), (Bytes::from_static(b"new"), true));
        t.fs.remove(root, "f", T0).unwrap();
        assert!(!t.fs.fds.lock().unwrap().map.contains_key(&g.id), "remove closes the descriptor");
    }
}

#[test]
fn cached_io_walks_no_path_and_follows_the_inode() {
    let mut t = TempTree::new();
    let root = t.fs.root();
    let d = t.fs.mkdir(root, "d", ca(0o755), T0).unwrap();
    let f = t.fs.create(d.id, "f", ca(0o644), T0).unwrap();
    t.fs.write(f.id, 0, b"abc", T0).unwrap();
    let before = walks(&t.fs);
    for i in 0..10u8 {
        t.fs.write(f.id, 3 + u64::from(i), &[b'0' + i], T0).unwrap();
        assert_eq!(t.fs.read(f.id, 0, 2).unwrap().0, Bytes::from_static(b"ab"));
        assert_eq!(t.fs.getattr(f.id).unwrap().size, 4 + u64::from(i));
        t.fs.sync(f.id).unwrap();
    }
    assert_eq!(walks(&t.fs), before, "no path resolution while the descriptor is cached");
    // Another process renames the parent: the id still names the same inode.
    fs::rename(t.dir.join("d"), t.dir.join("d2")).unwrap();
    assert_eq!(t.fs.read(f.id, 0, 3).unwrap().0, Bytes::from_static(b"abc"));
    assert_eq!(walks(&t.fs), before);
    // Once the check is due, the path is searched for again and found.
    t.fs.revalidate = Duration::ZERO;
    assert_eq!(t.fs.read(f.id, 0, 3).unwrap().0, Bytes::from_static(b"abc"));
    assert!(walks(&t.fs) > before);
    // Moved out of the served tree: stale once the check is due.
    let out = t.dir.with_extension("out");
    fs::rename(t.dir.join("d2"), &out).unwrap();
    let gone = t.fs.read(f.id, 0, 3);
    let _ = fs::remove_dir_all(&out);
    assert_eq!(gone, Err(VfsError::Stale));
}

#[test]
fn the_descriptor_cache_is_bounded() {
    let t = TempTree::new();
    let root = t.fs.root();
    let ids: Vec<_> = (0..FD_CACHE_SIZE + 10)
        .map(|i| {
            let f = t.fs.create(root, &format!("f{i}"), ca(0o644), T0).unwrap();
            t.fs.write(f.id, 0, format!("{i}").as_bytes(), T0).unwrap();
            f.id
        })
        .collect();
    assert_eq!(t.fs.fds.lock().unwrap().map.len(), FD_CACHE_SIZE);
    for (i, id) in ids.iter().enumerate() {
        assert_eq!(t.fs.read(*id, 0, 10).unwrap().0, Bytes::from(format!("{i}")));
    }
    // A read-only file is still read (and cached read-only).
    t.fs.setattr(ids[0], &SetAttr { mode: Some(0o444), ..Default::default() }, T0).unwrap();
    assert_eq!(t.fs.read(ids[0], 0, 10).unwrap().0, Bytes::from_static(b"0"));
}

/// Pages through `dir` `max` entries at a time, calling `between` after each
/// page; the names seen in order.
fn page_through(fs: &LocalFs, dir: ObjectId, max: usize, mut between: impl FnMut(usize)) -> Vec<String> {
    let (mut cookie, mut seen, mut n) = (0, Vec::new(), 0);
    loop {
        let (page, done) = fs.readdir(dir, cookie, max).unwrap();
        assert!(!page.is_empty() || done);
        cookie = page.last().map_or(cookie, |e| e.cookie);
        seen.extend(page.into_iter().map(|e| e.name));
        if done {
            return seen;
        }
        between(n);
        n += 1;
    }
}

#[test]
fn later_pages_come_from_the_kept_listing() {
    let mut t = TempTree::new();
    t.fs.settle = Duration::ZERO;
    let root = t.fs.root();
    for i in 0..100 {
        t.fs.create(root, &format!("f{i:03}"), ca(0o644), T0).unwrap();
    }
    let reads = t.fs.dir_reads.load(Ordering::Relaxed);
    let seen = page_through(&t.fs, root, 7, |_| {});
    assert_eq!(seen.len(), 100);
    assert_eq!(t.fs.dir_reads.load(Ordering::Relaxed), reads + 1, "one directory read for all pages");
    assert!(t.fs.listings.lock().unwrap().map.is_empty(), "dropped once listed to the end");
    // Not settled (just changed): every page reads the directory.
    t.fs.settle = LISTING_SETTLE;
    let reads = t.fs.dir_reads.load(Ordering::Relaxed);
    assert_eq!(page_through(&t.fs, root, 50, |_| {}).len(), 100);
    assert_eq!(t.fs.dir_reads.load(Ordering::Relaxed), reads + 2);
}

#[test]
fn paging_over_a_changing_directory_never_repeats_or_skips() {
    let mut t = TempTree::new();
    t.fs.settle = Duration::ZERO;
    let root = t.fs.root();
    let names: Vec<String> = (0..120).map(|i| format!("f{i:03}")).collect();
    for n in &names {
        t.fs.create(root, n, ca(0o644), T0).unwrap();
    }
    // Every third page removes two not yet certainly listed names through
    // the server, another removes and adds names behind it; everything
    // else must be listed exactly once.
    let mut removed = BTreeSet::new();
    let mut step = 0;
    let seen = page_through(&t.fs, root, 9, |page| {
        step += 1;
        let victim = |k: usize| names[(page * 13 + k * 7) % names.len()].clone();
        match page % 3 {
            0 => {
                for k in 0..2 {
                    let v = victim(k);
                    if removed.insert(v.clone()) {
                        t.fs.remove(root, &v, T0).unwrap();
                    }
                }
                t.fs.create(root, &format!("new{step}"), ca(0o644), T0).unwrap();
            }
            1 => {
                // The directory's time stamps must move: wait past a tick.
                std::thread::sleep(Duration::from_millis(30));
                let v = victim(5);
                if removed.insert(v.clone()) {
                    fs::remove_file(t.dir.join(&v)).unwrap();
                }
                fs::write(t.dir.join(format!("ext{step}")), b"").unwrap();
            }
            _ => {}
        }
    });
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for n in &seen {
        *counts.entry(n.as_str()).or_default() += 1;
    }
    assert!(counts.values().all(|&c| c == 1), "repeated: {counts:?}");
    for n in &names {
        if !removed.contains(n) {
            assert_eq!(counts.get(n.as_str()), Some(&1), "skipped {n}");
        }
    }
    assert!(!removed.is_empty());
}

#[test]
fn an_outside_change_is_seen_by_the_next_page() {
    let mut t = TempTree::new();
    t.fs.settle = Duration::ZERO;
    let root = t.fs.root();
    for i in 0..20 {
        t.fs.create(root, &format!("f{i:02}"), ca(0o644), T0).unwrap();
    }
    let (page, done) = t.fs.readdir(root, 0, 5).unwrap();
    assert!(!done);
    let cookie = page.last().unwrap().cookie;
    let (all, _) = t.fs.readdir(root, 0, 100).unwrap();
    // The highest-cookie entry is not on the first page; remove it outside.
    let last = all.last().unwrap().name.clone();
    t.fs.readdir(root, 0, 5).unwrap();
    std::thread::sleep(Duration::from_millis(30));
    fs::remove_file(t.dir.join(&last)).unwrap();
    let (rest, done) = t.fs.readdir(root, cookie, 100).unwrap();
    assert!(done);
    assert_eq!(rest.len(), 14);
    assert!(rest.iter().all(|e| e.name != last));
}

/// The current stamp of directory `path`, as the name index records it.
fn stamp_of(path: &Path) -> [i64; 4] {
    dir_stamp(&fs::symlink_metadata(path).unwrap())
}

/// Sets the mtime of `path` far from now: an outside change whose time
/// stamps surely differ from the ones seen before.
fn touch_far(path: &Path) {
    let t = TimeSpec::new(946_684_800, 0);
    utimensat(nix::fcntl::AT_FDCWD, path, &t, &t, UtimensatFlags::NoFollowSymlink).unwrap();
}

#[test]
fn creating_many_files_reads_the_directory_once() {
    let t = TempTree::new();
    let root = t.fs.root();
    for i in 0..300 {
        let name = format!("File{i}");
        assert_eq!(t.fs.lookup_nocase(root, &name.to_uppercase()), Err(VfsError::NotFound));
        t.fs.create(root, &name, ca(0o644), T0).unwrap();
        assert_eq!(t.fs.lookup_nocase(root, &name.to_lowercase()).unwrap().1, name);
    }
    // One read, plus one a settle period later if the loop was that slow.
    assert!(t.fs.index_reads.load(Ordering::Relaxed) <= 2);
    for i in 0..300 {
        t.fs.remove(root, &format!("File{i}"), T0).unwrap();
        assert_eq!(t.fs.lookup_nocase(root, &format!("FILE{i}")), Err(VfsError::NotFound));
    }
    assert!(t.fs.index_reads.load(Ordering::Relaxed) <= 4);
}

#[test]
fn name_index_sees_outside_changes() {
    let mut t = TempTree::new();
    t.fs.settle = Duration::ZERO;
    let root = t.fs.root();
    t.fs.create(root, "Mine", ca(0o644), T0).unwrap();
    assert_eq!(t.fs.lookup_nocase(root, "MISSING"), Err(VfsError::NotFound));
    let reads = t.fs.index_reads.load(Ordering::Relaxed);
    // Created behind the server: the directory's stamps changed.
    fs::write(t.dir.join("Outside.TXT"), b"x").unwrap();
    touch_far(&t.dir);
    let (a, stored) = t.fs.lookup_nocase(root, "outside.txt").unwrap();
    assert_eq!((a.size, stored.as_str()), (1, "Outside.TXT"));
    assert_eq!(t.fs.index_reads.load(Ordering::Relaxed), reads + 1);
    // Removed behind the server with the stamps left as they were (same
    // tick): the stale name fails its lookup and the directory is re-read.
    fs::remove_file(t.dir.join("Mine")).unwrap();
    t.fs.indexes.lock().unwrap().map.get_mut(&root).unwrap().stamp = stamp_of(&t.dir);
    assert_eq!(t.fs.lookup_nocase(root, "MINE"), Err(VfsError::NotFound));
    // Renamed behind the server, only the case.
    fs::rename(t.dir.join("Outside.TXT"), t.dir.join("OUTSIDE.txt")).unwrap();
    touch_far(&t.dir);
    assert_eq!(t.fs.lookup_nocase(root, "Outside.txt").unwrap().1, "OUTSIDE.txt");
}

#[test]
fn name_index_changed_in_the_same_tick_is_read_again_after_settling() {
    let t = TempTree::new();
    let root = t.fs.root();
    t.fs.create(root, "Mine", ca(0o644), T0).unwrap();
    // The directory just changed: the index may miss a same-tick change.
    assert_eq!(t.fs.lookup_nocase(root, "x"), Err(VfsError::NotFound));
    assert!(t.fs.indexes.lock().unwrap().map.get(&root).unwrap().unsure_since.is_some());
    // An outside create that left the stamps as they were.
    fs::write(t.dir.join("Hidden"), b"").unwrap();
    t.fs.indexes.lock().unwrap().map.get_mut(&root).unwrap().stamp = stamp_of(&t.dir);
    assert_eq!(t.fs.lookup_nocase(root, "HIDDEN"), Err(VfsError::NotFound), "unseen for now");
    // A settle period later the index is read again.
    let past = os_instant().checked_sub(LISTING_SETTLE * 2).unwrap();
    t.fs.indexes.lock().unwrap().map.get_mut(&root).unwrap().unsure_since = Some(past);
    assert_eq!(t.fs.lookup_nocase(root, "HIDDEN").unwrap().1, "Hidden");
}

#[test]
fn name_indexes_are_bounded() {
    let t = TempTree::new();
    let root = t.fs.root();
    for i in 0..NAME_INDEX_CACHE_SIZE + 3 {
        let d = t.fs.mkdir(root, &format!("d{i}"), ca(0o755), T0).unwrap();
        t.fs.create(d.id, "f", ca(0o644), T0).unwrap();
        assert_eq!(t.fs.lookup_nocase(d.id, "F").unwrap().1, "f");
    }
    assert_eq!(t.fs.indexes.lock().unwrap().map.len(), NAME_INDEX_CACHE_SIZE);
    // Removing a directory drops its index.
    let last = t.fs.lookup(root, &format!("d{}", NAME_INDEX_CACHE_SIZE + 2)).unwrap().id;
    t.fs.remove(last, "f", T0).unwrap();
    t.fs.rmdir(root, &format!("d{}", NAME_INDEX_CACHE_SIZE + 2), T0).unwrap();
    assert!(!t.fs.indexes.lock().unwrap().map.contains_key(&last));
}

/// What smbd 4.17 wrote as `user.DOSATTRIB` for a file set HIDDEN (with
/// ARCHIVE) and its creation time: the version-5 NDR blob.
const SMBD_DOSATTRIB: [u8; 24] = [
    0x00, 0x00, 0x05, 0x00, 0x05, 0x00, 0x00, 0x00, 0x11, 0x00, 0x00, 0x00, 0x22, 0x00, 0x00, 0x00, 0x5e, 0x3d, 0x51,
    0xd9, 0xa1, 0x85, 0xdd, 0x01,
];

#[test]
fn dosattrib_blob_is_sambas() {
    let info = dosattrib::decode(&SMBD_DOSATTRIB).unwrap();
    assert_eq!(info, DosInfo { attrib: Some(0x22), create_time: Some(0x01dd_85a1_d951_3d5e) });
    assert_eq!(dosattrib::encode(&info), SMBD_DOSATTRIB);
    // The old hex-string form; garbage is refused.
    assert_eq!(dosattrib::decode(b"0x21\0").map(|i| i.attrib), Some(Some(0x21)));
    assert_eq!(dosattrib::decode(b"\x01\x02"), None);
    assert_eq!(dosattrib::decode(&SMBD_DOSATTRIB[..12]), None);
}

/// Attributes and the creation time set through LocalFs land in
/// `user.DOSATTRIB` (or in the sidecar) and are read back by a new
/// LocalFs on the same tree, as after a restart.
fn dos_kept_across_restart(sidecar: bool) {
    let t = TempTree::new();
    let fs = if sidecar { LocalFs::new(&t.dir).unwrap().with_dos_sidecar() } else { LocalFs::new(&t.dir).unwrap() };
    let root = fs.root();
    let f = fs.create(root, "f", ca(0o644), T0).unwrap();
    let btime = Timespec::new(1_500_000_000, 100);
    let set = SetAttr { dos: Some(0x22), btime: Some(btime), ..Default::default() };
    fs.setattr(f.id, &set, T0).unwrap();
    let path = t.dir.join("f");
    let blob = xattr::get(&path, dosattrib::NAME).unwrap();
    let sidecar_file = t.dir.join(dosattrib::SIDECAR_DIR).join(f.id.to_string());
    match sidecar {
        true => {
            assert_eq!(blob, None);
            assert!(sidecar_file.exists());
        }
        false => {
            let info = dosattrib::decode(&blob.unwrap()).unwrap();
            assert_eq!(info, DosInfo { attrib: Some(0x22), create_time: Some(btime.to_filetime()) });
            assert!(!sidecar_file.exists());
        }
    }
    // The sidecar directory is no name a client sees.
    assert_eq!(fs.readdir(root, 0, 100).unwrap().0.iter().map(|e| e.name.as_str()).collect::<Vec<_>>(), ["f"]);
    let again = if sidecar { LocalFs::new(&t.dir).unwrap().with_dos_sidecar() } else { LocalFs::new(&t.dir).unwrap() };
    let a = again.lookup(again.root(), "f").unwrap();
    assert_eq!((a.dos, a.btime), (Some(0x22), btime));
    // READONLY follows the mode into the blob (smbd reads it there).
    again.setattr(a.id, &SetAttr { mode: Some(0o444), ..Default::default() }, T0).unwrap();
    let stored = match sidecar {
        true => fs::read(&sidecar_file).unwrap()[8..].to_vec(),
        false => xattr::get(&path, dosattrib::NAME).unwrap().unwrap(),
    };
    assert_eq!(dosattrib::decode(&stored).unwrap().attrib, Some(0x23));
    again.remove(again.root(), "f", T0).unwrap();
    assert!(!sidecar_file.exists());
}

#[test]
fn dos_attributes_in_user_dosattrib() {
    dos_kept_across_restart(false);
}

#[test]
fn dos_attributes_in_the_sidecar() {
    dos_kept_across_restart(true);
}

/// A ChangeTime set through `setattr` reads back (after a restart too)
/// until the file changes; then the real ctime shows again.
#[test]
fn change_time_kept_until_the_file_changes() {
    let t = TempTree::new();
    let root = t.fs.root();
    let f = t.fs.create(root, "f", ca(0o644), T0).unwrap();
    let set_to = Timespec::new(1_234_567_890, 100);
    let a = t.fs.setattr(f.id, &SetAttr { ctime: Some(set_to), ..Default::default() }, T0).unwrap();
    assert_eq!(a.ctime, set_to);
    let again = LocalFs::new(&t.dir).unwrap();
    assert_eq!(again.lookup(again.root(), "f").unwrap().ctime, set_to);
    let a = t.fs.write(f.id, 0, b"x", T0).unwrap();
    assert_ne!(a.ctime, set_to);
    assert_eq!(t.fs.getattr(f.id).unwrap().ctime, a.ctime);
}

/// A security descriptor lands in `user.polyshare.NTACL` (or in the
/// sidecar) and is read back by a new LocalFs on the same tree, as after a
/// restart; the sidecar value goes with the last name.
fn security_kept_across_restart(sidecar: bool) {
    let t = TempTree::new();
    let open =
        || if sidecar { LocalFs::new(&t.dir).unwrap().with_dos_sidecar() } else { LocalFs::new(&t.dir).unwrap() };
    let fs = open();
    let f = fs.create(fs.root(), "f", ca(0o644), T0).unwrap();
    fs.set_security(f.id, Some(b"descriptor"), T0).unwrap();
    let in_xattr = xattr::get(&t.dir.join("f"), ntacl::NAME).unwrap();
    let sidecar_file = t.dir.join(ntacl::SIDECAR_DIR).join(f.id.to_string());
    assert_eq!((in_xattr.is_some(), sidecar_file.exists()), (!sidecar, sidecar));
    assert_eq!(fs.readdir(fs.root(), 0, 100).unwrap().0.iter().map(|e| e.name.as_str()).collect::<Vec<_>>(), ["f"]);
    assert_eq!(fs.list_streams(f.id).unwrap(), vec![], "the descriptor is no stream");
    let again = open();
    assert_eq!(again.security(f.id), Ok(Some(b"descriptor".to_vec())));
    again.remove(again.root(), "f", T0).unwrap();
    assert!(!sidecar_file.exists());
}

#[test]
fn security_in_user_xattr() {
    security_kept_across_restart(false);
}

#[test]
fn security_in_the_sidecar() {
    security_kept_across_restart(true);
}

/// EAs land in `user.<name>` (Samba's `ea support` layout: the
/// attributes of DOS attributes, streams and descriptors are no EAs and
/// cannot be set as one) or in the sidecar, survive a restart, and go
/// with the last name.
fn eas_kept_across_restart(sidecar: bool) {
    let t = TempTree::new_in(Path::new("/dev/shm"));
    let open =
        || if sidecar { LocalFs::new(&t.dir).unwrap().with_dos_sidecar() } else { LocalFs::new(&t.dir).unwrap() };
    let fs = open();
    let f = fs.create(fs.root(), "f", ca(0o644), T0).unwrap();
    fs.setattr(f.id, &SetAttr { dos: Some(0x2), ..Default::default() }, T0).unwrap();
    fs.stream(f.id, "s", true, T0).unwrap();
    fs.set_security(f.id, Some(b"descriptor"), T0).unwrap();
    fs.set_ea(f.id, "EAONE", b"VALUE1", T0).unwrap();
    let in_xattr = xattr::get(&t.dir.join("f"), "user.EAONE").unwrap();
    let sidecar_file = t.dir.join(eas::SIDECAR_DIR).join(f.id.to_string());
    assert_eq!((in_xattr.clone(), sidecar_file.exists()), ((!sidecar).then(|| b"VALUE1".to_vec()), sidecar));
    for private in ["DOSATTRIB", "dosattrib", "DosStream.s:$DATA", "polyshare.NTACL"] {
        assert_eq!(fs.set_ea(f.id, private, b"x", T0), Err(VfsError::Access), "{private}");
    }
    let again = open();
    assert_eq!(again.eas(f.id), Ok(vec![("EAONE".to_string(), b"VALUE1".to_vec())]));
    again.remove(again.root(), "f", T0).unwrap();
    assert!(!sidecar_file.exists());
}

#[test]
fn eas_in_user_xattrs() {
    eas_kept_across_restart(false);
}

#[test]
fn eas_in_the_sidecar() {
    eas_kept_across_restart(true);
}

#[test]
fn zero_range_punches_holes_that_allocated_ranges_leave_out() {
    // tmpfs: holes are 4 KiB pages.
    let t = TempTree::new_in(Path::new("/dev/shm"));
    let root = t.fs.root();
    let f = t.fs.create(root, "f", ca(0o644), T0).unwrap();
    t.fs.write(f.id, 0, &[1u8; 128 * 1024], T0).unwrap();
    assert_eq!(t.fs.allocated_ranges(f.id, 0, 1 << 20, 10).unwrap(), [(0, 128 * 1024)]);
    let a = t.fs.zero_range(f.id, 0, 64 * 1024, true, T0).unwrap();
    assert_eq!(a.size, 128 * 1024, "the size is kept");
    assert_eq!(t.fs.allocated_ranges(f.id, 0, 1 << 20, 10).unwrap(), [(64 * 1024, 64 * 1024)]);
    assert_eq!(t.fs.allocated_ranges(f.id, 0, 1 << 20, 0).unwrap(), [], "at most max");
    let (data, _) = t.fs.read(f.id, 0, 65 * 1024).unwrap();
    assert!(data[..64 * 1024].iter().all(|b| *b == 0) && data[64 * 1024..].iter().all(|b| *b == 1));
    // Kept allocated: zeros, the storage reserved again.
    t.fs.zero_range(f.id, 70_000, 10_000, false, T0).unwrap();
    let (data, _) = t.fs.read(f.id, 69_999, 10_002).unwrap();
    assert_eq!((data[0], data[10_001]), (1, 1));
    assert!(data[1..10_001].iter().all(|b| *b == 0));
    // (tmpfs's SEEK_DATA counts the pages allocated again as a hole, as
    // smbd's strict allocate sees; only the data is asserted.)
    // Past the end: nothing changes.
    assert_eq!(t.fs.zero_range(f.id, 1 << 20, 4096, true, T0).unwrap().size, 128 * 1024);
    // SPARSE_FILE is kept with the DOS attributes (user.DOSATTRIB).
    let set = SetAttr { dos: Some(0x20 | 0x200), ..Default::default() };
    t.fs.setattr(f.id, &set, T0).unwrap();
    assert_eq!(t.fs.getattr(f.id).unwrap().dos, Some(0x220));
}
