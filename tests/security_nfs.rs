//! Access control over NFS against `tokio_server --root` on a tmpfs
//! directory: libnfs (nfs-cat, nfs-cp, nfs-ls with `?uid=N&gid=N` AUTH_SYS
//! credentials) and, for overwriting an existing file in place (nfs-cp
//! only creates EXCLUSIVE), the test client's WRITE with AUTH_SYS. The
//! server runs as root, so the decision is the server's own check
//! (core/src/access.rs), shared with SMB.

mod common;

use std::process::Command;
use std::time::Duration;

use common::nfs_client::NfsClient;
use common::*;

const ALICE: u32 = 1000;
const BOB: u32 = 2000;
/// NFS3ERR_ACCES (RFC 1813 2.6).
const ACCES: u32 = 13;

/// The libnfs URL of `path` with AUTH_SYS uid and gid `uid`.
fn url_as(srv: &ServerProcess, path: &str, uid: u32) -> String {
    format!("{}&uid={uid}&gid={uid}", srv.nfs_url(path))
}

fn libnfs(tool: &str, args: &[&str]) -> std::process::Output {
    require_tool(tool);
    run(Command::new(tool).args(args), Duration::from_secs(60))
}

#[test]
fn only_the_owner_reads_and_writes_a_0600_file() {
    let root = tmpfs_root("owner");
    let secret = owned_file(&root, "secret.txt", b"alice's original bytes", ALICE, 0o600);
    let srv = ServerProcess::start("tokio_server", &["--root", root.to_str().unwrap()]);

    let o = libnfs("nfs-cat", &[&url_as(&srv, "/secret.txt", ALICE)]);
    assert!(o.status.success(), "nfs-cat as the owner:\n{}", text(&o));
    assert_eq!(o.stdout, b"alice's original bytes");
    let o = libnfs("nfs-cat", &[&url_as(&srv, "/secret.txt", BOB)]);
    assert!(!o.status.success() && o.stdout.is_empty(), "nfs-cat as another uid read it:\n{}", text(&o));

    // Overwrite in place with WRITE: refused to another uid and to the
    // squashed root, done for the owner.
    for (uid, want) in [(BOB, ACCES), (0, ACCES), (ALICE, 0)] {
        let mut c = NfsClient::connect(srv.nfs_port).unwrap().with_uid(uid);
        let dir = c.mount("/share").unwrap();
        let fh = c.lookup(&dir, "secret.txt").unwrap().expect("secret.txt");
        let (status, _) = c.write(&fh, 0, b"OVERWRITTEN BY", 2).unwrap();
        assert_eq!(status, want, "WRITE as uid {uid}");
        let mut expect = b"alice's original bytes".to_vec();
        if want == 0 {
            expect[..14].copy_from_slice(b"OVERWRITTEN BY");
        }
        assert_eq!(std::fs::read(&secret).unwrap(), expect, "after WRITE as uid {uid}");
    }
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn nfs_created_files_belong_to_the_caller_and_smb_users_share_the_rules() {
    require_tool("nfs-ls");
    let root = tmpfs_root("creator");
    let srv =
        ServerProcess::start("tokio_server", &["--root", root.to_str().unwrap(), "--user", "alice:Pw1:1000:1000"]);
    let src = scratch_dir("secnfs").join("f");
    std::fs::write(&src, b"from nfs").unwrap();
    let o = libnfs("nfs-cp", &[src.to_str().unwrap(), &url_as(&srv, "/by_alice_nfs.txt", ALICE)]);
    assert!(o.status.success(), "nfs-cp as alice:\n{}", text(&o));
    let o = libnfs("nfs-ls", &[&srv.nfs_url("/")]);
    let listing = String::from_utf8_lossy(&o.stdout).to_string();
    let line = listing.lines().find(|l| l.ends_with("by_alice_nfs.txt")).unwrap_or_else(|| panic!("{listing}"));
    assert_eq!(line.split_whitespace().nth(2), Some("1000"), "{listing}");

    // What alice created over SMB (0664, hers) another NFS uid may read and
    // not write; alice over NFS may.
    let o = smbclient(&srv, &["-U", "alice%Pw1"], Some("SMB3"), &format!("put {} by_alice_smb.txt", src.display()));
    assert!(o.status.success(), "smbclient put as alice:\n{}", text(&o));
    for (uid, want) in [(BOB, ACCES), (ALICE, 0)] {
        let mut c = NfsClient::connect(srv.nfs_port).unwrap().with_uid(uid);
        let dir = c.mount("/share").unwrap();
        let fh = c.lookup(&dir, "by_alice_smb.txt").unwrap().expect("by_alice_smb.txt");
        assert_eq!(c.write(&fh, 0, b"X", 2).unwrap().0, want, "WRITE as uid {uid}");
    }
    assert_eq!(std::fs::read(root.join("by_alice_smb.txt")).unwrap(), b"Xrom nfs");
    let _ = std::fs::remove_dir_all(&root);
}

/// A kept DACL changes nothing NFS sees or may do
/// (docs/WINDOWS-SEMANTICS.md "NFS"): smbprotocol sets on alice's 0666
/// file a DACL denying her FILE_WRITE_DATA (her SMB write open is then
/// refused); over NFS the mode still decides: nfs-ls shows 0666 and
/// alice's WRITE and nfs-cat succeed.
#[test]
fn a_kept_dacl_changes_nothing_nfs_sees() {
    let root = tmpfs_root("dacl-nfs");
    let f = owned_file(&root, "denied.txt", b"kept bytes", ALICE, 0o666);
    let srv =
        ServerProcess::start("tokio_server", &["--root", root.to_str().unwrap(), "--user", "alice:Secret1:1000:1000"]);
    let o = run(
        python3().arg(client_script("dacl_deny.py")).args([
            &srv.smb_port.to_string(),
            "alice",
            "Secret1",
            "denied.txt",
            &ALICE.to_string(),
            "set",
        ]),
        Duration::from_secs(120),
    );
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(out.contains("SET 0x00000000") && out.contains("WRITE_OPEN 0xc0000022"), "{}", text(&o));

    let o = libnfs("nfs-ls", &[&url_as(&srv, "/", ALICE)]);
    let listing = String::from_utf8_lossy(&o.stdout).to_string();
    let line = listing.lines().find(|l| l.contains("denied.txt")).unwrap_or_else(|| panic!("{}", text(&o)));
    assert!(line.contains("-rw-rw-rw-"), "nfs-ls shows the mode: {line}");
    let mut c = NfsClient::connect(srv.nfs_port).unwrap().with_uid(ALICE);
    let dir = c.mount("/share").unwrap();
    let fh = c.lookup(&dir, "denied.txt").unwrap().expect("denied.txt");
    let (status, _) = c.write(&fh, 0, b"KEPT", 2).unwrap();
    assert_eq!(status, 0, "the DACL's deny does not reach NFS");
    let o = libnfs("nfs-cat", &[&url_as(&srv, "/denied.txt", ALICE)]);
    assert_eq!(o.stdout, b"KEPT bytes", "{}", text(&o));
    assert_eq!(std::fs::read(&f).unwrap(), b"KEPT bytes");
    let _ = std::fs::remove_dir_all(&root);
}
