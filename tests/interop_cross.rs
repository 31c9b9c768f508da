//! Cross-protocol coherence with real clients: NFS operations break SMB
//! leases held by Python smbprotocol and wait for them.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::nfs_client::{FILE_SYNC, NFS_PROG, NfsClient};
use common::*;

const T: Duration = Duration::from_secs(30);

fn nfs_overwrite_waits_for_the_smb_ack(server: &'static str) {
    let srv = ServerProcess::start(server, &[]);
    // The NFS client (root, squashed to nobody) creates the file so that it
    // may write it; the SMB client then opens it with a lease.
    let mut nfs = NfsClient::connect(srv.nfs_port).unwrap();
    let root = nfs.mount("/share").unwrap();
    let fh = nfs.create(&root, "x.txt").unwrap().expect("x.txt created");
    let mut a = lease_holder(&srv, "x.txt", "RWH", "v2", "3.1.1");
    assert_eq!(a.expect("GRANTED ", T)[0], "7");
    a.send("write smb-data");
    a.expect("WROTE", T);

    let xid = nfs.send_call(NFS_PROG, 3, 7, &NfsClient::write_args(&fh, 0, b"nfs-data", FILE_SYNC)).unwrap();

    a.send("wait 20");
    let brk = a.expect("BREAK ", T);
    assert_eq!((brk[0].as_str(), brk[1].as_str(), brk[2].as_str()), ("7", "0", "1"), "RWH->NONE with ack: {brk:?}");
    // No NFS reply while the break is outstanding.
    nfs.set_read_timeout(Some(Duration::from_millis(1500)));
    assert!(nfs.recv_reply().is_err(), "the NFS WRITE completed before the SMB client acked");
    nfs.set_read_timeout(Some(T));
    a.send("ack -");
    assert_eq!(a.expect("ACKED ", T)[0], "0");
    let (rxid, accept, body) = nfs.recv_reply().unwrap();
    assert_eq!((rxid, accept), (xid, 0));
    assert_eq!(NfsClient::parse_write(&body), (0, 8), "WRITE succeeded in full");
    let (status, data, _) = nfs.read(&fh, 0, 100).unwrap();
    assert_eq!((status, data.as_slice()), (0, &b"nfs-data"[..]), "the final content is the NFS client's");
}

#[test]
fn nfs_cat_breaks_rwh_to_rh_and_completes_after_the_ack() {
    require_tool("nfs-cat");
    let srv = ServerProcess::start("tokio_server", &[]);
    let mut a = lease_holder(&srv, "y.txt", "RWH", "v2", "3.1.1");
    assert_eq!(a.expect("GRANTED ", T)[0], "7");
    a.send("write cached-by-smb");
    a.expect("WROTE", T);
    let url = srv.nfs_url("/y.txt");
    let cat = std::thread::spawn(move || run(Command::new("nfs-cat").arg(url), Duration::from_secs(120)));
    a.send("wait 20");
    let brk = a.expect("BREAK ", T);
    assert_eq!((brk[0].as_str(), brk[1].as_str()), ("7", "3"), "RWH->RH: {brk:?}");
    std::thread::sleep(Duration::from_millis(1000));
    assert!(!cat.is_finished(), "nfs-cat finished before the ack");
    a.send("ack RH");
    assert_eq!(a.expect("ACKED ", T)[0], "0");
    let o = cat.join().unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(o.stdout, b"cached-by-smb", "nfs-cat sees what the SMB client wrote before acking");
}

#[test]
fn unacknowledged_break_times_out_and_the_nfs_write_lands() {
    let srv = ServerProcess::start("tokio_server", &["--break-timeout", "2"]);
    let mut nfs = NfsClient::connect(srv.nfs_port).unwrap();
    let root = nfs.mount("/share").unwrap();
    let fh = nfs.create(&root, "z.txt").unwrap().expect("z.txt created");
    let mut a = lease_holder(&srv, "z.txt", "RWH", "v2", "3.1.1");
    assert_eq!(a.expect("GRANTED ", T)[0], "7");
    let sent = Instant::now();
    let xid = nfs.send_call(NFS_PROG, 3, 7, &NfsClient::write_args(&fh, 0, b"late", FILE_SYNC)).unwrap();
    a.send("wait 20");
    assert_eq!(a.expect("BREAK ", T)[..2], ["7".to_string(), "0".to_string()]);
    let (rxid, _, body) = nfs.recv_reply().unwrap();
    assert_eq!(rxid, xid);
    assert_eq!(NfsClient::parse_write(&body).0, 0);
    assert!(sent.elapsed() >= Duration::from_millis(1900), "the write waited for the break timeout");
    // The lease is gone: a late ack is refused with STATUS_UNSUCCESSFUL.
    a.send("ack -");
    assert_eq!(a.expect("ACKED ", T)[0], (0xC000_0001u32).to_string());
}

#[test]
fn tokio_nfs_overwrite_waits_for_the_smb_ack() {
    nfs_overwrite_waits_for_the_smb_ack("tokio_server");
}

#[test]
fn mio_nfs_overwrite_waits_for_the_smb_ack() {
    nfs_overwrite_waits_for_the_smb_ack("mio_server");
}

#[test]
fn async_std_nfs_overwrite_waits_for_the_smb_ack() {
    nfs_overwrite_waits_for_the_smb_ack("async_std_server");
}

#[test]
fn std_nfs_overwrite_waits_for_the_smb_ack() {
    nfs_overwrite_waits_for_the_smb_ack("std_server");
}

/// Reads lines from `w` until one equals `want`; the lines skipped.
fn wait_for_line(w: &mut Scripted, want: &str) -> Vec<String> {
    let deadline = Instant::now() + T;
    let mut skipped = Vec::new();
    while Instant::now() < deadline {
        match w.try_line(Duration::from_millis(200)) {
            Some(l) if l.trim() == want => return skipped,
            Some(l) => skipped.push(l),
            None => {}
        }
    }
    panic!("no line {want:?} within {T:?}; saw {skipped:?}");
}

/// CHANGE_NOTIFY with a stock client: `smbclient -c notify` watching the
/// share root prints what NFS (nfs-cp) and another SMB client add, rename
/// and remove there (actions 1 added, 2 removed, 4/5 renamed old/new).
#[test]
fn smbclient_notify_reports_nfs_and_smb_changes() {
    require_tool("smbclient");
    require_tool("nfs-cp");
    require_tool("stdbuf");
    let srv = ServerProcess::start("tokio_server", &[]);
    let port = srv.smb_port.to_string();
    let smb = ["//127.0.0.1/share", "-p", port.as_str(), "-U", "guest%"];
    let mut w =
        Scripted::spawn(Command::new("stdbuf").args(["-oL", "smbclient"]).args(smb).args(["-c", "notify \"\""]));
    let src = scratch_dir("notify").join("f.txt");
    std::fs::write(&src, b"hello").unwrap();
    let nfs_cp = |name: &str| {
        let o = run(Command::new("nfs-cp").arg(&src).arg(srv.nfs_url(&format!("/{name}"))), T);
        assert!(o.status.success(), "nfs-cp {name}: {}", text(&o));
    };
    // The watch exists once smbclient's first CHANGE_NOTIFY has arrived:
    // until a change is reported, make new ones.
    let mut started = false;
    for i in 0..50 {
        nfs_cp(&format!("probe-{i}.txt"));
        if let Some(l) = w.try_line(Duration::from_millis(300)) {
            assert!(l.starts_with("0001 probe-"), "first report {l:?}");
            started = true;
            break;
        }
    }
    assert!(started, "smbclient notify reported nothing");
    nfs_cp("from-nfs.txt");
    wait_for_line(&mut w, "0001 from-nfs.txt");
    let o =
        run(Command::new("smbclient").args(smb).args(["-c", "rename from-nfs.txt renamed.txt; del renamed.txt"]), T);
    assert!(o.status.success(), "{}", text(&o));
    wait_for_line(&mut w, "0004 from-nfs.txt");
    let skipped = wait_for_line(&mut w, "0005 renamed.txt");
    assert!(skipped.is_empty(), "old name then new name: {skipped:?}");
    wait_for_line(&mut w, "0002 renamed.txt");
}

/// A directory lease held by smbprotocol: `nfs-cp` creating a file in the
/// directory breaks RH to NONE, and the NFS CREATE completes only after the
/// ack (docs/LEASES.md "Directory leases").
#[test]
fn nfs_cp_into_a_leased_directory_completes_after_the_ack() {
    require_tool("nfs-cp");
    let srv = ServerProcess::start("tokio_server", &[]);
    // The SMB client creates the directory (OPEN_IF) and leases it.
    let mut a = lease_holder_of(&srv, "d", "RWH", "v2", "3.1.1", "dir");
    assert_eq!(a.expect("GRANTED ", T)[0], "3", "a directory gets RH");
    let src = scratch_dir("dirlease").join("f.txt");
    std::fs::write(&src, b"hello").unwrap();
    let url = srv.nfs_url("/d/f.txt");
    let cp = std::thread::spawn(move || run(Command::new("nfs-cp").arg(&src).arg(url), Duration::from_secs(120)));
    a.send("wait 20");
    let brk = a.expect("BREAK ", T);
    assert_eq!((brk[0].as_str(), brk[1].as_str(), brk[2].as_str()), ("3", "0", "1"), "RH->NONE with ack: {brk:?}");
    std::thread::sleep(Duration::from_millis(1000));
    assert!(!cp.is_finished(), "nfs-cp finished before the ack");
    a.send("ack -");
    assert_eq!(a.expect("ACKED ", T)[0], "0");
    let o = cp.join().unwrap();
    assert!(o.status.success(), "{}", text(&o));
}

/// An smbprotocol open of `path` sharing read and write but not delete,
/// with a read lease (nothing to break).
fn open_without_share_delete(srv: &ServerProcess, path: &str) -> Scripted {
    let script = client_script("lease_holder.py");
    let port = srv.smb_port.to_string();
    Scripted::spawn(python3().arg(script).args([&port, path, "R", "v2", "3.1.1", "-", "-", "file", "sharemode=RW"]))
}

/// An NFS RENAME and REMOVE of a file an SMB client holds open without
/// FILE_SHARE_DELETE fail while the open lasts (NFS3ERR_ACCES on a `wait`
/// export, NFS3ERR_JUKEBOX on a `jukebox` one) and succeed after its close
/// (docs/WINDOWS-SEMANTICS.md "Share modes and NFS").
fn nfs_rename_waits_for_an_smb_open_without_share_delete(policy: &str, refused: u32) {
    let srv = ServerProcess::start("tokio_server", &["--nfs-policy", policy]);
    let mut nfs = NfsClient::connect(srv.nfs_port).unwrap();
    let root = nfs.mount("/share").unwrap();
    nfs.create(&root, "held.txt").unwrap().expect("held.txt created");
    nfs.create(&root, "other.txt").unwrap().expect("other.txt created");
    let mut a = open_without_share_delete(&srv, "held.txt");
    a.expect("GRANTED ", T);
    assert_eq!(nfs.rename(&root, "held.txt", &root, "moved.txt").unwrap(), refused, "RENAME while open");
    assert_eq!(nfs.rename(&root, "other.txt", &root, "held.txt").unwrap(), refused, "RENAME onto it");
    assert_eq!(nfs.remove(&root, "held.txt").unwrap(), refused, "REMOVE while open");
    assert!(nfs.lookup(&root, "held.txt").unwrap().is_ok() && nfs.lookup(&root, "moved.txt").unwrap().is_err());
    a.send("close");
    a.expect("CLOSED", T);
    assert_eq!(nfs.rename(&root, "held.txt", &root, "moved.txt").unwrap(), 0, "RENAME after the close");
    assert!(nfs.lookup(&root, "moved.txt").unwrap().is_ok() && nfs.lookup(&root, "held.txt").unwrap().is_err());
}

#[test]
fn nfs_rename_fails_while_an_smb_open_denies_delete_wait_export() {
    nfs_rename_waits_for_an_smb_open_without_share_delete("wait", 13);
}

#[test]
fn nfs_rename_fails_while_an_smb_open_denies_delete_jukebox_export() {
    nfs_rename_waits_for_an_smb_open_without_share_delete("jukebox", 10008);
}

/// A file's stream held open over SMB without FILE_SHARE_DELETE holds the
/// file against an NFS REMOVE and RENAME, and a file held open below a
/// directory holds the directory against an NFS RENAME, whatever that open
/// shares (MS-FSA 2.1.5.1.2.1, 2.1.5.15.12; docs/WINDOWS-SEMANTICS.md
/// "Share modes and NFS"); both go through after the SMB close.
#[test]
fn nfs_remove_and_directory_rename_meet_smb_opens_of_streams_and_children() {
    let srv = ServerProcess::start("tokio_server", &["--nfs-policy", "wait"]);
    let mut nfs = NfsClient::connect(srv.nfs_port).unwrap();
    let root = nfs.mount("/share").unwrap();
    nfs.create(&root, "held.txt").unwrap().expect("held.txt created");
    let mut s = open_without_share_delete(&srv, "held.txt:meta");
    s.expect("GRANTED ", T);
    assert_eq!(nfs.remove(&root, "held.txt").unwrap(), 13, "REMOVE while its stream is open");
    assert_eq!(nfs.rename(&root, "held.txt", &root, "moved.txt").unwrap(), 13, "RENAME while its stream is open");
    s.send("close");
    s.expect("CLOSED", T);
    assert_eq!(nfs.remove(&root, "held.txt").unwrap(), 0, "REMOVE after the close");

    let script = client_script("lease_holder.py");
    let port = srv.smb_port.to_string();
    let mut d = Scripted::spawn(python3().arg(&script).args([&port, "sub", "R", "v2", "3.1.1", "-", "-", "dir"]));
    d.expect("GRANTED ", T);
    d.send("close");
    d.expect("CLOSED", T);
    let mut f =
        Scripted::spawn(python3().arg(&script).args([&port, "sub\\inner.txt", "R", "v2", "3.1.1", "-", "-", "file"]));
    f.expect("GRANTED ", T);
    assert_eq!(nfs.rename(&root, "sub", &root, "sub2").unwrap(), 13, "RENAME of a directory with an open below");
    f.send("close");
    f.expect("CLOSED", T);
    assert_eq!(nfs.rename(&root, "sub", &root, "sub2").unwrap(), 0, "RENAME after the close");
    assert!(nfs.lookup(&root, "sub2").unwrap().is_ok());
}
