//! A reload (`Server::handle_reconfigure`) seen from an NFS client: handles
//! of a removed export answer NFS3ERR_STALE, a kept export's handles go on
//! (under its new settings), a new export mounts, a removed one no longer.

use super::*;
use crate::config::{Export, Reconfigure};

fn export(name: &str) -> Export {
    Export { name: name.into(), ..Export::default() }
}

#[test]
fn removed_exports_go_stale_and_kept_ones_keep_their_handles() {
    let mut cfg = Config::default();
    cfg.nfs.exports = vec![export("/gone"), export("/keep")];
    let mut rig = Rig::with(cfg, test_vfs());
    let c = rig.connect("127.0.0.1:700");
    let gone = rig.mnt(c, "/gone").unwrap();
    let keep = rig.mnt(c, "/keep").unwrap();
    let (file, _) = rig.create(c, &keep, "f", CreateHow::Unchecked(Sattr3::default())).unwrap();

    let shares = rig.server.config().smb.shares.clone();
    let read_only = Export { read_only: true, ..export("/keep") };
    let change = Reconfigure { shares, exports: vec![export("/fresh"), read_only], users: vec![] };
    rig.server.handle_reconfigure(change, rig.now);

    assert_eq!(rig.status(c, Nfs3Args::Getattr(gone)), STALE);
    assert_eq!(rig.status(c, Nfs3Args::Getattr(file.clone())), OK);
    assert_eq!(rig.lookup(c, &keep, "f").map(|(fh, _)| fh), Ok(file));
    // The kept export's new settings apply to its old handles.
    assert_eq!(rig.create(c, &keep, "g", CreateHow::Unchecked(Sattr3::default())).err(), Some(ROFS));
    assert!(rig.mnt(c, "/gone").is_err());
    assert!(rig.mnt(c, "/fresh").is_ok());
}

#[test]
fn a_removed_exports_slot_is_reused_and_its_old_handles_stay_stale() {
    let mut cfg = Config::default();
    cfg.nfs.exports = vec![export("/keep"), export("/e0")];
    let mut rig = Rig::with(cfg, test_vfs());
    let c = rig.connect("127.0.0.1:700");
    let old = rig.mnt(c, "/e0").unwrap();
    let shares = rig.server.config().smb.shares.clone();
    // Far more reloads than there are one-byte slots: each removes the last
    // export and adds a new one, which takes the freed slot.
    for n in 1..=300 {
        let exports = vec![export("/keep"), export(&format!("/e{n}"))];
        let change = Reconfigure { shares: shares.clone(), exports, users: vec![] };
        rig.server.handle_reconfigure(change, rig.now);
        assert_eq!(rig.server.config().nfs.exports.len(), 2, "reload {n} reused the slot");
    }
    assert_eq!(rig.status(c, Nfs3Args::Getattr(old.clone())), STALE, "the slot's new export does not take old handles");
    let new = rig.mnt(c, "/e300").unwrap();
    assert_eq!(rig.status(c, Nfs3Args::Getattr(new.clone())), OK);
    // The same slot and object: only the epoch tells the two handles apart.
    assert_ne!(new, old);
    assert!(rig.mnt(c, "/e299").is_err());
}
