//! CHANGE_NOTIFY across the protocols: an SMB client watching a directory
//! hears about names NFS adds, removes and renames, and about writes to
//! files it has open, as it hears about SMB's own changes.

use super::*;
use crate::smb::status;
use crate::smb::wire::change_notify::decode_notify_information;
use crate::smb::wire::header::FLAG_ASYNC;
use crate::vfs::journal::{action, filter};

const NAMES: u32 = filter::FILE_NAME | filter::DIR_NAME;

impl X {
    /// Opens directory `name` over SMB on `conn`.
    fn open_dir(&mut self, conn: ConnId, name: &str) -> FileId {
        let r = self.smb_call(conn, command::CREATE, &smb_peer::open_dir_body(name));
        assert_eq!(r.hdr.status, status::SUCCESS, "open dir {name:?}");
        r.file_id()
    }

    /// Sends CHANGE_NOTIFY; returns its MessageId and whatever answered it
    /// at once (an interim response when it waits).
    fn watch(&mut self, conn: ConnId, dir: FileId, bits: u32, tree: bool, max: u32) -> (u64, Vec<Msg>) {
        let mid = self.smb_send(conn, command::CHANGE_NOTIFY, &smb_peer::change_notify_body(dir, bits, tree, max));
        (mid, self.smb_responses(conn, mid))
    }

    /// The final response to `mid` as (status, [(action, name)]).
    fn notified(&mut self, conn: ConnId, mid: u64) -> Option<(u32, Vec<(u32, String)>)> {
        let r = self.smb_responses(conn, mid).into_iter().find(|m| m.hdr.status != status::PENDING)?;
        let len = u32::from_le_bytes(r.body[4..8].try_into().unwrap()) as usize;
        let list = if len == 0 { Vec::new() } else { decode_notify_information(&r.body[8..8 + len]).unwrap() };
        Some((r.hdr.status, list))
    }
}

fn interim(got: &[Msg]) {
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].hdr.status, status::PENDING);
    assert_eq!(got[0].hdr.flags & FLAG_ASYNC, FLAG_ASYNC);
}

fn named(a: u32, n: &str) -> (u32, String) {
    (a, n.to_string())
}

#[test]
fn nfs_creates_renames_and_removes_complete_an_smb_change_notify() {
    let mut x = X::new();
    let smb = x.smb;
    let root = x.open_dir(smb, "");
    let (mid, got) = x.watch(smb, root, NAMES, false, 4096);
    interim(&got);
    assert!(x.notified(smb, mid).is_none(), "nothing changed yet");

    let how = crate::nfs::nfs3::args::CreateHow::Unchecked(Default::default());
    let xid = x.send(&Nfs3Args::Create { where_: x.dirop("n.txt"), how });
    assert_eq!(x.status(xid), Some(OK));
    assert_eq!(x.notified(smb, mid), Some((status::SUCCESS, vec![named(action::ADDED, "n.txt")])));

    let (mid, got) = x.watch(smb, root, NAMES, false, 4096);
    interim(&got);
    let xid = x.send(&Nfs3Args::Rename { from: x.dirop("n.txt"), to: x.dirop("m.txt") });
    assert_eq!(x.status(xid), Some(OK));
    let want = vec![named(action::RENAMED_OLD_NAME, "n.txt"), named(action::RENAMED_NEW_NAME, "m.txt")];
    assert_eq!(x.notified(smb, mid), Some((status::SUCCESS, want)));

    // A change while no request waits is kept for the next one.
    let xid = x.send(&Nfs3Args::Remove(x.dirop("m.txt")));
    assert_eq!(x.status(xid), Some(OK));
    let (mid, got) = x.watch(smb, root, NAMES, false, 4096);
    assert_eq!(got.len(), 1, "answered at once");
    assert_eq!(x.notified(smb, mid), None, "already taken");
    assert_eq!(got[0].hdr.status, status::SUCCESS);
    let len = u32::from_le_bytes(got[0].body[4..8].try_into().unwrap()) as usize;
    assert_eq!(decode_notify_information(&got[0].body[8..8 + len]).unwrap(), vec![named(action::REMOVED, "m.txt")]);
}

#[test]
fn filters_subtrees_writes_overflow_and_cleanup() {
    let mut x = X::new();
    let smb = x.smb;
    let other = x.smb_peer([0xD2; 16]);
    let (id, fh) = x.file("w.txt", b"0123");
    let _ = id;
    let root = x.open_dir(smb, "");
    // Writable by the SMB session, whose uid is not the NFS caller's.
    let attr = crate::nfs::nfs3::attrs::Sattr3 { mode: Some(0o777), ..Default::default() };
    let xid = x.send(&Nfs3Args::Mkdir { where_: x.dirop("sub"), attr });
    assert_eq!(x.status(xid), Some(OK));

    // Only directory names: a file created below is not reported, even with
    // WATCH_TREE; a directory created below is, by its path.
    let (mid, got) = x.watch(smb, root, filter::DIR_NAME, true, 4096);
    interim(&got);
    let r = x.smb_call(other, command::CREATE, &smb_peer::create_body("sub\\f.txt", None));
    assert_eq!(r.hdr.status, status::SUCCESS);
    assert_eq!(x.notified(smb, mid), None);
    let r = x.smb_call(other, command::CREATE, &smb_peer::open_dir_body("sub"));
    let sub = r.file_id();
    let mut create_dir = smb_peer::open_dir_body("sub\\d");
    create_dir[36..40].copy_from_slice(&crate::smb::wire::create::disposition::CREATE.to_le_bytes());
    assert_eq!(x.smb_call(other, command::CREATE, &create_dir).hdr.status, status::SUCCESS);
    assert_eq!(x.notified(smb, mid), Some((status::SUCCESS, vec![named(action::ADDED, "sub\\d")])));
    let _ = sub;

    // An NFS write to a file an SMB client has open is a MODIFIED change.
    let r = x.smb_call(other, command::CREATE, &smb_peer::create_body("w.txt", None));
    assert_eq!(r.hdr.status, status::SUCCESS);
    let (mid, got) = x.watch(smb, root, filter::SIZE, false, 4096);
    interim(&got);
    let xid = x.send(&write(&fh, b"abcdefgh"));
    assert_eq!(x.status(xid), Some(OK));
    assert_eq!(x.notified(smb, mid), Some((status::SUCCESS, vec![named(action::MODIFIED, "w.txt")])));

    // More than fits in OutputBufferLength: STATUS_NOTIFY_ENUM_DIR and no
    // list; what was kept is dropped (the client re-reads the directory).
    let (mid, got) = x.watch(smb, root, NAMES, false, 64);
    interim(&got);
    for n in ["long-name-0.txt", "long-name-1.txt", "long-name-2.txt"] {
        let how = crate::nfs::nfs3::args::CreateHow::Unchecked(Default::default());
        let xid = x.send(&Nfs3Args::Create { where_: x.dirop(n), how });
        assert_eq!(x.status(xid), Some(OK));
    }
    assert_eq!(x.notified(smb, mid), Some((status::SUCCESS, vec![named(action::ADDED, "long-name-0.txt")])));
    let (_, got) = x.watch(smb, root, NAMES, false, 64);
    assert_eq!(got.len(), 1, "answered at once");
    assert_eq!(got[0].hdr.status, status::NOTIFY_ENUM_DIR);
    assert_eq!(got[0].body[4..8], [0, 0, 0, 0]);
    let (mid, got) = x.watch(smb, root, NAMES, false, 64);
    interim(&got);
    let how = crate::nfs::nfs3::args::CreateHow::Unchecked(Default::default());
    let xid = x.send(&Nfs3Args::Create { where_: x.dirop("long-name-3.txt"), how });
    assert_eq!(x.status(xid), Some(OK));
    assert_eq!(x.notified(smb, mid), Some((status::SUCCESS, vec![named(action::ADDED, "long-name-3.txt")])));

    // Closing the directory completes a waiting request with NOTIFY_CLEANUP.
    let (mid, got) = x.watch(smb, root, NAMES, false, 4096);
    interim(&got);
    let r = x.smb_call(smb, command::CLOSE, &smb_peer::close_body(root));
    assert_eq!(r.hdr.status, status::SUCCESS);
    assert_eq!(x.notified(smb, mid), Some((status::NOTIFY_CLEANUP, vec![])));
    assert!(x.server.smb_shared().watches.0.is_empty());
}

/// TREE_DISCONNECT and LOGOFF end the watches of their opens: the waiting
/// requests complete with STATUS_NOTIFY_CLEANUP (smbtorture smb2.notify.tdis,
/// smb2.notify.logoff).
#[test]
fn logoff_and_tree_disconnect_clean_up_waiting_requests() {
    for cmd in [command::TREE_DISCONNECT, command::LOGOFF] {
        let mut x = X::new();
        let smb = x.smb;
        let root = x.open_dir(smb, "");
        let (mid, got) = x.watch(smb, root, NAMES, true, 4096);
        interim(&got);
        let r = x.smb_call(smb, cmd, &[4, 0, 0, 0]);
        assert_eq!(r.hdr.status, status::SUCCESS);
        assert_eq!(x.notified(smb, mid), Some((status::NOTIFY_CLEANUP, vec![])), "command {cmd}");
        assert!(x.server.smb_shared().watches.0.is_empty());
    }
}

/// A watch started with a buffer too small for any change answers
/// NOTIFY_ENUM_DIR from then on, whatever later requests offer; a buffer
/// beyond MaxTransactSize is refused (smbtorture smb2.notify.valid-req).
#[test]
fn the_first_request_sets_the_buffer_of_a_watch() {
    let mut x = X::new();
    let smb = x.smb;
    let root = x.open_dir(smb, "");
    let too_big = x.server.config().smb.max_transact_size + 1;
    let (_, got) = x.watch(smb, root, NAMES, false, too_big);
    assert_eq!(got[0].hdr.status, status::INVALID_PARAMETER);
    for (i, max) in [1u32, 4096].into_iter().enumerate() {
        let (mid, got) = x.watch(smb, root, NAMES, false, max);
        interim(&got);
        let how = crate::nfs::nfs3::args::CreateHow::Unchecked(Default::default());
        let xid = x.send(&Nfs3Args::Create { where_: x.dirop(&format!("f{i}")), how });
        assert_eq!(x.status(xid), Some(OK));
        assert_eq!(x.notified(smb, mid), Some((status::NOTIFY_ENUM_DIR, vec![])), "buffer {max}");
    }
}

/// MS-FSA 2.1.5.10: a directory deleted while watched (delete-on-close by
/// another open) completes the waiting request with STATUS_DELETE_PENDING
/// (smbtorture smb2.notify.rmdir1).
#[test]
fn deleting_the_watched_directory_ends_the_wait() {
    let mut x = X::new();
    let smb = x.smb;
    let other = x.smb_peer([0xD3; 16]);
    let xid = x.send(&Nfs3Args::Mkdir { where_: x.dirop("gone"), attr: Default::default() });
    assert_eq!(x.status(xid), Some(OK));
    let dir = x.open_dir(smb, "gone");
    let (mid, got) = x.watch(smb, dir, NAMES, false, 1000);
    interim(&got);
    let mut body = smb_peer::open_dir_body("gone");
    body[24..28].copy_from_slice(&(0x0010_0081u32 | 0x0001_0000).to_le_bytes());
    body[40..44].copy_from_slice(&(0x0000_0001u32 | 0x0000_1000).to_le_bytes());
    let r = x.smb_call(other, command::CREATE, &body);
    assert_eq!(r.hdr.status, status::SUCCESS);
    assert_eq!(x.notified(smb, mid), None, "still open elsewhere: not yet");
    let r = x.smb_call(other, command::CLOSE, &smb_peer::close_body(r.file_id()));
    assert_eq!(r.hdr.status, status::SUCCESS);
    assert_eq!(x.notified(smb, mid), Some((status::DELETE_PENDING, vec![])));
    let (_, got) = x.watch(smb, dir, NAMES, false, 1000);
    assert_eq!(got[0].hdr.status, status::DELETE_PENDING);
}
