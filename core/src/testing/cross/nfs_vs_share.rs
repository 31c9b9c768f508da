//! NFS calls against SMB share modes (docs/WINDOWS-SEMANTICS.md "Share modes
//! and NFS"): REMOVE and RENAME need FILE_SHARE_DELETE from every SMB open
//! that touches the data, WRITE and SETATTR of the size FILE_SHARE_WRITE;
//! a `wait` export answers NFS3ERR_ACCES, a `jukebox` export
//! NFS3ERR_JUKEBOX, and the call succeeds once the open is closed.

use super::*;
use crate::nfs::nfs3::attrs::Sattr3;
use crate::smb::wire::create::disposition;
use crate::testing::smb_client::{SHARE_ALL, SUCCESS, close_body, create_with};

const ACCES: u32 = 13;
const READ_WRITE: u32 = 0x3;

/// An SMB open (read/write data, no lease) of `name` sharing `share`.
fn smb_open(x: &mut X, name: &str, share: u32) -> FileId {
    let r = x.smb_call(x.smb, command::CREATE, &create_with(name, 0, None, share, disposition::OPEN));
    assert_eq!(r.hdr.status, SUCCESS);
    r.file_id()
}

fn smb_close(x: &mut X, fid: FileId) {
    assert_eq!(x.smb_call(x.smb, command::CLOSE, &close_body(fid)).hdr.status, SUCCESS);
}

fn rename(x: &X, from: &str, to: &str) -> Nfs3Args {
    Nfs3Args::Rename { from: x.dirop(from), to: x.dirop(to) }
}

fn exists(x: &X, name: &str) -> bool {
    let vfs = x.server.vfs();
    vfs.lookup(vfs.root(), name).is_ok()
}

#[test]
fn rename_and_remove_wait_for_an_open_without_share_delete() {
    let mut x = X::new();
    x.file("f", b"data");
    let fid = smb_open(&mut x, "f", READ_WRITE);
    let xid = x.send(&rename(&x, "f", "g"));
    assert_eq!(x.status(xid), Some(ACCES), "a `wait` export refuses at once");
    let xid = x.send(&Nfs3Args::Remove(x.dirop("f")));
    assert_eq!(x.status(xid), Some(ACCES));
    assert!(exists(&x, "f") && !exists(&x, "g"));
    smb_close(&mut x, fid);
    let xid = x.send(&rename(&x, "f", "g"));
    assert_eq!(x.status(xid), Some(OK), "after the close");
    assert!(!exists(&x, "f") && exists(&x, "g"));
}

#[test]
fn an_existing_rename_target_held_without_share_delete_is_refused() {
    let mut x = X::new();
    x.file("f", b"new");
    x.file("t", b"old");
    let fid = smb_open(&mut x, "t", READ_WRITE);
    let xid = x.send(&rename(&x, "f", "t"));
    assert_eq!(x.status(xid), Some(ACCES));
    smb_close(&mut x, fid);
    let xid = x.send(&rename(&x, "f", "t"));
    assert_eq!(x.status(xid), Some(OK));
}

#[test]
fn a_jukebox_export_answers_jukebox_and_the_retry_succeeds() {
    let mut x = X::with(NfsBreakPolicy::Jukebox, |_| {});
    x.file("f", b"data");
    let fid = smb_open(&mut x, "f", READ_WRITE);
    let xid = x.send(&Nfs3Args::Remove(x.dirop("f")));
    assert_eq!(x.status(xid), Some(JUKEBOX));
    assert!(exists(&x, "f"));
    smb_close(&mut x, fid);
    let xid = x.send(&Nfs3Args::Remove(x.dirop("f")));
    assert_eq!(x.status(xid), Some(OK));
    assert!(!exists(&x, "f"));
}

#[test]
fn share_delete_lets_them_through() {
    let mut x = X::new();
    x.file("f", b"data");
    let _fid = smb_open(&mut x, "f", SHARE_ALL);
    let xid = x.send(&rename(&x, "f", "g"));
    assert_eq!(x.status(xid), Some(OK));
}

#[test]
fn writes_and_truncation_need_share_write_reads_do_not() {
    let mut x = X::new();
    let (id, fh) = x.file("f", b"data");
    let fid = smb_open(&mut x, "f", 0x1 | 0x4);
    let xid = x.send(&write(&fh, b"nfs"));
    assert_eq!(x.status(xid), Some(ACCES));
    let size = Nfs3Args::Setattr { fh: fh.clone(), attr: Sattr3 { size: Some(0), ..Default::default() }, guard: None };
    let xid = x.send(&size);
    assert_eq!(x.status(xid), Some(ACCES));
    assert_eq!(x.content(id), b"data");
    let xid = x.send(&read(&fh));
    assert_eq!(x.status(xid), Some(OK), "a read meets no share mode");
    smb_close(&mut x, fid);
    let xid = x.send(&write(&fh, b"nfs"));
    assert_eq!(x.status(xid), Some(OK));
    assert_eq!(x.content(id), b"nfsa");
}

#[test]
fn a_stat_open_imposes_no_share_mode() {
    let mut x = X::new();
    x.file("f", b"data");
    // READ_ATTRIBUTES only, sharing nothing (MS-FSA 2.1.5.1.2.2).
    let mut body = create_with("f", 0, None, 0, disposition::OPEN);
    body[24..28].copy_from_slice(&0x80u32.to_le_bytes());
    let r = x.smb_call(x.smb, command::CREATE, &body);
    assert_eq!(r.hdr.status, SUCCESS);
    let xid = x.send(&Nfs3Args::Remove(x.dirop("f")));
    assert_eq!(x.status(xid), Some(OK));
}

/// A stream of the file held open without FILE_SHARE_DELETE refuses the
/// file's REMOVE and RENAME as it refuses an SMB delete (MS-FSA
/// 2.1.5.1.2.1); sharing delete, or closed, it does not.
#[test]
fn an_open_stream_without_share_delete_holds_its_file() {
    let mut x = X::new();
    let (id, _) = x.file("f", b"data");
    let vfs = x.server.vfs();
    vfs.stream(id, "s", true, crate::time::Timespec::new(1, 0)).unwrap();
    let fid = smb_open(&mut x, "f:s", READ_WRITE);
    let xid = x.send(&Nfs3Args::Remove(x.dirop("f")));
    assert_eq!(x.status(xid), Some(ACCES));
    let xid = x.send(&rename(&x, "f", "g"));
    assert_eq!(x.status(xid), Some(ACCES));
    assert!(exists(&x, "f") && !exists(&x, "g"));
    smb_close(&mut x, fid);
    let _shared = smb_open(&mut x, "f:s", SHARE_ALL);
    let xid = x.send(&rename(&x, "f", "g"));
    assert_eq!(x.status(xid), Some(OK), "a stream shared for delete");
    assert!(exists(&x, "g"));
}

/// A directory's RENAME waits while an SMB client has something open below
/// it, as an SMB rename does (MS-FSA 2.1.5.15.12, 2.1.4.2): refused on a
/// `wait` export, JUKEBOX on a `jukebox` one; the rename goes through once
/// it is closed.
#[test]
fn a_directory_with_an_smb_open_below_is_not_renamed() {
    for (policy, refused) in [(NfsBreakPolicy::Wait, ACCES), (NfsBreakPolicy::Jukebox, JUKEBOX)] {
        let mut x = X::with(policy, |_| {});
        let t = crate::time::Timespec::new(1, 0);
        let vfs = x.server.vfs();
        let root = vfs.root();
        let ca = crate::vfs::CreateAttr { mode: 0o777, uid: 1000, gid: 1000 };
        let d = vfs.mkdir(root, "d", ca, t).unwrap().id;
        let sub = vfs.mkdir(d, "sub", ca, t).unwrap().id;
        vfs.create(sub, "f", ca, t).unwrap();
        let fid = smb_open(&mut x, "d\\sub\\f", SHARE_ALL);
        let xid = x.send(&rename(&x, "d", "e"));
        assert_eq!(x.status(xid), Some(refused), "{policy:?}");
        assert!(exists(&x, "d") && !exists(&x, "e"));
        smb_close(&mut x, fid);
        let xid = x.send(&rename(&x, "d", "e"));
        assert_eq!(x.status(xid), Some(OK), "{policy:?}: after the close");
        assert!(exists(&x, "e"));
    }
}
