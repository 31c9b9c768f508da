//! SIGHUP reloads the configuration without dropping connections (shares on
//! directories and one in memory): a share added is reachable, an in-memory
//! share that stays keeps its files, a share turned read-only keeps its open
//! and refuses its writes (SMB ACCESS_DENIED, NFS3ERR_ROFS), a share removed answers NETWORK_NAME_DELETED to a
//! tree still connected to it (and BAD_NETWORK_NAME to a new connect), the
//! handles of its export answer NFS3ERR_STALE, and an smbprotocol client
//! holding a file open on an unchanged share writes before and after and
//! reads both writes back. SIGTERM then drains and exits 0.

#[path = "../../tests/common/mod.rs"]
mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::nfs_client::NfsClient;
use common::{ServerProcess, lease_holder_as, lease_holder_on, require_tool, run, smbclient_on, text};

const BIN: &str = env!("CARGO_BIN_EXE_polyshare");
const LIMIT: Duration = Duration::from_secs(60);
/// STATUS_NETWORK_NAME_DELETED (MS-ERREF 2.3.1).
const NETWORK_NAME_DELETED: u32 = 0xC000_00C9;
const NFS3ERR_STALE: u32 = 70;
const NFS3ERR_ROFS: u32 = 30;
/// STATUS_ACCESS_DENIED (MS-ERREF 2.3.1).
const ACCESS_DENIED: u32 = 0xC000_0022;
/// STATUS_USER_SESSION_DELETED (MS-ERREF 2.3.1).
const USER_SESSION_DELETED: u32 = 0xC000_0203;

fn shm_dir(tag: &str) -> PathBuf {
    let base = Path::new("/dev/shm");
    let base = if base.is_dir() { base.to_path_buf() } else { std::env::temp_dir() };
    let d = base.join(format!("polyshare-reload-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// One share per name: "mem" in memory, "flip" read-only when its name
/// comes as "flip-ro", every other one on the directory of its name.
fn config(root: &Path, shares: &[&str]) -> String {
    let mut c = String::new();
    for s in shares {
        let storage = match *s {
            "mem" => "memory = true".to_string(),
            "flip-ro" => format!("path = {:?}\nread_only = true", root.join("flip")),
            _ => format!("path = {:?}", root.join(s)),
        };
        let name = s.trim_end_matches("-ro");
        c.push_str(&format!("\n[[share]]\nname = \"{name}\"\n{storage}\nsquash = \"none\"\n"));
    }
    c
}

#[test]
fn sighup_adds_and_removes_shares_and_keeps_the_rest() {
    require_tool("smbclient");
    let dir = shm_dir("hup");
    let root = dir.join("root");
    for d in ["keep", "old", "new", "flip"] {
        std::fs::create_dir_all(root.join(d)).unwrap();
        // Guests (uid 65534) write in the shares.
        std::fs::set_permissions(root.join(d), std::fs::Permissions::from_mode(0o777)).unwrap();
    }
    let file = dir.join("polyshare.toml");
    std::fs::write(&file, config(&root, &["keep", "old", "mem", "flip"])).unwrap();
    let mut srv = ServerProcess::start_exe(
        "polyshare",
        Path::new(BIN),
        &["serve", "--config", file.to_str().unwrap(), "--smb-port", "0", "--nfs-port", "0"],
    );

    // Before: a client holds a file open on "keep" and has written; another
    // has a tree on "old"; an NFS client holds the root handle of "/old".
    let mut keep = lease_holder_on(&srv, "keep", "held.txt", "RWH");
    keep.expect("GRANTED", LIMIT);
    keep.send("append before;");
    assert_eq!(keep.expect("WROTE", LIMIT), ["7"]);
    let mut old = lease_holder_on(&srv, "old", "o.txt", "R");
    old.expect("GRANTED", LIMIT);
    old.send("append x");
    assert_eq!(old.expect("WROTE", LIMIT), ["1"]);
    let mut nfs = NfsClient::connect(srv.nfs_port).unwrap();
    let old_root = nfs.mount("/old").unwrap();
    assert!(nfs.lookup(&old_root, "o.txt").unwrap().is_ok());
    let o = smbclient_on(&srv, "new", &["-N"], Some("SMB3"), "ls");
    assert!(text(&o).contains("NT_STATUS_BAD_NETWORK_NAME"), "{}", text(&o));
    // The in-memory share holds a directory; "flip" is writable, with an open.
    let o = smbclient_on(&srv, "mem", &["-N"], Some("SMB3"), "mkdir in-memory");
    assert!(o.status.success(), "{}", text(&o));
    let mut flip = lease_holder_on(&srv, "flip", "f.txt", "R");
    flip.expect("GRANTED", LIMIT);
    flip.send("append w1");
    assert_eq!(flip.expect("WROTE", LIMIT), ["2"]);
    let flip_root = nfs.mount("/flip").unwrap();

    // "old" goes, "new" comes, "mem" stays, "flip" turns read-only.
    std::fs::write(&file, config(&root, &["new", "keep", "mem", "flip-ro"])).unwrap();
    srv.signal("-HUP");
    // The reload is applied when the new share answers.
    let deadline = Instant::now() + LIMIT;
    loop {
        let o = smbclient_on(&srv, "new", &["-N"], Some("SMB3"), "mkdir made");
        if o.status.success() {
            break;
        }
        assert!(Instant::now() < deadline, "the new share never appeared: {}\n{}", text(&o), srv.log_text());
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(root.join("new/made").is_dir());

    // The removed share: its tree is gone, its export's handles are stale,
    // and it no longer connects or mounts.
    old.send("append y");
    assert_eq!(old.expect("ERROR", LIMIT), [NETWORK_NAME_DELETED.to_string()]);
    assert_eq!(nfs.lookup(&old_root, "o.txt").unwrap(), Err(NFS3ERR_STALE));
    let o = smbclient_on(&srv, "old", &["-N"], Some("SMB3"), "ls");
    assert!(text(&o).contains("NT_STATUS_BAD_NETWORK_NAME"), "{}", text(&o));
    assert!(nfs.mount("/old").is_err());
    let new_root = nfs.mount("/new").unwrap();
    assert!(nfs.lookup(&new_root, "made").unwrap().is_ok());

    // The unchanged share: the same open goes on.
    keep.send("append after");
    assert_eq!(keep.expect("WROTE", LIMIT), ["5"]);
    keep.send("read");
    assert_eq!(keep.expect("DATA", LIMIT), ["before;after"]);
    assert_eq!(std::fs::read(root.join("keep/held.txt")).unwrap(), b"before;after");

    // The in-memory share kept its tree (its storage stayed mounted).
    let o = smbclient_on(&srv, "mem", &["-N"], Some("SMB3"), "ls");
    assert!(o.status.success() && String::from_utf8_lossy(&o.stdout).contains("in-memory"), "{}", text(&o));
    // "flip": the same open, under the new option: reads go on, writes are
    // refused over SMB and NFS.
    flip.send("append w2");
    assert_eq!(flip.expect("ERROR", LIMIT), [ACCESS_DENIED.to_string()]);
    flip.send("read");
    assert_eq!(flip.expect("DATA", LIMIT), ["w1"]);
    let fh = nfs.lookup(&flip_root, "f.txt").unwrap().expect("the export's handles go on");
    assert_eq!(nfs.write(&fh, 0, b"nfs", 2).unwrap().0, NFS3ERR_ROFS);
    assert_eq!(std::fs::read(root.join("flip/f.txt")).unwrap(), b"w1");

    // A bad file is refused and the server goes on with what it has.
    std::fs::write(&file, "[[share]]\nname = \"keep\"\nbogus = 1\n").unwrap();
    srv.signal("-HUP");
    let deadline = Instant::now() + LIMIT;
    while !srv.log_text().contains("configuration not reloaded") {
        assert!(Instant::now() < deadline, "no refusal logged: {}", srv.log_text());
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(srv.log_text().contains("line 3"), "{}", srv.log_text());
    keep.send("read");
    assert_eq!(keep.expect("DATA", LIMIT), ["before;after"]);

    drop((keep, old, flip));
    srv.signal("-TERM");
    let status = srv.wait_exit(LIMIT);
    assert!(status.success(), "exit {status}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `polyshare user add NAME --db DB --stdin` with `password`.
fn user_add(db: &Path, name: &str, password: &str) {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new(BIN)
        .args(["user", "add", name, "--db", db.to_str().unwrap(), "--stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", text(&o));
}

#[test]
fn sighup_ends_the_sessions_of_a_removed_user() {
    let dir = shm_dir("users");
    let root = dir.join("root");
    std::fs::create_dir_all(root.join("keep")).unwrap();
    std::fs::set_permissions(root.join("keep"), std::fs::Permissions::from_mode(0o777)).unwrap();
    let db = dir.join("users");
    user_add(&db, "alice", "alice-pw");
    user_add(&db, "bob", "bob-pw");
    let file = dir.join("polyshare.toml");
    std::fs::write(&file, format!("[server]\nusers = {db:?}\n{}", config(&root, &["keep"]))).unwrap();
    let srv = ServerProcess::start_exe(
        "polyshare",
        Path::new(BIN),
        &["serve", "--config", file.to_str().unwrap(), "--smb-port", "0", "--nfs-port", "0"],
    );
    let mut alice = lease_holder_as(&srv, "keep", "a.txt", "RWH", "alice", "alice-pw");
    alice.expect("GRANTED", LIMIT);
    let mut bob = lease_holder_as(&srv, "keep", "b.txt", "RWH", "bob", "bob-pw");
    bob.expect("GRANTED", LIMIT);
    bob.send("append one");
    assert_eq!(bob.expect("WROTE", LIMIT), ["3"]);

    let o = run(std::process::Command::new(BIN).args(["user", "del", "bob", "--db", db.to_str().unwrap()]), LIMIT);
    assert!(o.status.success(), "{}", text(&o));
    srv.signal("-HUP");
    let deadline = Instant::now() + LIMIT;
    while !srv.log_text().contains("account removed: session ends") {
        assert!(Instant::now() < deadline, "bob's session did not end: {}", srv.log_text());
        std::thread::sleep(Duration::from_millis(50));
    }
    bob.send("append two");
    assert_eq!(bob.expect("ERROR", LIMIT), [USER_SESSION_DELETED.to_string()]);
    alice.send("append still here");
    assert_eq!(alice.expect("WROTE", LIMIT), ["10"]);
    drop((alice, bob, srv));
    std::fs::remove_dir_all(&dir).unwrap();
}
