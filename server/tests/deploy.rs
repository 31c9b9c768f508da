//! The `polyshare` binary as an administrator runs it: a configuration file
//! with two shares (one read-only, one refusing guests), a user database
//! built with `polyshare user add`, real clients (smbclient, nfs-ls, nfs-cp)
//! on both; bad configurations refused with their line named; the database
//! holding exactly the NT hash, and never the password.

#[path = "../../tests/common/mod.rs"]
mod common;

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::{ServerProcess, require_tool, run, smbclient_on, text};

const BIN: &str = env!("CARGO_BIN_EXE_polyshare");
const PASSWORD: &str = "S3cret-pässword";

fn polyshare(args: &[&str]) -> Output {
    run(Command::new(BIN).args(args), Duration::from_secs(60))
}

/// A scratch directory on tmpfs.
fn shm_dir(tag: &str) -> PathBuf {
    let base = Path::new("/dev/shm");
    let base = if base.is_dir() { base.to_path_buf() } else { std::env::temp_dir() };
    let d = base.join(format!("polyshare-deploy-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// `polyshare user add NAME --stdin`, checking while it waits for the
/// password that its command line does not hold it, then giving it.
fn user_add(db: &Path, name: &str, password: &str, ids: &[&str]) {
    let mut child = Command::new(BIN)
        .args(["user", "add", name, "--db", db.to_str().unwrap(), "--stdin"])
        .args(ids)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let cmdline = std::fs::read(format!("/proc/{}/cmdline", child.id())).unwrap();
    assert!(!String::from_utf8_lossy(&cmdline).contains(password), "the password is on the command line");
    let ps = run(Command::new("ps").args(["-eo", "args"]), Duration::from_secs(30));
    assert!(!String::from_utf8_lossy(&ps.stdout).contains(password), "ps shows the password");
    writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "user add: {}", text(&out));
}

fn md4_utf16le(password: &str) -> String {
    use md4::{Digest, Md4};
    let utf16: Vec<u8> = password.encode_utf16().flat_map(u16::to_le_bytes).collect();
    Md4::digest(&utf16).iter().map(|b| format!("{b:02x}")).collect()
}

fn nfs(tool: &str, args: &[&str]) -> Output {
    require_tool(tool);
    run(Command::new(tool).args(args), Duration::from_secs(120))
}

#[test]
fn two_shares_a_user_database_and_real_clients() {
    let dir = shm_dir("two");
    let root = dir.join("root");
    std::fs::create_dir_all(root.join("docs")).unwrap();
    std::fs::write(root.join("docs/readme.txt"), b"read me\n").unwrap();
    // alice (uid 1000) owns the tree; guests may read it.
    std::os::unix::fs::chown(&root, Some(1000), Some(1000)).unwrap();
    let docs = root.join("docs");
    let db = dir.join("users");
    user_add(&db, "alice", PASSWORD, &["--uid", "1000", "--gid", "1000", "--groups", "27,100"]);

    // The database: owner-only, exactly MD4(UTF-16LE(password)), and the
    // password in no form.
    let mode = std::fs::metadata(&db).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let stored = std::fs::read(&db).unwrap();
    let stored_text = String::from_utf8(stored.clone()).unwrap();
    let line = stored_text.lines().find(|l| l.starts_with("alice:")).expect("alice's line");
    assert_eq!(line, format!("alice:1000:1000:27,100:{}", md4_utf16le(PASSWORD)));
    let utf16: Vec<u8> = PASSWORD.encode_utf16().flat_map(u16::to_le_bytes).collect();
    let hex: String = PASSWORD.bytes().map(|b| format!("{b:02x}")).collect();
    for form in [PASSWORD.as_bytes(), &utf16, hex.as_bytes()] {
        assert!(!stored.windows(form.len()).any(|w| w == form), "the database holds the password");
    }
    let list = polyshare(&["user", "list", "--db", db.to_str().unwrap()]);
    assert_eq!(String::from_utf8_lossy(&list.stdout), "alice uid=1000 gid=1000 groups=27,100\n", "{}", text(&list));

    let config = dir.join("polyshare.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\nsmb_listen = [\"127.0.0.1:0\"]\nnfs_listen = [\"127.0.0.1:0\"]\nguest = true\n\
             users = {db:?}\n\n\
             [[share]]\nname = \"data\"\nmemory = true\nsquash = \"none\"\n\n\
             [[share]]\nname = \"docs\"\npath = {docs:?}\nread_only = true\nguest_ok = false\n"
        ),
    )
    .unwrap();
    let srv = ServerProcess::start_exe("polyshare", Path::new(BIN), &["serve", "--config", config.to_str().unwrap()]);
    let cmdline = std::fs::read(format!("/proc/{}/cmdline", srv.pid())).unwrap();
    assert!(!String::from_utf8_lossy(&cmdline).contains(PASSWORD));

    let user = format!("alice%{PASSWORD}");
    let auth = ["-U", user.as_str()];
    let local = dir.join("up.txt");
    std::fs::write(&local, b"uploaded over smb\n").unwrap();
    let put = format!("put {} up.txt", local.display());

    // The writable share, as the user and as a guest.
    let o = smbclient_on(&srv, "data", &auth, Some("SMB3"), &format!("{put}; ls"));
    assert!(o.status.success() && String::from_utf8_lossy(&o.stdout).contains("up.txt"), "{}", text(&o));
    // "data" lives in memory: nothing reaches the disk.
    assert!(!root.join("up.txt").exists() && !docs.join("up.txt").exists());
    let back = dir.join("back.txt");
    let o = smbclient_on(&srv, "data", &auth, Some("SMB3"), &format!("get up.txt {}", back.display()));
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(std::fs::read(&back).unwrap(), b"uploaded over smb\n");
    let o = smbclient_on(&srv, "data", &["-N"], Some("SMB3"), "ls");
    assert!(o.status.success() && String::from_utf8_lossy(&o.stdout).contains("up.txt"), "{}", text(&o));

    // The read-only share: readable by the user, not writable, not for guests.
    let got = dir.join("got.txt");
    let o = smbclient_on(&srv, "docs", &auth, Some("SMB3"), &format!("get readme.txt {}", got.display()));
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(std::fs::read(&got).unwrap(), b"read me\n");
    let o = smbclient_on(&srv, "docs", &auth, Some("SMB3"), &put);
    assert!(text(&o).contains("NT_STATUS_ACCESS_DENIED"), "{}", text(&o));
    assert!(!docs.join("up.txt").exists());
    let o = smbclient_on(&srv, "docs", &["-N"], Some("SMB3"), "ls");
    assert!(!o.status.success(), "a guest reached the share that refuses guests: {}", text(&o));
    assert!(text(&o).contains("NT_STATUS_ACCESS_DENIED"), "{}", text(&o));
    // A wrong password is not the user.
    let o = smbclient_on(&srv, "docs", &["-U", "alice%wrong"], Some("SMB3"), "ls");
    assert!(!o.status.success(), "{}", text(&o));

    // NFS: both exports list, the read-only one refuses a write.
    let o = nfs("nfs-ls", &[&srv.nfs_url_on("/data", "/")]);
    assert!(o.status.success() && String::from_utf8_lossy(&o.stdout).contains("up.txt"), "{}", text(&o));
    let o = nfs("nfs-ls", &[&srv.nfs_url_on("/docs", "/")]);
    assert!(o.status.success() && String::from_utf8_lossy(&o.stdout).contains("readme.txt"), "{}", text(&o));
    let o = nfs("nfs-cp", &[local.to_str().unwrap(), &srv.nfs_url_on("/docs", "/nfs.txt")]);
    assert!(!o.status.success(), "nfs-cp wrote to a read-only export: {}", text(&o));
    assert!(!docs.join("nfs.txt").exists());
    let o = nfs("nfs-cp", &[local.to_str().unwrap(), &srv.nfs_url_on("/data", "/nfs.txt")]);
    assert!(o.status.success(), "{}", text(&o));
    let o = nfs("nfs-cat", &[&srv.nfs_url_on("/data", "/nfs.txt")]);
    assert_eq!(o.stdout, b"uploaded over smb\n", "{}", text(&o));

    drop(srv);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_configurations_name_their_line() {
    let dir = shm_dir("bad");
    let cases: [(&str, &str, &str); 6] = [
        ("[server]\nlisten = \"127.0.0.1\"\nlisen = 1\n[[share]]\nname = \"a\"\n", "line 3", "unknown field `lisen`"),
        ("[[share]]\nname = \"a\"\nmemory = true\n\n[[share]]\nname = \"A\"\n", "line 6", "duplicate share \"A\""),
        ("[server]\nsmb_listen = [\"127.0.0.1:445\", \"[::1]:44x5\"]\n", "line 2", "invalid socket address"),
        ("[[share]]\nname = \"a\"\npath = \"/missing\"\n", "line 3", "\"/missing\" is not a directory"),
        ("[[share]]\nname = \"a\"\n", "line 2", "no `path` (or `memory = true`)"),
        ("[storage]\nroot = \"/srv\"\n[[share]]\nname = \"a\"\nmemory = true\n", "line 1", "[storage] is gone"),
    ];
    for (i, (content, line, message)) in cases.iter().enumerate() {
        let file = dir.join(format!("bad{i}.toml"));
        std::fs::write(&file, content).unwrap();
        for args in [&["check-config", file.to_str().unwrap()][..], &["serve", "--config", file.to_str().unwrap()]] {
            let o = polyshare(args);
            let err = String::from_utf8_lossy(&o.stderr);
            assert!(!o.status.success(), "{args:?} accepted {content:?}");
            let first = err.lines().next().unwrap_or_default();
            assert!(first.contains(&format!("bad{i}.toml: {line}: ")) && first.contains(message), "{args:?}: {err}");
        }
    }
    // A good one prints the effective configuration, defaults included.
    let good = dir.join("good.toml");
    std::fs::write(&good, "[[share]]\nname = \"a\"\nmemory = true\nread_only = true\n").unwrap();
    let o = polyshare(&["check-config", good.to_str().unwrap()]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", text(&o));
    for want in [
        "smb_listen = [\"127.0.0.1:445\"]",
        "nfs_listen = [\"127.0.0.1:2049\"]",
        "name = \"a\"",
        "memory = true",
        "export = \"/a\"",
        "read_only = true",
    ] {
        assert!(out.contains(want), "missing {want:?} in:\n{out}");
    }
    // `serve` takes no password on its command line (`ps` would show it).
    let o = polyshare(&["serve", "--smb-port", "0", "--nfs-port", "0", "--user", "bob:pw"]);
    assert!(!o.status.success() && text(&o).contains("user database"), "{}", text(&o));
    // A database others can read is refused, by `user` and by `serve`.
    let db = dir.join("users");
    std::fs::write(&db, "").unwrap();
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
    let o = polyshare(&["user", "list", "--db", db.to_str().unwrap()]);
    assert!(!o.status.success() && text(&o).contains("chmod 600"), "{}", text(&o));
    std::fs::write(&good, format!("[server]\nusers = {db:?}\n[[share]]\nname = \"a\"\nmemory = true\n")).unwrap();
    let o = polyshare(&["serve", "--config", good.to_str().unwrap(), "--smb-port", "0", "--nfs-port", "0"]);
    assert!(!o.status.success() && text(&o).contains("chmod 600"), "{}", text(&o));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn serve_without_a_config_serves_the_tokio_servers_tree() {
    let mut srv = ServerProcess::start_exe(
        "polyshare",
        Path::new(BIN),
        &["serve", "--listen", "127.0.0.1", "--smb-port", "0", "--nfs-port", "0", "--share", "mem"],
    );
    let o = smbclient_on(&srv, "mem", &["-N"], Some("SMB3"), "mkdir made; ls");
    assert!(o.status.success() && String::from_utf8_lossy(&o.stdout).contains("made"), "{}", text(&o));
    let o = nfs("nfs-ls", &[&srv.nfs_url_on("/mem", "/")]);
    assert!(o.status.success() && String::from_utf8_lossy(&o.stdout).contains("made"), "{}", text(&o));
    // SIGTERM drains and exits 0.
    srv.signal("-TERM");
    let status = srv.wait_exit(Duration::from_secs(20));
    assert!(status.success(), "exit {status}");
}
