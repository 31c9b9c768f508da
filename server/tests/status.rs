//! `polyshare status --json` over the owner-only control socket: an
//! smbprotocol session holding an RWH lease, and, while nfs-cat waits behind
//! the break of that lease, the parked NFS call and what it waits for.

#[path = "../../tests/common/mod.rs"]
mod common;

use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::{ServerProcess, lease_holder_on, require_tool, run, text};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_polyshare");
const T: Duration = Duration::from_secs(30);

fn status(config: &Path) -> Value {
    let o = run(Command::new(BIN).args(["status", "--json", "--config", config.to_str().unwrap()]), T);
    assert!(o.status.success(), "{}", text(&o));
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&o)))
}

#[test]
fn status_shows_the_session_the_lease_and_the_parked_nfs_call() {
    require_tool("nfs-cat");
    let dir: PathBuf = std::env::temp_dir().join(format!("polyshare-status-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let socket = dir.join("control.sock");
    let config = dir.join("polyshare.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\ncontrol_socket = {socket:?}\nbreak_timeout = 60\n\n[[share]]\nname = \"share\"\nmemory = true\n"
        ),
    )
    .unwrap();
    let mut srv = ServerProcess::start_exe(
        "polyshare",
        Path::new(BIN),
        &["serve", "--config", config.to_str().unwrap(), "--smb-port", "0", "--nfs-port", "0"],
    );
    let meta = std::fs::symlink_metadata(&socket).unwrap();
    assert!(meta.file_type().is_socket());
    assert_eq!(meta.permissions().mode() & 0o777, 0o600, "the control socket is owner-only");

    let mut a = lease_holder_on(&srv, "share", "held.txt", "RWH");
    assert_eq!(a.expect("GRANTED ", T)[0], "7");
    a.send("write cached-by-smb");
    a.expect("WROTE", T);

    let s = status(&config);
    let sessions = s["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 1, "{s:#}");
    let session = &sessions[0];
    assert_eq!((session["user"].as_str(), session["dialect"].as_str()), (Some("guest"), Some("3.1.1")), "{s:#}");
    assert_eq!(session["signing"], false, "a guest session has no key: {s:#}");
    assert_eq!(session["trees"][0]["share"], "share", "{s:#}");
    let channels = session["channels"].as_array().unwrap();
    assert_eq!(channels.len(), 1, "one channel, the connection that set it up: {s:#}");
    assert_eq!(
        (channels[0]["client"].as_str(), channels[0]["bound"].as_bool()),
        (session["client"].as_str(), Some(true)),
        "{s:#}"
    );
    let open = &session["opens"][0];
    assert_eq!((open["lease"].as_str(), open["breaking"].as_bool()), (Some("RWH"), Some(false)), "{s:#}");
    assert_eq!((open["share"].as_str(), open["path"].as_str()), (Some("share"), Some("held.txt")), "{s:#}");
    // A guest session has no key: nothing is encrypted, whatever cipher the
    // connection negotiated.
    assert_eq!(session["encryption"], false, "{s:#}");
    assert!(session["cipher"].is_null() || session["cipher"].as_str().is_some_and(|c| c.starts_with("AES-")), "{s:#}");
    assert_eq!(s["parked"].as_array().map(Vec::len), Some(0), "{s:#}");

    // nfs-cat's READ breaks the lease's W and waits for the acknowledgment.
    let url = srv.nfs_url("/held.txt");
    let cat = std::thread::spawn(move || run(Command::new("nfs-cat").arg(url), Duration::from_secs(120)));
    a.send("wait 20");
    a.expect("BREAK ", T);
    let deadline = Instant::now() + T;
    let s = loop {
        let s = status(&config);
        if s["parked"].as_array().is_some_and(|p| !p.is_empty()) {
            break s;
        }
        assert!(Instant::now() < deadline, "no parked call shown: {s:#}");
        std::thread::sleep(Duration::from_millis(50));
    };
    let parked = &s["parked"][0];
    assert_eq!(parked["procedure"], "READ", "{s:#}");
    let wait = &parked["waits_on"][0];
    assert!(wait["holder"].as_str().is_some_and(|h| h.starts_with("lease ")), "{s:#}");
    assert_eq!((wait["holds"].as_str(), wait["must_lose"].as_str()), (Some("RWH"), Some("W")), "{s:#}");
    assert_eq!(wait["breaking"], true, "{s:#}");
    assert_eq!(s["sessions"][0]["opens"][0]["breaking"], true, "{s:#}");
    assert_eq!(s["nfs_clients"][0]["parked"], 1, "{s:#}");
    // The text form names the same.
    let o = run(Command::new(BIN).args(["status", "--socket", socket.to_str().unwrap()]), T);
    let shown = String::from_utf8_lossy(&o.stdout);
    assert!(shown.contains("user=guest") && shown.contains("lease=RWH") && shown.contains(" READ"), "{shown}");
    assert!(shown.contains("dialect=3.1.1 signing=false encryption=false cipher="), "{shown}");
    assert!(shown.contains(" share\\held.txt tree="), "{shown}");

    a.send("ack RH");
    assert_eq!(a.expect("ACKED ", T)[0], "0");
    let o = cat.join().unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(o.stdout, b"cached-by-smb");
    let s = status(&config);
    assert_eq!(s["parked"].as_array().map(Vec::len), Some(0), "{s:#}");
    assert_eq!(s["sessions"][0]["opens"][0]["lease"], "RH", "{s:#}");

    // Another uid is refused: by the socket's mode, and by the server itself
    // when the mode lets it connect.
    require_tool("setpriv");
    let as_nobody = || {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups", BIN, "status", "--socket"]).arg(&socket);
        run(&mut c, T)
    };
    let o = as_nobody();
    assert!(!o.status.success() && text(&o).contains("ermission denied"), "{}", text(&o));
    std::fs::set_permissions(&socket, std::fs::Permissions::from_mode(0o666)).unwrap();
    let o = as_nobody();
    assert!(!o.status.success() && o.stdout.is_empty(), "{}", text(&o));
    assert!(srv.log_text().contains("control socket: peer refused"), "{}", srv.log_text());

    drop(a);
    srv.signal("-TERM");
    assert!(srv.wait_exit(T).success());
    assert!(!socket.exists(), "the socket is removed at exit");
    std::fs::remove_dir_all(&dir).unwrap();
}
