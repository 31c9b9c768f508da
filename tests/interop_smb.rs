//! smbclient and Python smbprotocol against the example servers.

mod common;

use std::process::Command;
use std::time::Duration;

use common::*;

const USER: &str = "alice";
const PASS: &str = "Secret-Pw1";

fn assert_ok(o: &std::process::Output, what: &str, srv: &ServerProcess) {
    let t = text(o);
    assert!(o.status.success() && !t.contains("NT_STATUS_"), "{what} failed:\n{t}\nserver log:\n{}", srv.log_text());
}

/// ls, put and get a 50 MiB file (content compared), mkdir, rename, rm and
/// rmdir, for one dialect and one identity.
fn file_round_trip(server: &'static str, auth: &[&str], dialect: Option<&str>) {
    require_tool("smbclient");
    let srv = ServerProcess::start(server, &["--user", &format!("{USER}:{PASS}")]);
    let dir = scratch_dir("smb");
    let src = dir.join("big.bin");
    let back = dir.join("back.bin");
    let data = pattern(50 * 1024 * 1024, 7);
    std::fs::write(&src, &data).unwrap();

    let cmds = format!(
        "put {} big.bin; mkdir sub; rename big.bin sub\\moved.bin; ls; ls sub\\*; get sub\\moved.bin {}",
        src.display(),
        back.display()
    );
    let o = smbclient(&srv, auth, dialect, &cmds);
    assert_ok(&o, "put/mkdir/rename/ls/get", &srv);
    let listing = String::from_utf8_lossy(&o.stdout);
    assert!(listing.contains("sub") && listing.contains("moved.bin"), "listing lacks entries:\n{listing}");
    assert!(listing.contains(&(50 * 1024 * 1024).to_string()), "listing lacks the file size:\n{listing}");
    let got = std::fs::read(&back).unwrap();
    assert!(got == data, "content differs after get ({} bytes back)", got.len());

    let o = smbclient(&srv, auth, dialect, "rm sub\\moved.bin; rmdir sub; ls");
    assert_ok(&o, "rm/rmdir", &srv);
    let listing = String::from_utf8_lossy(&o.stdout);
    assert!(!listing.contains("sub ") && !listing.contains("moved.bin"), "still listed:\n{listing}");
    let _ = std::fs::remove_dir_all(dir);
}

fn guest() -> Vec<&'static str> {
    vec!["-N"]
}

fn user() -> Vec<String> {
    vec!["-U".into(), format!("{USER}%{PASS}")]
}

macro_rules! matrix {
    ($($name:ident: $server:literal, $auth:expr, $dialect:expr;)*) => {$(
        #[test]
        fn $name() {
            let auth: Vec<String> = $auth.into_iter().map(|s| s.to_string()).collect();
            let auth: Vec<&str> = auth.iter().map(|s| s.as_str()).collect();
            file_round_trip($server, &auth, $dialect);
        }
    )*};
}

matrix! {
    tokio_guest_default: "tokio_server", guest(), None;
    tokio_guest_smb2_10: "tokio_server", guest(), Some("SMB2_10");
    tokio_guest_smb3: "tokio_server", guest(), Some("SMB3");
    tokio_user_default: "tokio_server", user(), None;
    tokio_user_smb2_10: "tokio_server", user(), Some("SMB2_10");
    tokio_user_smb3: "tokio_server", user(), Some("SMB3");
    mio_guest_default: "mio_server", guest(), None;
    mio_user_smb3: "mio_server", user(), Some("SMB3");
    async_std_guest_default: "async_std_server", guest(), None;
    async_std_user_smb3: "async_std_server", user(), Some("SMB3");
    std_guest_default: "std_server", guest(), None;
    std_user_smb3: "std_server", user(), Some("SMB3");
}

#[test]
fn wrong_password_is_refused() {
    require_tool("smbclient");
    let srv = ServerProcess::start("tokio_server", &["--user", &format!("{USER}:{PASS}")]);
    let o = smbclient(&srv, &["-U", &format!("{USER}%wrong")], None, "ls");
    let t = text(&o);
    assert!(!o.status.success(), "a wrong password was accepted:\n{t}");
    assert!(t.contains("NT_STATUS_LOGON_FAILURE"), "expected LOGON_FAILURE:\n{t}");
}

#[test]
fn smbprotocol_user_with_signing_required() {
    let srv = ServerProcess::start("tokio_server", &["--user", &format!("{USER}:{PASS}")]);
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/clients/smbprotocol_basic.py");
    let o = run(common::python3().arg(script).args([&srv.smb_port.to_string(), USER, PASS]), Duration::from_secs(120));
    assert!(o.status.success(), "smbprotocol client failed:\n{}\nserver log:\n{}", text(&o), srv.log_text());
    assert!(String::from_utf8_lossy(&o.stdout).contains("SMBPROTOCOL OK"), "{}", text(&o));
}

#[test]
fn tshark_decodes_smb_sessions_without_errors() {
    require_tool("smbclient");
    let srv = ServerProcess::start("tokio_server", &["--user", &format!("{USER}:{PASS}")]);
    let cap = Capture::start(srv.smb_port);
    let dir = scratch_dir("smbcap");
    std::fs::write(dir.join("f.txt"), b"captured over smb\n").unwrap();
    for (auth, dialect) in
        [(vec!["-N"], None), (vec!["-U", "alice%Secret-Pw1"], Some("SMB3")), (vec!["-N"], Some("SMB2_10"))]
    {
        let cmds = format!(
            "put {} f.txt; ls; get f.txt {}; mkdir d; rmdir d; rm f.txt",
            dir.join("f.txt").display(),
            dir.join("g.txt").display()
        );
        let o = smbclient(&srv, &auth, dialect, &cmds);
        assert_ok(&o, "captured session", &srv);
    }
    let lines =
        cap.finish("nbss", &["frame.number", "smb2.cmd", "smb2.nt_status", "_ws.expert.severity", "_ws.malformed"]);
    let smb_frames = lines.iter().filter(|l| l.split('\t').nth(1).is_some_and(|c| !c.is_empty())).count();
    assert!(smb_frames >= 30, "tshark saw only {smb_frames} SMB2 frames:\n{lines:#?}");
    // The SPNEGO negHints of a NegTokenInit2 raise a BER warning (tagged
    // malformed, severity warning) in tshark, as they do for Samba's smbd:
    // any other malformed frame, and any error severity, fails.
    let malformed: Vec<&String> = lines
        .iter()
        .filter(|l| l.split('\t').nth(4).is_some_and(|m| !m.is_empty()))
        .filter(|l| !(l.split('\t').nth(1) == Some("0") && l.split('\t').nth(3) == Some("6291456")))
        .collect();
    assert!(malformed.is_empty(), "malformed frames:\n{malformed:#?}");
    assert_no_error_severity(&lines, "SMB sessions");
    let _ = std::fs::remove_dir_all(dir);
}

/// `smbclient -L` lists the shares over the srvsvc pipe (NetrShareEnum),
/// with the default dialect and SMB3; tshark decodes the DCERPC/SRVSVC
/// frames without error-severity expert items.
#[test]
fn smbclient_lists_shares() {
    require_tool("smbclient");
    let srv = ServerProcess::start("tokio_server", &["--user", &format!("{USER}:{PASS}")]);
    let cap = Capture::start(srv.smb_port);
    for dialect in [None, Some("SMB3")] {
        let mut c = Command::new("smbclient");
        c.args(["-L", "//127.0.0.1", "-p", &srv.smb_port.to_string(), "-U", "guest%"]);
        if let Some(d) = dialect {
            c.args(["-m", d]);
        }
        let o = run(&mut c, Duration::from_secs(120));
        let t = text(&o);
        assert!(o.status.success(), "smbclient -L ({dialect:?}) failed:\n{t}\nserver log:\n{}", srv.log_text());
        let listed = |name: &str, kind: &str| {
            t.lines().any(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                f.first() == Some(&name) && f.get(1) == Some(&kind)
            })
        };
        assert!(listed("share", "Disk"), "share not listed as Disk ({dialect:?}):\n{t}");
        assert!(listed("IPC$", "IPC"), "IPC$ not listed ({dialect:?}):\n{t}");
    }
    let fields = ["frame.number", "dcerpc.pkt_type", "srvsvc.opnum", "_ws.expert.severity", "_ws.malformed"];
    let lines = cap.finish("nbss", &fields);
    let field = |l: &String, i: usize| l.split('\t').nth(i).is_some_and(|c| !c.is_empty());
    let rpc: Vec<&String> = lines.iter().filter(|l| field(l, 1)).collect();
    let srvsvc = lines.iter().filter(|l| field(l, 2)).count();
    // Two sessions, each BIND, BIND_ACK, NetShareEnumAll request and response.
    assert!(rpc.len() >= 8 && srvsvc >= 4, "tshark saw {} DCERPC and {srvsvc} SRVSVC frames:\n{lines:#?}", rpc.len());
    let malformed: Vec<&&String> = rpc.iter().filter(|l| field(l, 4)).collect();
    assert!(malformed.is_empty(), "malformed DCERPC frames:\n{malformed:#?}");
    assert_no_error_severity(&lines, "srvsvc");
}
