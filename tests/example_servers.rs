//! The example servers as processes: each prints its LISTENING line, records
//! with `--record`, and on SIGTERM / SIGINT shuts down cleanly (exit status
//! 0) with the recording flushed, which then replays through a fresh Server
//! built from the same command line into the bytes the client received; and
//! that command line (server/src/cli.rs) parses as documented; and no
//! log line, at any level, names the seed or the entropy.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use clap::Parser;
use polyshare::config::{NfsBreakPolicy, NtHash};
use polyshare::record::{Event, Recording};
use polyshare::{MemoryFs, Output, Seed};
use polyshare_server::cli::Args;

/// Starts `example` with `args` (logging at warn, stdout piped) and waits
/// for its LISTENING line: the child and its SMB and NFS ports.
fn spawn_listening<I, S>(example: &'static str, args: I) -> (std::process::Child, u16, u16)
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    spawn_logging(example, args, Stdio::null())
}

/// [`spawn_listening`] with the log (stderr) going to `log`.
fn spawn_logging<I, S>(example: &'static str, args: I, log: Stdio) -> (std::process::Child, u16, u16)
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let mut child = Command::new(common::example_path(example))
        .args(args)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .expect("start the example");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = lines.find_map(|l| l.ok().filter(|l| l.starts_with("LISTENING"))).expect("LISTENING line");
    let port = |key: &str| -> u16 {
        line.split_whitespace().find_map(|kv| kv.strip_prefix(key)).and_then(|p| p.parse().ok()).expect(key)
    };
    let (smb_port, nfs_port) = (port("smb="), port("nfs="));
    assert!(smb_port != 0 && nfs_port != 0);
    (child, smb_port, nfs_port)
}

fn signal_stops_and_recording_replays(example: &'static str, signal: &str) {
    let dir = common::scratch_dir(example);
    let file = dir.join("run.psrec");
    let flags = ["--smb-port", "0", "--nfs-port", "0", "--seed", "99", "--break-timeout", "1.5"];
    let record = [std::ffi::OsStr::new("--record"), file.as_os_str()];
    let (mut child, _, nfs_port) = spawn_listening(example, flags.iter().map(std::ffi::OsStr::new).chain(record));

    // An unframeable stream: the server closes it.
    let mut s = TcpStream::connect(("127.0.0.1", nfs_port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let local = s.local_addr().unwrap();
    let _ = s.write_all(&[0x7f, 0xff, 0xff, 0xff]);
    let mut received = Vec::new();
    s.read_to_end(&mut received).expect("closed by the server");

    let pid = child.id().to_string();
    assert!(Command::new("kill").args([signal, &pid]).status().unwrap().success());
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("{example} did not stop on {signal}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{example} exited with {status}");

    let rec = Recording::decode(&std::fs::read(&file).unwrap()).expect("a complete recording");
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(rec.seed, polyshare::Seed::Fixed(99));
    let conn = rec
        .events
        .iter()
        .find_map(|(_, e)| match e {
            Event::Accept { conn, peer, .. } if *peer == local => Some(*conn),
            _ => None,
        })
        .expect("the connection was recorded");
    let mut config = Args::parse_from(std::iter::once("x").chain(flags)).config();
    config.nfs.port = nfs_port;
    let t0 = Instant::now();
    let mut fresh = rec.server(config, Box::new(MemoryFs::new()), t0);
    let out = rec.replay(&mut fresh, t0);
    let sent: Vec<u8> = out
        .iter()
        .filter_map(|o| match o {
            Output::Transmit { conn: c, data } if *c == conn => Some(data.to_vec()),
            _ => None,
        })
        .flatten()
        .collect();
    assert_eq!(sent, received);
    assert!(out.contains(&Output::Close { conn }));
}

#[test]
fn tokio_server_stops_on_sigterm() {
    signal_stops_and_recording_replays("tokio_server", "-TERM");
}

#[test]
fn mio_server_stops_on_sigint() {
    signal_stops_and_recording_replays("mio_server", "-INT");
}

#[test]
fn async_std_server_stops_on_sigterm() {
    signal_stops_and_recording_replays("async_std_server", "-TERM");
}

/// Waits up to 20 s for `child` to exit; kills it and fails past that.
fn wait_exit(child: &mut std::process::Child, what: &str) -> std::process::ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            return st;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("{what} did not exit");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// std_server serves (an unframeable stream is closed by the server, a
/// second connection stays open), then `signal` stops it with status 0.
fn std_server_stops_on(signal: &str) {
    let (mut child, smb_port, nfs_port) =
        spawn_listening("std_server", ["--smb-port", "0", "--nfs-port", "0", "--seed", "99"]);

    let mut s = TcpStream::connect(("127.0.0.1", nfs_port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s.write_all(&[0x7f, 0xff, 0xff, 0xff]).unwrap();
    let mut received = Vec::new();
    s.read_to_end(&mut received).expect("closed by the server");
    assert!(received.is_empty(), "no reply to an unframeable stream: {received:?}");
    let _idle = TcpStream::connect(("127.0.0.1", smb_port)).unwrap();

    let pid = child.id().to_string();
    assert!(Command::new("kill").args([signal, &pid]).status().unwrap().success());
    let status = wait_exit(&mut child, &format!("std_server after {signal}"));
    assert!(status.success(), "std_server exited with {status} on {signal}");
}

#[test]
fn std_server_stops_on_sigterm() {
    std_server_stops_on("-TERM");
}

#[test]
fn std_server_stops_on_sigint() {
    std_server_stops_on("-INT");
}

#[test]
fn std_server_records_and_replays() {
    signal_stops_and_recording_replays("std_server", "-TERM");
}

/// The ways a seed could show in a log line: decimal, hex, byte lists.
fn spellings(seed: Seed) -> Vec<String> {
    let bytes: Vec<u8> = match seed {
        Seed::Fixed(n) => n.to_le_bytes().to_vec(),
        Seed::Entropy(key) => key.to_vec(),
    };
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let word = u64::from_le_bytes(bytes[..8].try_into().unwrap());
    let list = format!("{:?}", &bytes[..4]);
    vec![
        word.to_string(),
        format!("{word:x}"),
        format!("{:x}", word.swap_bytes()),
        hex[..16].to_string(),
        hex[..16].to_uppercase(),
        list.trim_end_matches(']').to_string(),
    ]
}

/// Neither a fixed seed nor the OS entropy appears in any log line, at the
/// most verbose level, through a signed user session; the entropy is read
/// back from the recording, which must hold it for replay.
#[test]
fn no_log_line_names_the_seed_or_the_entropy() {
    common::require_tool("smbclient");
    let dir = common::scratch_dir("seed-log");
    for fixed in [Some("1234567890123"), None] {
        let (file, log) = (dir.join("run.psrec"), dir.join("server.log"));
        let mut args: Vec<std::ffi::OsString> =
            ["--smb-port", "0", "--nfs-port", "0", "--log", "trace", "--user", "alice:Secret1", "--record"]
                .iter()
                .map(Into::into)
                .collect();
        args.push(file.clone().into());
        if let Some(n) = fixed {
            args.extend(["--seed".into(), n.into()]);
        }
        let stderr = std::fs::File::create(&log).unwrap();
        let (mut child, smb_port, _) = spawn_logging("tokio_server", args, stderr.into());
        let out = common::run(
            Command::new("smbclient")
                .args(["//127.0.0.1/share", "-p", &smb_port.to_string(), "-U", "alice%Secret1"])
                .args(["-m", "SMB3", "--client-protection=sign", "-c", "ls"]),
            Duration::from_secs(60),
        );
        assert!(out.status.success(), "smbclient: {}", common::text(&out));
        assert!(Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap().success());
        assert!(wait_exit(&mut child, "tokio_server").success());
        let seed = Recording::decode(&std::fs::read(&file).unwrap()).expect("a recording").seed;
        assert_eq!(matches!(seed, Seed::Fixed(1_234_567_890_123)), fixed.is_some());
        let text = std::fs::read_to_string(&log).unwrap();
        assert!(text.contains("TRACE") || text.contains("DEBUG"), "not logging verbosely: {text}");
        for s in spellings(seed) {
            assert!(!text.contains(&s), "the log names the seed ({s}):\n{text}");
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn cli_defaults_and_flags() {
    let a = Args::parse_from(["x"]);
    assert_eq!((a.smb_port, a.nfs_port, a.portmap_port), (4445, 20490, None));
    assert!(a.config().smb.guest && !a.config().smb.require_signing);
    assert_eq!(a.config().nfs.exports[0].name, "/share");
    assert_eq!(a.config().break_timeout, Duration::from_secs(35));
    let l = a.config().limits;
    assert_eq!(l.nfs_idle_timeout, Some(Duration::from_secs(360)));
    assert_eq!((l.max_nfs_connections, l.max_smb_connections, l.max_connections), (1024, 1024, 2048));
    assert!(!a.config().nfs.exports[0].secure);
    let a = Args::parse_from([
        "x",
        "--no-guest",
        "--user",
        "alice:pw:x",
        "--break-timeout",
        "0.5",
        "--share",
        "data",
        "--nfs-policy",
        "jukebox",
        "--require-signing",
        "--nfs-idle-timeout",
        "0",
        "--max-nfs-connections",
        "2000",
        "--max-smb-connections",
        "10",
        "--nfs-secure",
    ]);
    let c = a.config();
    assert!(c.smb.require_signing);
    assert!(!c.smb.guest && !c.smb.shares[0].guest_ok);
    assert_eq!(c.smb.users[0].name, "alice");
    assert_eq!(c.smb.users[0].nt_hash, NtHash::from_password("pw:x"));
    assert_eq!(c.break_timeout, Duration::from_millis(500));
    assert_eq!((c.smb.shares[0].name.as_str(), c.nfs.exports[0].name.as_str()), ("data", "/data"));
    assert_eq!(c.nfs.exports[0].policy, NfsBreakPolicy::Jukebox);
    assert!(c.nfs.exports[0].secure);
    assert_eq!(c.limits.nfs_idle_timeout, None, "0 turns it off");
    assert_eq!(
        (c.limits.max_nfs_connections, c.limits.max_smb_connections, c.limits.max_connections),
        (2000, 10, 2010)
    );
    assert!(Args::try_parse_from(["x", "--user", "nopassword"]).is_err());
    assert!(Args::try_parse_from(["x", "--break-timeout", "-1"]).is_err());
}

/// `--user NAME:PASSWORD[:UID:GID[,GID...]]`: the ids are the last two
/// fields, only when both are numeric and a password remains before them.
#[test]
fn cli_user_ids_and_share_access_flags() {
    let user = |s: &str| {
        let a = Args::parse_from(["x", "--user", s]);
        let u = a.config().smb.users[0].clone();
        (u.name, u.nt_hash, u.uid, u.gid, u.groups)
    };
    let h = NtHash::from_password;
    assert_eq!(user("alice:pw:1000:100"), ("alice".into(), h("pw"), 1000, 100, vec![]));
    assert_eq!(user("alice:pw:1000:100,5,6"), ("alice".into(), h("pw"), 1000, 100, vec![5, 6]));
    assert_eq!(user("alice:a:b:1000:100"), ("alice".into(), h("a:b"), 1000, 100, vec![]));
    assert_eq!(user("alice::1000:100"), ("alice".into(), h(""), 1000, 100, vec![]));
    // Not two numeric fields after a password: all of it is the password.
    assert_eq!(user("alice:pw:x"), ("alice".into(), h("pw:x"), 65534, 65534, vec![]));
    assert_eq!(user("alice:1000:100"), ("alice".into(), h("1000:100"), 65534, 65534, vec![]));
    assert_eq!(user("alice:pw:1000:1x"), ("alice".into(), h("pw:1000:1x"), 65534, 65534, vec![]));
    assert_eq!(user("alice:pw:-1:100"), ("alice".into(), h("pw:-1:100"), 65534, 65534, vec![]));

    let c = Args::parse_from(["x"]).config();
    let s = &c.smb.shares[0];
    assert!(!s.read_only && !s.guest_read_only && !c.nfs.exports[0].read_only);
    assert_eq!((s.create_mask, s.directory_mask), (0o664, 0o775));
    assert_eq!((c.smb.guest_uid, c.smb.guest_gid), (65534, 65534));
    let c = Args::parse_from([
        "x",
        "--read-only",
        "--guest-read-only",
        "--create-mask",
        "640",
        "--directory-mask",
        "2770",
        "--guest-uid",
        "99",
        "--guest-gid",
        "98",
    ])
    .config();
    let s = &c.smb.shares[0];
    assert!(s.read_only && s.guest_read_only && c.nfs.exports[0].read_only);
    assert_eq!((s.create_mask, s.directory_mask), (0o640, 0o2770));
    assert_eq!((c.smb.guest_uid, c.smb.guest_gid), (99, 98));
    assert!(Args::try_parse_from(["x", "--create-mask", "9"]).is_err());
    assert!(Args::try_parse_from(["x", "--create-mask", "17777"]).is_err());
}
