//! Sparse files with real clients on `--root` over tmpfs: smbprotocol sets
//! a file sparse, zeros a range and finds it left out of the allocated
//! ranges; the range is a hole on disk, and an NFS read (libnfs
//! `nfs-cat`) of it gives zeros.

mod common;

use std::os::unix::fs::MetadataExt;
use std::process::Command;
use std::time::Duration;

use common::*;

const USER: &str = "sparse";
const PASS: &str = "Secret-Pw1";

#[test]
fn smbprotocol_zeroes_a_range_of_a_sparse_file_and_nfs_reads_the_hole() {
    require_tool("nfs-cat");
    let root = tmpfs_root("sparse");
    let user = format!("{USER}:{PASS}");
    let srv = ServerProcess::start("tokio_server", &["--root", root.to_str().unwrap(), "--user", &user]);
    let args = [&srv.smb_port.to_string(), USER, PASS, "holes.bin"];
    let o = run(python3().arg(client_script("sparse.py")).args(args), Duration::from_secs(120));
    let out = text(&o);
    assert!(o.status.success() && out.contains("SPARSE OK"), "client failed:\n{out}\nserver log:\n{}", srv.log_text());

    // 256 KiB with a 128 KiB hole: at most 128 KiB of blocks on tmpfs.
    let m = std::fs::metadata(root.join("holes.bin")).unwrap();
    assert_eq!(m.len(), 256 * 1024);
    assert!(m.blocks() * 512 <= 128 * 1024, "{} bytes allocated: no hole on disk", m.blocks() * 512);

    let o = run(Command::new("nfs-cat").arg(srv.nfs_url("/holes.bin")), Duration::from_secs(60));
    assert!(o.status.success(), "nfs-cat: {}", text(&o));
    let k64 = 64 * 1024;
    assert_eq!(o.stdout.len(), 4 * k64);
    assert!(o.stdout[k64..3 * k64].iter().all(|b| *b == 0), "NFS reads the hole as zeros");
    assert!(o.stdout[..k64].iter().chain(&o.stdout[3 * k64..]).all(|b| *b == 0x5a));
    drop(srv);
    let _ = std::fs::remove_dir_all(&root);
}
