//! NFS and SMB changes to a directory's children against an SMB directory
//! lease (docs/LEASES.md "Directory leases"): the break, the wait for the
//! ack (or NFS3ERR_JUKEBOX), and the holder's own ParentLeaseKey.

use super::*;
use crate::nfs::nfs3::args::CreateHow;
use crate::nfs::nfs3::attrs::Sattr3;

const NONE: LeaseState = LeaseState::NONE;
const RH: LeaseState = LeaseState::RH;
const CHILD_KEY: [u8; 16] = [0x5C; 16];

impl X {
    /// Directory `name` in the root, leased RH by the holder (GUID, KEY):
    /// its id and NFS handle.
    fn leased_dir(&mut self, name: &str) -> (ObjectId, FhBytes) {
        let t = Timespec::new(1, 0);
        let root = self.server.vfs().root();
        let a = self.server.vfs().mkdir(root, name, CreateAttr { mode: 0o777, uid: 0, gid: 0 }, t).unwrap();
        let body = smb_peer::create_dir_body(name, Some((KEY, RH.bits())));
        let r = self.smb_call(self.smb, command::CREATE, &body);
        assert_eq!(r.hdr.status, smb_peer::SUCCESS);
        assert_eq!(r.body[2], 0xFF, "lease granted");
        assert_eq!(self.lease().state, RH, "a directory gets RH");
        assert_eq!(self.lease().file, a.id);
        (a.id, NfsFh3 { export: 0, epoch: 0, id: a.id, generation: a.generation }.to_fh())
    }

    fn exists(&self, dir: ObjectId, name: &str) -> bool {
        self.server.vfs().lookup(dir, name).is_ok()
    }
}

fn nfs_create(dir: &FhBytes, name: &str) -> Nfs3Args {
    let where_ = DirOpArgs { dir: dir.clone(), name: name.as_bytes().to_vec() };
    Nfs3Args::Create { where_, how: CreateHow::Unchecked(Sattr3::default()) }
}

#[test]
fn nfs_create_in_leased_directory_completes_after_the_ack() {
    let mut x = X::new();
    let (dir, fh) = x.leased_dir("d");
    let xid = x.send(&nfs_create(&fh, "new"));
    assert_eq!(x.breaks(), vec![(RH, NONE, true)], "RH -> NONE, ack required");
    assert!(x.no_replies(), "the CREATE is parked");
    assert!(!x.exists(dir, "new"), "nothing created before the ack");
    x.at(secs(2));
    assert_eq!(x.ack(NONE), 0);
    assert_eq!(x.status(xid), Some(OK), "answered from the ack's handle_input");
    assert!(x.exists(dir, "new"));
    assert_eq!(x.server.stats().time_parked, secs(2));
}

#[test]
fn nfs_create_with_the_jukebox_policy_breaks_and_answers_jukebox() {
    let mut x = X::with(NfsBreakPolicy::Jukebox, |_| {});
    let (dir, fh) = x.leased_dir("d");
    let xid = x.send(&nfs_create(&fh, "new"));
    assert_eq!(x.breaks(), vec![(RH, NONE, true)]);
    assert_eq!(x.status(xid), Some(JUKEBOX));
    assert!(!x.exists(dir, "new"));
    assert_eq!(x.ack(NONE), 0);
    let xid = x.send(&nfs_create(&fh, "new"));
    assert_eq!(x.status(xid), Some(OK), "the retry runs once the lease is gone");
    assert!(x.exists(dir, "new"));
}

#[test]
fn nfs_remove_mkdir_and_rename_each_break_the_directory_lease() {
    let calls: [fn(&FhBytes) -> Nfs3Args; 3] = [
        |fh| Nfs3Args::Remove(DirOpArgs { dir: fh.clone(), name: b"f".to_vec() }),
        |fh| Nfs3Args::Mkdir { where_: DirOpArgs { dir: fh.clone(), name: b"sub".to_vec() }, attr: Sattr3::default() },
        |fh| Nfs3Args::Rename {
            from: DirOpArgs { dir: fh.clone(), name: b"f".to_vec() },
            to: DirOpArgs { dir: fh.clone(), name: b"g".to_vec() },
        },
    ];
    for call in calls {
        let mut x = X::new();
        let (dir, fh) = x.leased_dir("d");
        x.server.vfs().create(dir, "f", CreateAttr { mode: 0o666, uid: 0, gid: 0 }, Timespec::new(1, 0)).unwrap();
        let xid = x.send(&call(&fh));
        assert_eq!(x.breaks(), vec![(RH, NONE, true)]);
        assert!(x.no_replies());
        x.ack(NONE);
        assert_eq!(x.status(xid), Some(OK));
    }
}

#[test]
fn nfs_setattr_of_a_child_found_by_handle_breaks_its_directory() {
    let mut x = X::new();
    let (dir, _) = x.leased_dir("d");
    let a =
        x.server.vfs().create(dir, "f", CreateAttr { mode: 0o666, uid: 1000, gid: 1000 }, Timespec::new(1, 0)).unwrap();
    let child = NfsFh3 { export: 0, epoch: 0, id: a.id, generation: a.generation }.to_fh();
    let xid = x.send(&super::read(&child));
    assert_eq!(x.status(xid), Some(OK));
    assert_eq!(x.breaks(), vec![], "a READ changes nothing in the directory");
    let attr = Sattr3 { mode: Some(0o600), ..Sattr3::default() };
    let xid = x.send(&Nfs3Args::Setattr { fh: child, attr, guard: None });
    assert_eq!(x.breaks(), vec![(RH, NONE, true)]);
    assert!(x.no_replies());
    x.ack(NONE);
    assert_eq!(x.status(xid), Some(OK));
}

#[test]
fn smb_create_with_the_directory_as_parent_key_breaks_nothing() {
    let mut x = X::new();
    let (dir, _) = x.leased_dir("d");
    let lease = smb_peer::lease_v2_parent(CHILD_KEY, LeaseState::RWH.bits(), KEY);
    let body = smb_peer::create_with(
        "d\\mine",
        0xFF,
        Some(lease),
        smb_peer::SHARE_ALL,
        crate::smb::wire::create::disposition::OPEN_IF,
    );
    let r = x.smb_call(x.smb, command::CREATE, &body);
    assert_eq!(r.hdr.status, smb_peer::SUCCESS);
    assert!(x.exists(dir, "mine"));
    assert_eq!(x.breaks(), vec![], "the holder caches its own change");
    assert_eq!(x.lease().state, RH);
    // Without the parent key the same client's create breaks its lease.
    let mid = x.smb_send(x.smb, command::CREATE, &smb_peer::create_body("d\\other", None));
    assert_eq!(x.breaks(), vec![(RH, NONE, true)]);
    x.ack(NONE);
    let r = x.smb_responses(x.smb, mid);
    assert_eq!(r.last().unwrap().hdr.status, smb_peer::SUCCESS);
    assert!(x.exists(dir, "other"));
}

#[test]
fn nfs_write_breaks_the_directory_only_when_it_extends_the_file() {
    let mut x = X::new();
    let (dir, _) = x.leased_dir("d");
    let t = Timespec::new(1, 0);
    let a = x.server.vfs().create(dir, "f", CreateAttr { mode: 0o666, uid: 1000, gid: 1000 }, t).unwrap();
    x.server.vfs().write(a.id, 0, b"abcd", t).unwrap();
    let child = NfsFh3 { export: 0, epoch: 0, id: a.id, generation: a.generation }.to_fh();
    let xid = x.send(&super::write(&child, b"xy"));
    assert_eq!(x.status(xid), Some(OK));
    assert_eq!(x.breaks(), vec![], "the size stays 4");
    let xid = x.send(&super::write(&child, b"123456"));
    assert_eq!(x.breaks(), vec![(RH, NONE, true)], "the size grows to 6");
    assert!(x.no_replies());
    x.ack(NONE);
    assert_eq!(x.status(xid), Some(OK));
    assert_eq!(x.content(a.id), b"123456");
}
