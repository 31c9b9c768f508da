//! libnfs-utils (nfs-ls, nfs-cp, nfs-cat) against the example servers, and
//! the same tree seen over both protocols.

mod common;

use std::process::Command;
use std::time::Duration;

use common::*;

fn nfs(tool: &str, args: &[&str]) -> std::process::Output {
    require_tool(tool);
    run(Command::new(tool).args(args), Duration::from_secs(300))
}

fn nfs_session(server: &'static str) {
    let srv = ServerProcess::start(server, &[]);
    let dir = scratch_dir("nfs");
    let src = dir.join("big.bin");
    let back = dir.join("back.bin");
    let data = pattern(50 * 1024 * 1024, 3);
    std::fs::write(&src, &data).unwrap();

    let url = srv.nfs_url("/big.bin");
    let o = nfs("nfs-cp", &[src.to_str().unwrap(), &url]);
    assert!(o.status.success(), "nfs-cp in failed:\n{}\nserver log:\n{}", text(&o), srv.log_text());

    let o = nfs("nfs-cp", &[&url, back.to_str().unwrap()]);
    assert!(o.status.success(), "nfs-cp out failed:\n{}", text(&o));
    assert!(std::fs::read(&back).unwrap() == data, "content differs after nfs-cp out");

    let o = nfs("nfs-ls", &[&srv.nfs_url("/")]);
    assert!(o.status.success(), "nfs-ls failed:\n{}", text(&o));
    let listing = String::from_utf8_lossy(&o.stdout);
    assert!(listing.contains("big.bin") && listing.contains("52428800"), "nfs-ls output:\n{listing}");

    std::fs::write(dir.join("small.txt"), b"small file\n").unwrap();
    let o = nfs("nfs-cp", &[dir.join("small.txt").to_str().unwrap(), &srv.nfs_url("/small.txt")]);
    assert!(o.status.success(), "{}", text(&o));
    let o = nfs("nfs-cat", &[&srv.nfs_url("/small.txt")]);
    assert!(o.status.success(), "nfs-cat failed:\n{}", text(&o));
    assert_eq!(o.stdout, b"small file\n");

    // nfs-cp creates EXCLUSIVE: a second copy onto an existing name fails
    // cleanly, and the existing content is untouched.
    std::fs::write(dir.join("other.txt"), b"other\n").unwrap();
    let o = nfs("nfs-cp", &[dir.join("other.txt").to_str().unwrap(), &srv.nfs_url("/small.txt")]);
    assert!(!o.status.success(), "second nfs-cp onto an existing name succeeded:\n{}", text(&o));
    let o = nfs("nfs-cat", &[&srv.nfs_url("/small.txt")]);
    assert_eq!(o.stdout, b"small file\n", "existing file changed");
    // The server is still serving.
    let o = nfs("nfs-ls", &[&srv.nfs_url("/")]);
    assert!(o.status.success());
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn libnfs_tokio() {
    nfs_session("tokio_server");
}

#[test]
fn libnfs_mio() {
    nfs_session("mio_server");
}

#[test]
fn libnfs_async_std() {
    nfs_session("async_std_server");
}

#[test]
fn libnfs_std() {
    nfs_session("std_server");
}

#[test]
fn same_tree_over_both_protocols() {
    require_tool("smbclient");
    let srv = ServerProcess::start("tokio_server", &[]);
    let dir = scratch_dir("cross");
    std::fs::write(dir.join("from_smb.txt"), b"written over SMB\n").unwrap();
    let o = run(
        Command::new("smbclient")
            .arg("//127.0.0.1/share")
            .args(["-p", &srv.smb_port.to_string(), "-N", "-c"])
            .arg(format!("put {} from_smb.txt", dir.join("from_smb.txt").display())),
        Duration::from_secs(60),
    );
    assert!(o.status.success(), "{}", text(&o));
    let o = nfs("nfs-cat", &[&srv.nfs_url("/from_smb.txt")]);
    assert_eq!(o.stdout, b"written over SMB\n", "{}", text(&o));

    std::fs::write(dir.join("from_nfs.txt"), b"written over NFS\n").unwrap();
    let o = nfs("nfs-cp", &[dir.join("from_nfs.txt").to_str().unwrap(), &srv.nfs_url("/from_nfs.txt")]);
    assert!(o.status.success(), "{}", text(&o));
    let back = dir.join("back.txt");
    let o = run(
        Command::new("smbclient")
            .arg("//127.0.0.1/share")
            .args(["-p", &srv.smb_port.to_string(), "-N", "-c"])
            .arg(format!("get from_nfs.txt {}", back.display())),
        Duration::from_secs(60),
    );
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(std::fs::read(&back).unwrap(), b"written over NFS\n");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn tshark_decodes_an_nfs_session_without_errors() {
    let srv = ServerProcess::start("tokio_server", &[]);
    let cap = Capture::start(srv.nfs_port);
    let dir = scratch_dir("nfscap");
    std::fs::write(dir.join("f.txt"), b"captured\n").unwrap();
    assert!(nfs("nfs-cp", &[dir.join("f.txt").to_str().unwrap(), &srv.nfs_url("/f.txt")]).status.success());
    assert!(nfs("nfs-cat", &[&srv.nfs_url("/f.txt")]).status.success());
    assert!(nfs("nfs-ls", &[&srv.nfs_url("/")]).status.success());
    let lines =
        cap.finish("rpc", &["frame.number", "rpc.procedure", "nfs.status", "_ws.expert.severity", "_ws.malformed"]);
    let nfs_frames = lines.iter().filter(|l| l.split('\t').nth(1).is_some_and(|p| !p.is_empty())).count();
    assert!(nfs_frames >= 10, "tshark saw only {nfs_frames} RPC frames:\n{lines:#?}");
    assert!(
        !lines.iter().any(|l| l.split('\t').nth(4).is_some_and(|m| !m.is_empty())),
        "malformed frames:\n{lines:#?}"
    );
    assert_no_error_severity(&lines, "NFS session");
    let _ = std::fs::remove_dir_all(dir);
}
