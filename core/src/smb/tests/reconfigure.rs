//! A reload (`Server::handle_reconfigure`) seen from an SMB client: an
//! unchanged share keeps its tree and opens (under its new index), a removed
//! one answers STATUS_NETWORK_NAME_DELETED, a new one connects, and a
//! removed account's session ends.

use super::limits::login_alice;
use super::*;
use crate::config::{Reconfigure, Share, User};

fn share(name: &str) -> Share {
    Share::new(name, "/")
}

#[test]
fn a_reload_keeps_unchanged_trees_and_ends_removed_ones() {
    let mut cfg = Config::default();
    cfg.smb.shares = vec![share("keep"), share("gone")];
    let (mut c, _) = login_alice(cfg, 0);
    let keep = c.tree_connect("\\\\x\\keep");
    assert_eq!(keep.status(), status::SUCCESS);
    let gone = c.tree_connect("\\\\x\\gone");
    assert_eq!(gone.status(), status::SUCCESS);
    c.tree = keep.hdr.tree_id;
    let r = c.create("kept.txt", RW, SHARE_ALL, disposition::CREATE, 0);
    assert_eq!(r.status(), status::SUCCESS);
    let kept = r.file_id();
    assert_eq!(c.call(command::WRITE, &write_body(kept, 0, b"before")).status(), status::SUCCESS);
    c.tree = gone.hdr.tree_id;
    let r = c.create("lost.txt", RW, SHARE_ALL, disposition::CREATE, 0);
    assert_eq!(r.status(), status::SUCCESS);
    let lost = r.file_id();

    // "fresh" first: "keep" moves from index 0 to 1.
    let alice = c.server.config().smb.users.clone();
    let mut change = Reconfigure { shares: vec![share("fresh"), share("KEEP")], exports: vec![], users: alice };
    c.server.handle_reconfigure(change.clone(), c.now);
    assert_eq!(c.call(command::WRITE, &write_body(lost, 0, b"x")).status(), status::NETWORK_NAME_DELETED);
    c.tree = keep.hdr.tree_id;
    assert_eq!(c.call(command::WRITE, &write_body(kept, 6, b" after")).status(), status::SUCCESS);
    let rd = c.call(command::READ, &read_body(kept, 0, 100));
    assert_eq!((rd.status(), &rd.body[16..]), (status::SUCCESS, &b"before after"[..]));
    assert_eq!(c.tree_connect("\\\\x\\gone").status(), status::BAD_NETWORK_NAME);
    assert_eq!(c.tree_connect("\\\\x\\fresh").status(), status::SUCCESS);
    // The closed open let go of the file: it opens without a sharing conflict.
    c.tree = keep.hdr.tree_id;
    let r = c.create("lost.txt", RW, 0, disposition::OPEN, 0);
    assert_eq!(r.status(), status::SUCCESS);

    // The account goes: so does its session.
    change.users.clear();
    c.server.handle_reconfigure(change, c.now);
    assert_eq!(c.call(command::READ, &read_body(kept, 0, 1)).status(), status::USER_SESSION_DELETED);
}

#[test]
fn a_reload_with_a_new_password_keeps_the_session() {
    let (mut c, _) = login_alice(Config::default(), 0);
    let t = c.tree_connect("\\\\x\\share");
    assert_eq!(t.status(), status::SUCCESS);
    c.tree = t.hdr.tree_id;
    let shares = c.server.config().smb.shares.clone();
    let users = vec![User::new("ALICE", "changed")];
    c.server.handle_reconfigure(Reconfigure { shares, exports: vec![], users }, c.now);
    assert_eq!(c.create("still.txt", RW, SHARE_ALL, disposition::CREATE, 0).status(), status::SUCCESS);
}

#[test]
fn a_reload_that_changes_options_keeps_the_tree_and_applies_them_to_the_next_request() {
    let mut cfg = Config::default();
    cfg.smb.shares = vec![share("data"), share("moved")];
    let (mut c, _) = login_alice(cfg, 0);
    let moved = c.tree_connect("\\\\x\\moved");
    assert_eq!(moved.status(), status::SUCCESS);
    let t = c.tree_connect("\\\\x\\data");
    assert_eq!(t.status(), status::SUCCESS);
    c.tree = t.hdr.tree_id;
    let r = c.create("f.txt", RW, SHARE_ALL, disposition::CREATE, 0);
    assert_eq!(r.status(), status::SUCCESS);
    let f = r.file_id();
    assert_eq!(c.call(command::WRITE, &write_body(f, 0, b"one")).status(), status::SUCCESS);

    // "data" turns read-only; "moved" gets another path (other storage).
    let users = c.server.config().smb.users.clone();
    let ro = Share { read_only: true, ..share("data") };
    let elsewhere = Share::new("moved", "/elsewhere");
    let r = Reconfigure { shares: vec![ro, elsewhere.clone()], exports: vec![], users: users.clone() };
    c.server.handle_reconfigure(r, c.now);
    assert_eq!(c.call(command::WRITE, &write_body(f, 3, b"two")).status(), status::ACCESS_DENIED);
    let rd = c.call(command::READ, &read_body(f, 0, 100));
    assert_eq!((rd.status(), &rd.body[16..]), (status::SUCCESS, &b"one"[..]), "the tree and the open go on");
    assert_eq!(c.create("g.txt", RW, SHARE_ALL, disposition::CREATE, 0).status(), status::ACCESS_DENIED);
    c.tree = moved.hdr.tree_id;
    let r = c.create("h.txt", RW, SHARE_ALL, disposition::CREATE, 0);
    assert_eq!(r.status(), status::NETWORK_NAME_DELETED, "a share on another path is another share");

    // Writable again: the same open writes.
    let r = Reconfigure { shares: vec![share("data"), elsewhere], exports: vec![], users };
    c.server.handle_reconfigure(r, c.now);
    c.tree = t.hdr.tree_id;
    assert_eq!(c.call(command::WRITE, &write_body(f, 3, b"two")).status(), status::SUCCESS);
    let rd = c.call(command::READ, &read_body(f, 0, 100));
    assert_eq!(&rd.body[16..], b"onetwo");
}
