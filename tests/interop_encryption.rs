//! SMB 3 encryption with real clients against the example servers:
//! smbclient `--client-protection=encrypt` on SMB 3.0, 3.0.2 and 3.1.1,
//! Python smbprotocol with `require_encryption=True`, clients that cannot
//! encrypt refused as smbd refuses them, and tshark dissecting a capture
//! (transform headers as they are, the commands inside with the session's
//! keys).

mod common;

use std::process::Command;
use std::time::Duration;

use common::*;

const USER: &str = "alice";
const PASS: &str = "Secret-Pw1";

fn user_arg() -> String {
    format!("{USER}:{PASS}")
}

fn smbclient_as(srv: &ServerProcess, auth: &[&str], dialect: Option<&str>, extra: &[&str], cmds: &str) -> String {
    require_tool("smbclient");
    let mut c = Command::new("smbclient");
    c.arg("//127.0.0.1/share").args(["-p", &srv.smb_port.to_string()]).args(auth).args(extra);
    if let Some(d) = dialect {
        c.args(["-m", d]);
    }
    c.args(["-c", cmds]);
    text(&run(&mut c, Duration::from_secs(300)))
}

/// put and get of 50 MiB through a sealed session, compared byte for
/// byte, on a server that requires encryption (so nothing else would do).
fn sealed_round_trip(server: &'static str, dialect: Option<&str>) {
    let srv = ServerProcess::start(server, &["--user", &user_arg(), "--require-encryption"]);
    let dir = scratch_dir("seal");
    let (src, back) = (dir.join("big.bin"), dir.join("back.bin"));
    let data = pattern(50 * 1024 * 1024, 11);
    std::fs::write(&src, &data).unwrap();
    let cmds = format!("put {} big.bin; ls; get big.bin {}", src.display(), back.display());
    let auth = ["-U", &format!("{USER}%{PASS}")];
    let t = smbclient_as(&srv, &auth, dialect, &["--client-protection=encrypt"], &cmds);
    assert!(t.starts_with("status exit status: 0") && !t.contains("NT_STATUS_"), "{t}\nlog:\n{}", srv.log_text());
    assert!(t.contains(&(50 * 1024 * 1024).to_string()), "listing lacks the file size:\n{t}");
    let got = std::fs::read(&back).unwrap();
    assert!(got == data, "content differs after get ({} bytes back)", got.len());
    let _ = std::fs::remove_dir_all(dir);
}

macro_rules! sealed_matrix {
    ($($name:ident: $server:literal, $dialect:expr;)*) => {$(
        #[test]
        fn $name() {
            sealed_round_trip($server, $dialect);
        }
    )*};
}

sealed_matrix! {
    tokio_smb3_00: "tokio_server", Some("SMB3_00");
    tokio_smb3_02: "tokio_server", Some("SMB3_02");
    tokio_smb3_11: "tokio_server", None;
    mio_smb3_00: "mio_server", Some("SMB3_00");
    mio_smb3_02: "mio_server", Some("SMB3_02");
    mio_smb3_11: "mio_server", None;
    async_std_smb3_00: "async_std_server", Some("SMB3_00");
    async_std_smb3_02: "async_std_server", Some("SMB3_02");
    async_std_smb3_11: "async_std_server", None;
}

/// Each 3.1.1 cipher, chosen by the client (`client smb3 encryption
/// algorithms`), moves a file both ways; tshark's dissection of the
/// NEGOTIATE response says which cipher the server chose.
#[test]
fn every_cipher_with_smbclient() {
    let srv = ServerProcess::start("tokio_server", &["--user", &user_arg(), "--require-encryption"]);
    let cap = Capture::start(srv.smb_port);
    let dir = scratch_dir("ciphers");
    let data = pattern(3 * 1024 * 1024 + 17, 5);
    std::fs::write(dir.join("in.bin"), &data).unwrap();
    let auth = ["-U", &format!("{USER}%{PASS}")];
    for alg in ["aes-128-ccm", "aes-128-gcm", "aes-256-ccm", "aes-256-gcm"] {
        let opt = format!("--option=client smb3 encryption algorithms={alg}");
        let back = dir.join(format!("{alg}.bin"));
        let cmds = format!("put {} {alg}.bin; get {alg}.bin {}", dir.join("in.bin").display(), back.display());
        let t = smbclient_as(&srv, &auth, None, &["--client-protection=encrypt", &opt], &cmds);
        assert!(t.starts_with("status exit status: 0") && !t.contains("NT_STATUS_"), "{alg}: {t}");
        assert!(std::fs::read(&back).unwrap() == data, "{alg}: content differs");
    }
    let lines = cap.finish("nbss", &["smb2.cmd", "smb2.flags.response", "smb2.negotiate_context.cipher_id"]);
    let chosen: Vec<&str> = lines
        .iter()
        .filter_map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (f.first() == Some(&"0") && f.get(1) == Some(&"1")).then(|| f.get(2).copied().unwrap_or(""))
        })
        .collect();
    assert_eq!(chosen, ["0x0001", "0x0002", "0x0003", "0x0004"], "ciphers the server chose:\n{lines:#?}");
    let _ = std::fs::remove_dir_all(dir);
}

/// On each example server, with encryption required globally, by the
/// share, or by nobody (the client asks for it).
#[test]
fn smbprotocol_with_require_encryption_writes_reads_and_lists() {
    let configs = [vec!["--require-encryption"], vec!["--encrypt-share"], vec![]];
    for (server, args) in
        ["tokio_server", "mio_server", "async_std_server"].into_iter().flat_map(|s| configs.iter().map(move |a| (s, a)))
    {
        let ua = user_arg();
        let mut all = vec!["--user", &ua];
        all.extend(args.iter());
        let srv = ServerProcess::start(server, &all);
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/clients/smbprotocol_encrypted.py");
        let o = run(
            python3().arg(script).args([&srv.smb_port.to_string(), USER, PASS, "encrypted"]),
            Duration::from_secs(120),
        );
        let t = text(&o);
        assert!(o.status.success() && t.contains("ENCRYPTED OK"), "{server} {args:?}: {t}\nlog:\n{}", srv.log_text());
    }
}

/// Clients that cannot encrypt get what smbd 4.17 answers in the same
/// configuration (checked beside it): with `server smb encrypt =
/// required` SESSION_SETUP fails with ACCESS_DENIED (users on SMB 2.1,
/// guests on any dialect); with the share's `smb encrypt = required`
/// TREE_CONNECT does.
#[test]
fn clients_that_cannot_encrypt_are_refused_as_by_smbd() {
    let auth = ["-U", &format!("{USER}%{PASS}")];
    for (flag, stage) in [("--require-encryption", "session setup"), ("--encrypt-share", "tree connect")] {
        let srv = ServerProcess::start("tokio_server", &["--user", &user_arg(), flag]);
        let t = smbclient_as(&srv, &auth, Some("SMB2_10"), &[], "ls");
        assert!(t.contains(&format!("{stage} failed: NT_STATUS_ACCESS_DENIED")), "{flag} SMB2_10 user:\n{t}");
        let t = smbclient_as(&srv, &["-N"], Some("SMB3"), &[], "ls");
        assert!(t.contains(&format!("{stage} failed: NT_STATUS_ACCESS_DENIED")), "{flag} SMB3 guest:\n{t}");
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/clients/smbprotocol_encrypted.py");
        let o =
            run(python3().arg(script).args([&srv.smb_port.to_string(), USER, PASS, "clear"]), Duration::from_secs(120));
        assert!(text(&o).contains("REFUSED 0xc0000022"), "{flag} smbprotocol on SMB 2.1:\n{}", text(&o));
        // The same user on 3.x, encrypting, is served.
        let t = smbclient_as(&srv, &auth, Some("SMB3"), &[], "ls");
        assert!(t.starts_with("status exit status: 0") && !t.contains("NT_STATUS_"), "{flag} SMB3 user:\n{t}");
    }
}

/// tshark decodes the transform headers of an encrypted session with no
/// error; given the keys the server exported (`--session-key-log`, a
/// test-only option) it decrypts and dissects the commands inside.
#[test]
fn tshark_decodes_and_decrypts_an_encrypted_session() {
    let keys = scratch_dir("seskeys").join("keys.txt");
    let log = keys.to_str().unwrap();
    let srv = ServerProcess::start("tokio_server", &["--user", &user_arg(), "--session-key-log", log]);
    let cap = Capture::start(srv.smb_port);
    let dir = scratch_dir("sealcap");
    std::fs::write(dir.join("f.txt"), b"sealed over smb\n").unwrap();
    let cmds =
        format!("put {} f.txt; ls; get f.txt {}; rm f.txt", dir.join("f.txt").display(), dir.join("g.txt").display());
    let auth = ["-U", &format!("{USER}%{PASS}")];
    let t = smbclient_as(&srv, &auth, None, &["--client-protection=encrypt"], &cmds);
    assert!(t.starts_with("status exit status: 0"), "{t}");
    let line = std::fs::read_to_string(&keys).expect("the session's keys were exported");
    let pref = format!("uat:smb2_seskey_list:{}", line.lines().next().unwrap().trim());
    let fields = ["smb2.protocol_id", "smb2.cmd", "smb2.nt_status", "_ws.expert.severity", "_ws.malformed"];
    // Read twice from one capture: without the keys, then with them.
    let mut runs = cap.finish_each("nbss", &[&[], &[&pref]], &fields);
    let lines = runs.pop().unwrap();
    let opaque = runs.pop().unwrap();
    assert!(opaque.iter().any(|l| l == "0xfd534d42\t\t\t\t"), "undecrypted TRANSFORM frames:\n{opaque:#?}");
    assert!(!opaque.iter().any(|l| l.starts_with("0xfd534d42,")), "decrypted without keys?\n{opaque:#?}");
    assert_no_error_severity(&opaque, "encrypted session without keys");
    let sealed = lines.iter().filter(|l| l.starts_with("0xfd534d42")).count();
    assert!(sealed >= 10, "few TRANSFORM frames:\n{lines:#?}");
    let inner: Vec<&String> = lines.iter().filter(|l| l.starts_with("0xfd534d42,0xfe534d42")).collect();
    assert_eq!(inner.len(), sealed, "every TRANSFORM frame decrypted:\n{lines:#?}");
    for cmd in ["\t5\t", "\t8\t", "\t9\t", "\t14\t"] {
        assert!(inner.iter().any(|l| l.contains(cmd)), "no decrypted command {cmd:?}:\n{lines:#?}");
    }
    assert_no_error_severity(&lines, "encrypted session");
    let malformed: Vec<&String> =
        lines.iter().filter(|l| l.starts_with("0xfd") && l.split('\t').nth(4).is_some_and(|m| !m.is_empty())).collect();
    assert!(malformed.is_empty(), "malformed sealed frames:\n{malformed:#?}");
    let _ = std::fs::remove_dir_all(dir);
}
