//! DOS attributes, 8.3 short names and extended attributes with real
//! clients: smbclient and smbprotocol against the tokio example on
//! `--root`, and Samba's smbd on the same tree, so a tree written by one is
//! read by the other with the same attributes (`user.DOSATTRIB` in Samba's
//! layout, core/src/vfs/local/dosattrib.rs; EAs in `user.<NAME>`,
//! core/src/vfs/local/eas.rs).
//! smbd must be installed (scripts/test.sh installs samba); the tests fail,
//! never skip, without it.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

/// Samba's smbd serving `share` as guest on a free port, in its own
/// session; stopped by its PID on drop.
struct Smbd {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl Smbd {
    fn start(share: &Path) -> Self {
        require_tool("smbd");
        let dir = scratch_dir("smbd");
        for sub in ["run", "lock", "state", "cache", "private"] {
            std::fs::create_dir_all(dir.join(sub)).unwrap();
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let d = dir.display();
        let conf = format!(
            "[global]\n server role = standalone server\n map to guest = Bad User\n \
             passdb backend = tdbsam:{d}/private/passdb.tdb\n smb ports = {port}\n bind interfaces only = yes\n \
             interfaces = lo\n pid directory = {d}/run\n lock directory = {d}/lock\n state directory = {d}/state\n \
             cache directory = {d}/cache\n private dir = {d}/private\n ncalrpc dir = {d}/run/ncalrpc\n \
             log file = {d}/log.smbd\n load printers = no\n printing = bsd\n printcap name = /dev/null\n \
             disable spoolss = yes\n kernel oplocks = no\n\
             [share]\n path = {}\n guest ok = yes\n read only = no\n vfs objects = acl_xattr streams_xattr\n",
            share.display()
        );
        std::fs::write(dir.join("smb.conf"), conf).unwrap();
        let child = Command::new("setsid")
            .args(["smbd", "-F", "--no-process-group", "-s"])
            .arg(dir.join("smb.conf"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("cannot start smbd");
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "smbd did not listen on {port}");
            std::thread::sleep(Duration::from_millis(100));
        }
        Smbd { child, port, dir }
    }
}

impl Drop for Smbd {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg(self.child.id().to_string()).status();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// smbclient as guest on `//127.0.0.1/share` at `port`, running `cmds`.
fn smbclient_at(port: u16, cmds: &str) -> String {
    require_tool("smbclient");
    let o = run(
        Command::new("smbclient").arg("//127.0.0.1/share").args(["-p", &port.to_string(), "-U", "guest%", "-c", cmds]),
        Duration::from_secs(60),
    );
    text(&o)
}

/// The `attributes:` line of `allinfo NAME` (e.g. `HA (22)`).
fn attributes(port: u16, name: &str) -> String {
    let out = smbclient_at(port, &format!("allinfo {name}"));
    out.lines()
        .find_map(|l| l.strip_prefix("attributes: "))
        .unwrap_or_else(|| panic!("no attributes for {name}:\n{out}"))
        .trim()
        .to_string()
}

/// The `altname:` line of `allinfo NAME`.
fn altname(port: u16, name: &str) -> String {
    let out = smbclient_at(port, &format!("allinfo {name}"));
    out.lines()
        .find_map(|l| l.strip_prefix("altname: "))
        .unwrap_or_else(|| panic!("no altname for {name}:\n{out}"))
        .trim()
        .to_string()
}

fn local_file(tag: &str, bytes: &[u8]) -> PathBuf {
    let p = scratch_dir(tag).join("data.txt");
    std::fs::write(&p, bytes).unwrap();
    p
}

/// HIDDEN set over SMB survives a restart of polyshare, is stored in
/// `user.DOSATTRIB`, and smbd serving the same tree shows it too.
#[test]
fn hidden_archive_kept_across_restart_and_read_by_smbd() {
    let root = tmpfs_root("dosattr-ps");
    let arg = root.to_str().unwrap().to_string();
    let src = local_file("dosattr", b"hello");
    {
        let srv = ServerProcess::start("tokio_server", &["--root", &arg]);
        let out = smbclient_at(srv.smb_port, &format!("put {} f.txt; setmode f.txt +h", src.display()));
        assert!(!out.contains("NT_STATUS"), "{out}");
        assert_eq!(attributes(srv.smb_port, "f.txt"), "HA (22)");
    }
    let srv = ServerProcess::start("tokio_server", &["--root", &arg]);
    assert_eq!(attributes(srv.smb_port, "f.txt"), "HA (22)", "after a restart");
    drop(srv);
    // Samba's attribute, in Samba's layout: smbd reads it.
    let mut py = python3();
    py.args(["-c", "import os,sys; print(os.getxattr(sys.argv[1], 'user.DOSATTRIB').hex())"]).arg(root.join("f.txt"));
    let o = run(&mut py, Duration::from_secs(30));
    let hex = String::from_utf8_lossy(&o.stdout).trim().to_string();
    // Version 5, valid_flags ATTRIB, attrib 0x22 (HIDDEN | ARCHIVE).
    assert_eq!(hex.get(..32), Some("00000500050000000100000022000000"), "user.DOSATTRIB = {hex}");
    let smbd = Smbd::start(&root);
    assert_eq!(attributes(smbd.port, "f.txt"), "HA (22)", "smbd on the tree polyshare wrote");
    drop(smbd);
    let _ = std::fs::remove_dir_all(&root);
}

/// HIDDEN and SYSTEM set through smbd show in polyshare serving the tree.
#[test]
fn attributes_written_by_smbd_read_by_polyshare() {
    let root = tmpfs_root("dosattr-smbd");
    let src = local_file("dosattr-smbd", b"hello");
    let smbd = Smbd::start(&root);
    let out =
        smbclient_at(smbd.port, &format!("put {} s.txt; setmode s.txt +hs; mkdir d; setmode d +h", src.display()));
    assert!(!out.contains("NT_STATUS"), "{out}");
    assert_eq!(attributes(smbd.port, "s.txt"), "HSA (26)");
    drop(smbd);
    let arg = root.to_str().unwrap().to_string();
    let srv = ServerProcess::start("tokio_server", &["--root", &arg]);
    assert_eq!(attributes(srv.smb_port, "s.txt"), "HSA (26)", "polyshare on the tree smbd wrote");
    assert_eq!(attributes(srv.smb_port, "d"), "HD (12)");
    drop(srv);
    let _ = std::fs::remove_dir_all(&root);
}

/// A long name has a stable 8.3 short name in `allinfo`, and the file
/// opens by it; a name that is 8.3 already is its own.
#[test]
fn short_names_in_allinfo_and_open_by_short_name() {
    let root = tmpfs_root("shortname");
    let arg = root.to_str().unwrap().to_string();
    let src = local_file("shortname", b"short name content");
    let srv = ServerProcess::start("tokio_server", &["--root", &arg]);
    let out =
        smbclient_at(srv.smb_port, &format!("put {} LongFileName.text; put {} a.txt", src.display(), src.display()));
    assert!(!out.contains("NT_STATUS"), "{out}");
    let short = altname(srv.smb_port, "LongFileName.text");
    let (base, ext) = short.split_once('.').unwrap_or_else(|| panic!("{short}"));
    assert!(base.len() == 8 && base.starts_with('L') && &base[6..7] == "~" && ext == "TEX", "{short}");
    assert_eq!(altname(srv.smb_port, "a.txt"), "a.txt");
    // Open by the short name: the same file's content.
    let dst = scratch_dir("shortname-get").join("got.txt");
    let out = smbclient_at(srv.smb_port, &format!("get {short} {}", dst.display()));
    assert!(!out.contains("NT_STATUS"), "{out}");
    assert_eq!(std::fs::read(&dst).unwrap(), b"short name content");
    drop(srv);
    // Stable: the same after a restart.
    let srv = ServerProcess::start("tokio_server", &["--root", &arg]);
    assert_eq!(altname(srv.smb_port, "LongFileName.text"), short);
    drop(srv);
    let _ = std::fs::remove_dir_all(&root);
}

/// `eas.py` (smbprotocol) on `port`: `args` after the port; its standard
/// output.
fn eas_client(port: u16, args: &[&str]) -> String {
    let o = run(python3().arg(client_script("eas.py")).arg(port.to_string()).args(args), Duration::from_secs(60));
    assert!(o.status.success(), "eas.py {args:?} failed:\n{}", text(&o));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The EAs of `name` as `EA=VALUE` lines, sorted, read by smbprotocol.
fn eas(port: u16, name: &str) -> String {
    eas_client(port, &[name, "dump"]).trim().to_string()
}

/// EAs set by smbprotocol through polyshare (one set, replaced in another
/// case, one removed) are kept in `user.<NAME>` as smbd keeps them, the
/// name upper-cased as NTFS keeps it, survive a restart, show in
/// smbclient's `geteas`, and smbd serving the same tree returns them.
#[test]
fn eas_kept_in_user_xattrs_across_restart_and_read_by_smbd() {
    let root = tmpfs_root("eas-ps");
    let arg = root.to_str().unwrap().to_string();
    {
        let srv = ServerProcess::start("tokio_server", &["--root", &arg]);
        let out = eas_client(srv.smb_port, &["f.txt", "set", "Author=polyshare", "Gone=soon", "Mood=old"]);
        assert!(out.contains("SET OK"), "{out}");
        // smbprotocol's removexattr finds the name in the listing, case
        // and all: the listing's, upper-cased as from Windows.
        eas_client(srv.smb_port, &["f.txt", "set", "GONE=", "mood=new"]);
        assert_eq!(eas(srv.smb_port, "f.txt"), "AUTHOR=polyshare\nMOOD=new");
        let out = smbclient_at(srv.smb_port, "geteas f.txt");
        assert!(out.contains("AUTHOR (0) =") && out.contains("MOOD (0) =") && !out.contains("GONE"), "{out}");
    }
    let srv = ServerProcess::start("tokio_server", &["--root", &arg]);
    assert_eq!(eas(srv.smb_port, "f.txt"), "AUTHOR=polyshare\nMOOD=new", "after a restart");
    drop(srv);
    // Samba's layout: the EA NAME is the xattr user.NAME.
    let mut py = python3();
    py.args(["-c", "import os,sys; print(os.getxattr(sys.argv[1], 'user.AUTHOR').decode())"]).arg(root.join("f.txt"));
    let o = run(&mut py, Duration::from_secs(30));
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "polyshare", "{}", text(&o));
    let smbd = Smbd::start(&root);
    assert_eq!(eas(smbd.port, "f.txt"), "AUTHOR=polyshare\nMOOD=new", "smbd on the tree polyshare wrote");
    drop(smbd);
    let _ = std::fs::remove_dir_all(&root);
}

/// EAs set through smbd (which keeps the case a client sent) show in
/// polyshare serving the tree, upper-cased, and polyshare keeps its own
/// attributes (DOS attributes, streams) out of the list. One set again
/// through polyshare is stored upper-cased, its old attribute gone.
#[test]
fn eas_written_by_smbd_read_by_polyshare() {
    let root = tmpfs_root("eas-smbd");
    let smbd = Smbd::start(&root);
    let out = eas_client(smbd.port, &["s.txt", "set", "Origin=smbd", "Second=two"]);
    assert!(out.contains("SET OK"), "{out}");
    let out = smbclient_at(smbd.port, "setmode s.txt +h");
    assert!(!out.contains("NT_STATUS"), "{out}");
    drop(smbd);
    let arg = root.to_str().unwrap().to_string();
    let srv = ServerProcess::start("tokio_server", &["--root", &arg]);
    assert_eq!(eas(srv.smb_port, "s.txt"), "ORIGIN=smbd\nSECOND=two", "polyshare on the tree smbd wrote");
    eas_client(srv.smb_port, &["s.txt", "set", "origin=polyshare"]);
    assert_eq!(eas(srv.smb_port, "s.txt"), "ORIGIN=polyshare\nSECOND=two");
    drop(srv);
    let mut py = python3();
    py.args([
        "-c",
        "import os,sys; print(sorted(n for n in os.listxattr(sys.argv[1]) if n.lower().startswith('user.origin')))",
    ]);
    let o = run(py.arg(root.join("s.txt")), Duration::from_secs(30));
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "['user.ORIGIN']", "{}", text(&o));
    let _ = std::fs::remove_dir_all(&root);
}
