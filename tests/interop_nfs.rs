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
    let o = smbclient(&srv, &["-N"], None, &format!("put {} from_smb.txt", dir.join("from_smb.txt").display()));
    assert!(o.status.success(), "{}", text(&o));
    let o = nfs("nfs-cat", &[&srv.nfs_url("/from_smb.txt")]);
    assert_eq!(o.stdout, b"written over SMB\n", "{}", text(&o));

    std::fs::write(dir.join("from_nfs.txt"), b"written over NFS\n").unwrap();
    let o = nfs("nfs-cp", &[dir.join("from_nfs.txt").to_str().unwrap(), &srv.nfs_url("/from_nfs.txt")]);
    assert!(o.status.success(), "{}", text(&o));
    let back = dir.join("back.txt");
    let o = smbclient(&srv, &["-N"], None, &format!("get from_nfs.txt {}", back.display()));
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

/// Opens `n` NFS connections that send nothing; once the server has closed
/// the `refused` ones past its NFS cap (and no others), returns the rest.
fn idle_nfs_sockets(srv: &ServerProcess, n: usize, refused: usize) -> Vec<std::net::TcpStream> {
    use std::io::{ErrorKind, Read};
    let mut socks: Vec<_> = (0..n)
        .map(|i| {
            let s = std::net::TcpStream::connect(("127.0.0.1", srv.nfs_port))
                .unwrap_or_else(|e| panic!("connection {i}: {e}"));
            s.set_nonblocking(true).unwrap();
            s
        })
        .collect();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let mut closed = vec![false; n];
    loop {
        for (s, c) in socks.iter_mut().zip(closed.iter_mut()) {
            if !*c {
                let mut b = [0u8; 1];
                *c = match s.read(&mut b) {
                    Ok(0) => true,
                    Err(e) if e.kind() == ErrorKind::WouldBlock => false,
                    Err(e) if e.kind() == ErrorKind::ConnectionReset => true,
                    other => panic!("an idle connection read {other:?}"),
                };
            }
        }
        let gone = closed.iter().filter(|c| **c).count();
        if gone == refused {
            // Settled: wait a little and make sure no more go.
            std::thread::sleep(Duration::from_millis(500));
            let mut b = [0u8; 1];
            let mut still = 0;
            for (s, c) in socks.iter_mut().zip(&closed) {
                if !*c && matches!(s.read(&mut b), Err(e) if e.kind() == ErrorKind::WouldBlock) {
                    still += 1;
                }
            }
            assert_eq!(still, n - refused, "idle connections closed although under the cap");
            break;
        }
        assert!(gone < refused, "{gone} connections closed, expected {refused}:\n{}", srv.log_text());
        assert!(std::time::Instant::now() < deadline, "{gone} of {refused} refused connections closed in time");
        std::thread::sleep(Duration::from_millis(100));
    }
    socks.into_iter().zip(closed).filter(|(_, c)| !c).map(|(s, _)| s).collect()
}

/// An RPC NULL call to NFS on `s`, answered (the held connection is served).
fn nfs_null(s: &mut std::net::TcpStream) {
    use std::io::{Read, Write};
    s.set_nonblocking(false).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut call = vec![0x80, 0, 0, 40];
    for word in [0x1234_5678u32, 0, 2, 100_003, 3, 0, 0, 0, 0, 0] {
        call.extend_from_slice(&word.to_be_bytes());
    }
    s.write_all(&call).unwrap();
    let mut reply = [0u8; 8];
    s.read_exact(&mut reply).unwrap();
    assert_eq!(reply[4..8], 0x1234_5678u32.to_be_bytes(), "the reply's xid");
}

fn smb_lists_the_share(srv: &ServerProcess) {
    require_tool("smbclient");
    let o = smbclient(srv, &["-N"], None, "ls");
    let t = text(&o);
    assert!(o.status.success() && !t.contains("NT_STATUS_"), "smbclient failed:\n{t}\nserver log:\n{}", srv.log_text());
    assert!(String::from_utf8_lossy(&o.stdout).contains("marker.txt"), "listing:\n{t}");
}

/// A file for the listing, put over SMB (an NFS client's connection could
/// still count against the NFS cap when the idle ones arrive).
fn put_marker(srv: &ServerProcess) {
    require_tool("smbclient");
    let dir = scratch_dir("caps");
    std::fs::write(dir.join("marker.txt"), b"here\n").unwrap();
    let o = smbclient(srv, &["-N"], None, &format!("put {} marker.txt", dir.join("marker.txt").display()));
    assert!(o.status.success(), "{}", text(&o));
    let _ = std::fs::remove_dir_all(dir);
}

/// Raises this process's soft descriptor limit (the server child inherits
/// it) so that `need` sockets fit on each side; a hard limit below that is a
/// machine this test cannot run on, and it says so.
fn raise_nofile(need: u64) {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
    assert!(hard >= need, "RLIMIT_NOFILE hard limit {hard} < {need}: raise it (ulimit -Hn) to run this test");
    if soft < need {
        setrlimit(Resource::RLIMIT_NOFILE, need, hard).unwrap();
    }
}

// 1,100 idle NFS connections against the default NFS cap of 1,024: the 76
// past it are refused (closed at once), the rest stay open and served, and
// SMB, counted apart, still takes a client that lists the share.
#[test]
fn idle_nfs_connections_at_the_cap_leave_smb_alone() {
    raise_nofile(4096);
    let srv = ServerProcess::start("tokio_server", &[]);
    put_marker(&srv);
    let mut held = idle_nfs_sockets(&srv, 1100, 1100 - 1024);
    assert_eq!(held.len(), 1024);
    nfs_null(&mut held[0]);
    smb_lists_the_share(&srv);
    assert!(srv.log_text().contains("refusing connection"), "the refusals are logged");
}

// With the NFS cap raised past them, all 1,100 stay open, and SMB still
// takes a client.
#[test]
fn idle_nfs_connections_under_a_raised_cap_leave_smb_alone() {
    raise_nofile(4096);
    let srv = ServerProcess::start("tokio_server", &["--max-nfs-connections", "1200"]);
    put_marker(&srv);
    let mut held = idle_nfs_sockets(&srv, 1100, 0);
    assert_eq!(held.len(), 1100);
    nfs_null(&mut held[1099]);
    smb_lists_the_share(&srv);
}
