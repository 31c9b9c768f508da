//! Access control over SMB with smbclient, against `tokio_server --root` on
//! a tmpfs directory (LocalFs). The server runs as root here, so the test
//! gives files to other uids with chown, and what decides is the server's
//! own check (core/src/access.rs, core/src/smb/access.rs), not the kernel's.
//!
//! Statuses are those Samba's smbd 4.17 answers in the same configuration
//! (docs/SECURITY.md "Compared with smbd").

mod common;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::*;

/// alice's Unix ids, given with `--user alice:Secret1:1000:1000`.
const ALICE: u32 = 1000;
const ALICE_USER: &str = "alice:Secret1:1000:1000";
const AS_ALICE: &[&str] = &["-U", "alice%Secret1"];
const AS_GUEST: &[&str] = &["-N"];

/// A local file to upload.
fn local(tag: &str, bytes: &[u8]) -> PathBuf {
    let p = scratch_dir(tag).join("upload");
    std::fs::write(&p, bytes).unwrap();
    p
}

fn put(srv: &ServerProcess, auth: &[&str], from: &Path, to: &str) -> std::process::Output {
    smbclient(srv, auth, Some("SMB3"), &format!("put {} {to}", from.display()))
}

fn out(o: &std::process::Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

/// smbclient reports a failed command on its output and (for -c) in its
/// exit status.
fn assert_denied(o: &std::process::Output, status: &str, what: &str) {
    assert!(out(o).contains(status), "{what}: expected {status}:\n{}", text(o));
}

fn assert_ok(o: &std::process::Output, what: &str) {
    assert!(o.status.success() && !out(o).contains("NT_STATUS_"), "{what} failed:\n{}", text(o));
}

#[test]
fn guest_cannot_overwrite_another_users_0600_file_and_its_owner_can() {
    let root = tmpfs_root("owner");
    let secret = owned_file(&root, "secret.txt", b"alice's original bytes", ALICE, 0o600);
    let srv = ServerProcess::start("tokio_server", &["--root", root.to_str().unwrap(), "--user", ALICE_USER]);

    let o = put(&srv, AS_GUEST, &local("guest", b"guest was here"), "secret.txt");
    assert_denied(&o, "NT_STATUS_ACCESS_DENIED", "guest overwrite of a 0600 file of uid 1000");
    assert_eq!(std::fs::read(&secret).unwrap(), b"alice's original bytes", "the guest changed the bytes");
    // Nor may the guest read it.
    let o = smbclient(&srv, AS_GUEST, Some("SMB3"), "get secret.txt /dev/null");
    assert_denied(&o, "NT_STATUS_ACCESS_DENIED", "guest read of a 0600 file of uid 1000");

    let o = put(&srv, AS_ALICE, &local("alice", b"alice rewrote it"), "secret.txt");
    assert_ok(&o, "alice's overwrite of her own 0600 file");
    assert_eq!(std::fs::read(&secret).unwrap(), b"alice rewrote it");
    let _ = std::fs::remove_dir_all(&root);
}

/// A path through a directory the caller may not search (no x for it) is
/// refused, as a POSIX path walk refuses it, even where the file at its end
/// is open to everyone.
#[test]
fn a_directory_without_search_permission_hides_what_is_in_it() {
    let root = tmpfs_root("search");
    let private = root.join("private");
    std::fs::create_dir(&private).unwrap();
    owned_file(&private, "open.txt", b"readable by all", ALICE, 0o666);
    std::os::unix::fs::chown(&private, Some(ALICE), Some(ALICE)).unwrap();
    std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o700)).unwrap();
    let srv = ServerProcess::start("tokio_server", &["--root", root.to_str().unwrap(), "--user", ALICE_USER]);

    let o = smbclient(&srv, AS_GUEST, Some("SMB3"), "get private\\open.txt /dev/null");
    assert_denied(&o, "NT_STATUS_ACCESS_DENIED", "guest read through alice's 0700 directory");
    let o = put(&srv, AS_GUEST, &local("search", b"guest was here"), "private\\open.txt");
    assert_denied(&o, "NT_STATUS_ACCESS_DENIED", "guest write through alice's 0700 directory");
    assert_eq!(std::fs::read(private.join("open.txt")).unwrap(), b"readable by all");

    let o = smbclient(&srv, AS_ALICE, Some("SMB3"), "get private\\open.txt /dev/null");
    assert_ok(&o, "alice's read in her own directory");
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn files_alice_puts_belong_to_her_as_nfs_ls_shows() {
    require_tool("nfs-ls");
    let root = tmpfs_root("creator");
    let srv = ServerProcess::start("tokio_server", &["--root", root.to_str().unwrap(), "--user", ALICE_USER]);
    let o = put(&srv, AS_ALICE, &local("new", b"new file"), "by_alice.txt");
    assert_ok(&o, "alice's put of a new file");
    let o = put(&srv, AS_GUEST, &local("newg", b"guest file"), "by_guest.txt");
    assert_ok(&o, "a guest's put of a new file");

    let o = run(Command::new("nfs-ls").args([&srv.nfs_url("/")]), Duration::from_secs(60));
    assert!(o.status.success(), "nfs-ls failed:\n{}", text(&o));
    let listing = String::from_utf8_lossy(&o.stdout).to_string();
    // nfs-ls lists mode, links, uid, gid, size, name.
    let owner_of = |name: &str| -> (String, String, String) {
        let line = listing.lines().find(|l| l.ends_with(name)).unwrap_or_else(|| panic!("{name} in:\n{listing}"));
        let f: Vec<&str> = line.split_whitespace().collect();
        (f[0].to_string(), f[2].to_string(), f[3].to_string())
    };
    // The share's create mask (0664) and the creator's uid and primary gid.
    assert_eq!(owner_of("by_alice.txt"), ("-rw-rw-r--".into(), "1000".into(), "1000".into()), "{listing}");
    assert_eq!(owner_of("by_guest.txt"), ("-rw-rw-r--".into(), "65534".into(), "65534".into()), "{listing}");
    assert_eq!(std::fs::metadata(root.join("by_alice.txt")).unwrap().uid(), ALICE);
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn readonly_attribute_set_over_smb_refuses_a_write_open() {
    let root = tmpfs_root("readonly");
    let f = owned_file(&root, "ro.txt", b"keep me", ALICE, 0o644);
    // admin is uid 0, which the mode bits do not stop: only READONLY does.
    let args = ["--root", root.to_str().unwrap(), "--user", ALICE_USER, "--user", "admin:Admin1:0:0"];
    let srv = ServerProcess::start("tokio_server", &args);
    let o = smbclient(&srv, AS_ALICE, Some("SMB3"), "setmode ro.txt +r");
    assert_ok(&o, "setmode +r by the owner");
    assert_eq!(std::fs::metadata(&f).unwrap().mode() & 0o222, 0, "READONLY clears the write bits");
    // MS-FSA 2.1.5.1.2.1: a write open of a READONLY file is refused,
    // its owner's and root's too.
    let o = put(&srv, AS_ALICE, &local("ro", b"overwritten"), "ro.txt");
    assert_denied(&o, "NT_STATUS_ACCESS_DENIED", "write open of a READONLY file");
    let o = put(&srv, &["-U", "admin%Admin1"], &local("ro0", b"overwritten"), "ro.txt");
    assert_denied(&o, "NT_STATUS_ACCESS_DENIED", "write open of a READONLY file by uid 0");
    assert_eq!(std::fs::read(&f).unwrap(), b"keep me");
    // Only the owner may change the attribute: a guest may not clear it.
    let o = smbclient(&srv, AS_GUEST, Some("SMB3"), "setmode ro.txt -r");
    assert_denied(&o, "NT_STATUS_ACCESS_DENIED", "a guest clearing READONLY on alice's file");
    let o = smbclient(&srv, AS_ALICE, Some("SMB3"), "setmode ro.txt -r");
    assert_ok(&o, "setmode -r by the owner");
    assert_ok(&put(&srv, AS_ALICE, &local("rw", b"overwritten"), "ro.txt"), "write once READONLY is cleared");
    assert_eq!(std::fs::read(&f).unwrap(), b"overwritten");
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn read_only_share_refuses_writes_to_everyone() {
    let root = tmpfs_root("roshare");
    // Modes that let everyone write: what refuses is the share.
    let f = owned_file(&root, "mine.txt", b"as it was", ALICE, 0o666);
    let args = ["--root", root.to_str().unwrap(), "--user", ALICE_USER, "--read-only"];
    let srv = ServerProcess::start("tokio_server", &args);
    for (who, auth) in [("alice", AS_ALICE), ("guest", AS_GUEST)] {
        let o = put(&srv, auth, &local("ro1", b"changed"), "mine.txt");
        assert_denied(&o, "NT_STATUS_ACCESS_DENIED", &format!("{who}: overwrite on a read-only share"));
        let o = put(&srv, auth, &local("ro2", b"new"), "new.txt");
        assert_denied(&o, "NT_STATUS_ACCESS_DENIED", &format!("{who}: create on a read-only share"));
    }
    assert_eq!(std::fs::read(&f).unwrap(), b"as it was");
    assert!(!root.join("new.txt").exists());
    // Reading still works.
    assert_ok(&smbclient(&srv, AS_ALICE, Some("SMB3"), "get mine.txt /dev/null"), "read on a read-only share");
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn guest_read_only_share_refuses_guest_writes_only() {
    let root = tmpfs_root("guestro");
    let args = ["--root", root.to_str().unwrap(), "--user", ALICE_USER, "--guest-read-only"];
    let srv = ServerProcess::start("tokio_server", &args);
    let o = put(&srv, AS_GUEST, &local("g", b"guest"), "guest.txt");
    assert_denied(&o, "NT_STATUS_ACCESS_DENIED", "guest create on a guest-read-only share");
    assert!(!root.join("guest.txt").exists());
    assert_ok(&put(&srv, AS_ALICE, &local("a", b"alice"), "alice.txt"), "alice's create on a guest-read-only share");
    // A file whose mode lets everyone write: what refuses the guest is the share.
    let open = owned_file(&root, "open.txt", b"anyone may write", ALICE, 0o666);
    let o = put(&srv, AS_GUEST, &local("g2", b"guest"), "open.txt");
    assert_denied(&o, "NT_STATUS_ACCESS_DENIED", "guest overwrite on a guest-read-only share");
    assert_eq!(std::fs::read(&open).unwrap(), b"anyone may write");
    assert_ok(&smbclient(&srv, AS_GUEST, Some("SMB3"), "get open.txt /dev/null"), "guest read");
    assert_ok(&put(&srv, AS_ALICE, &local("a2", b"alice"), "open.txt"), "alice's overwrite");
    let _ = std::fs::remove_dir_all(&root);
}

/// SET_INFO of security descriptors (smbprotocol; docs/SECURITY.md): a DACL
/// of allow ACEs for owner and group becomes the mode; what does not map
/// is refused with STATUS_NOT_SUPPORTED and changes nothing; chown is
/// root's: alice may not give her file away, uid 0 may.
#[test]
fn security_descriptors_set_what_maps_keep_the_rest_and_refuse_a_sacl() {
    let root = tmpfs_root("sd");
    let f = owned_file(&root, "acl.txt", b"x", ALICE, 0o666);
    let args = ["--root", root.to_str().unwrap(), "--user", ALICE_USER, "--user", "admin:Admin1:0:0"];
    let srv = ServerProcess::start("tokio_server", &args);
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/clients/set_security.py");
    let sets = |user: &str, pw: &str| {
        let o = run(
            common::python3().arg(script).args([&srv.smb_port.to_string(), user, pw, "acl.txt", "1000", "1000"]),
            Duration::from_secs(120),
        );
        assert!(String::from_utf8_lossy(&o.stdout).contains("SET_SECURITY DONE"), "{}", text(&o));
        String::from_utf8_lossy(&o.stdout).to_string()
    };
    let out = sets("alice", "Secret1");
    let status =
        |what: &str| out.lines().find_map(|l| l.strip_prefix(&format!("{what} "))).unwrap_or("missing").to_string();
    assert_eq!(status("dacl_0740"), "0x00000000", "{out}");
    // DACLs that do not map to a mode are kept as they are (the mode stays;
    // security_dacl_* below show what they do); a SACL is refused.
    for kept in ["deny_ace", "other_sid", "inheritable"] {
        assert_eq!(status(kept), "0x00000000", "{kept} is kept:\n{out}");
    }
    assert_eq!(status("sacl"), "0xc00000bb", "a SACL is STATUS_NOT_SUPPORTED:\n{out}");
    assert_eq!(status("chown_2000"), "0xc0000022", "alice's chown is STATUS_ACCESS_DENIED:\n{out}");
    let m = std::fs::metadata(&f).unwrap();
    assert_eq!((m.mode() & 0o7777, m.uid()), (0o740, ALICE), "the DACL set the mode, nothing else changed it");

    let out = sets("admin", "Admin1");
    assert!(out.contains("chown_2000 0x00000000"), "uid 0 may chown:\n{out}");
    assert_eq!(std::fs::metadata(&f).unwrap().uid(), 2000);
    let _ = std::fs::remove_dir_all(&root);
}

/// smbprotocol sets on alice's file a DACL that denies alice FILE_WRITE_DATA
/// and allows Everyone all: her open for write is then ACCESS_DENIED (the
/// mode, 0666, would allow it), smbclient's upload too, a read open is
/// not; the descriptor reads back as set, the mode is unchanged, and all
/// of it holds after a restart on the same `--root`.
#[test]
fn security_dacl_deny_ace_refuses_a_write_open_and_survives_a_restart() {
    let root = tmpfs_root("dacl");
    let f = owned_file(&root, "denied.txt", b"kept", ALICE, 0o666);
    let args = ["--root", root.to_str().unwrap(), "--user", ALICE_USER];
    let script = client_script("dacl_deny.py");
    let steps = |srv: &ServerProcess, mode: &str| {
        let port = srv.smb_port.to_string();
        let o = run(
            python3().arg(&script).args([&port, "alice", "Secret1", "denied.txt", &ALICE.to_string(), mode]),
            Duration::from_secs(120),
        );
        let out = String::from_utf8_lossy(&o.stdout).to_string();
        assert!(out.contains("DACL DONE"), "{}", text(&o));
        out
    };
    let line = |out: &str, what: &str| {
        out.lines().find_map(|l| l.strip_prefix(&format!("{what} "))).unwrap_or("missing").to_string()
    };
    // The DACL as set: revision 2, two ACEs; a deny of 0x6 for
    // S-1-22-1-1000, an allow of 0x1F01FF for S-1-1-0.
    let dacl = concat!(
        "02003400020000000100180006000000010200000000001601000000e8030000",
        "00001400ff011f00010100000000000100000000"
    );

    let srv = ServerProcess::start("tokio_server", &args);
    let out = steps(&srv, "set");
    assert_eq!(line(&out, "SET"), "0x00000000", "{out}");
    let sd = line(&out, "SD");
    assert!(sd.ends_with(dacl), "the DACL reads back as set:\n{out}");
    assert_eq!(&sd[..8], "01000480", "self-relative, DACL present:\n{out}");
    assert_eq!(line(&out, "WRITE_OPEN"), "0xc0000022", "the deny ACE refuses the write open:\n{out}");
    assert_eq!(line(&out, "READ_OPEN"), "0x00000000", "{out}");
    let o = put(&srv, AS_ALICE, &local("dacl", b"overwritten"), "denied.txt");
    assert_denied(&o, "NT_STATUS_ACCESS_DENIED", "smbclient upload over a write-denying DACL");
    assert_eq!(std::fs::read(&f).unwrap(), b"kept");
    assert_eq!(std::fs::metadata(&f).unwrap().mode() & 0o777, 0o666, "the mode NFS sees is unchanged");
    drop(srv);

    let srv = ServerProcess::start("tokio_server", &args);
    let out = steps(&srv, "check");
    assert_eq!(line(&out, "SD"), sd, "the same descriptor after a restart:\n{out}");
    assert_eq!(line(&out, "WRITE_OPEN"), "0xc0000022", "{out}");
    assert_eq!(line(&out, "READ_OPEN"), "0x00000000", "{out}");
    let _ = std::fs::remove_dir_all(&root);
}
