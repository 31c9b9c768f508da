//! The Prometheus endpoint answers in the text exposition format, and its
//! counters move with a transfer: an smbclient upload and an nfs-cat
//! download, counted by command and in bytes, and timed by command.

#[path = "../../tests/common/mod.rs"]
mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::{ServerProcess, lease_holder_on, pattern, require_tool, run, scratch_dir, smbclient, text};

const BIN: &str = env!("CARGO_BIN_EXE_polyshare");
const SIZE: usize = 1 << 20;

/// `GET path` on `port`: the status line, the head, the body.
fn get(port: u16, path: &str) -> (String, String, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut reply = String::new();
    s.read_to_string(&mut reply).unwrap();
    let (head, body) = reply.split_once("\r\n\r\n").expect("a head and a body");
    (head.lines().next().unwrap_or_default().to_string(), head.to_string(), body.to_string())
}

/// The value of the sample `name` (with its labels) in `body`.
fn sample(body: &str, name: &str) -> f64 {
    body.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|v| v.strip_prefix(' ')))
        .unwrap_or_else(|| panic!("no {name} in:\n{body}"))
        .parse()
        .unwrap()
}

#[test]
fn metrics_answer_prometheus_text_and_move_with_a_transfer() {
    require_tool("nfs-cat");
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let dir = scratch_dir("metrics");
    let config = dir.join("polyshare.toml");
    std::fs::write(
        &config,
        format!("[metrics]\nlisten = \"127.0.0.1:{port}\"\n\n[[share]]\nname = \"share\"\nmemory = true\n"),
    )
    .unwrap();
    let srv = ServerProcess::start_exe(
        "polyshare",
        Path::new(BIN),
        &["serve", "--config", config.to_str().unwrap(), "--smb-port", "0", "--nfs-port", "0"],
    );

    let (status, head, before) = get(port, "/metrics");
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert!(head.contains("Content-Type: text/plain; version=0.0.4"), "{head}");
    assert!(before.contains("# TYPE polyshare_requests_total counter"), "{before}");
    assert!(before.contains("# TYPE polyshare_connections gauge"), "{before}");
    // Every sample line is `name{labels} number`.
    for l in before.lines().filter(|l| !l.starts_with('#')) {
        let (_, v) = l.rsplit_once(' ').unwrap_or_else(|| panic!("bad line {l:?}"));
        assert!(v.parse::<f64>().is_ok(), "bad value in {l:?}");
    }
    assert_eq!(get(port, "/other").0, "HTTP/1.1 404 Not Found");
    // The break wait histogram: cumulative buckets ending at +Inf = _count.
    assert!(before.contains("# TYPE polyshare_break_wait_seconds histogram"), "{before}");
    let inf = sample(&before, "polyshare_break_wait_seconds_bucket{le=\"+Inf\"}");
    assert_eq!(inf, sample(&before, "polyshare_break_wait_seconds_count"), "{before}");
    assert!(sample(&before, "polyshare_break_wait_seconds_bucket{le=\"0.0005\"}") <= inf, "{before}");

    let data = pattern(SIZE, 7);
    let local = dir.join("up.bin");
    std::fs::write(&local, &data).unwrap();
    let o = smbclient(&srv, &["-N"], Some("SMB3"), &format!("put {} up.bin", local.display()));
    assert!(o.status.success(), "{}", text(&o));
    let o = run(Command::new("nfs-cat").arg(srv.nfs_url("/up.bin")), Duration::from_secs(120));
    assert!(o.status.success() && o.stdout == data, "{}", text(&o));

    let mut holder = lease_holder_on(&srv, "share", "leased.txt", "RWH");
    assert_eq!(holder.expect("GRANTED ", Duration::from_secs(30))[0], "7");

    let (_, _, after) = get(port, "/metrics");
    let moved = |name: &str| sample(&after, name) - sample(&before, name);
    assert!(moved("polyshare_requests_total{protocol=\"smb\",command=\"WRITE\"}") >= 1.0, "{after}");
    assert!(moved("polyshare_requests_total{protocol=\"nfs\",command=\"READ\"}") >= 1.0, "{after}");
    assert!(moved("polyshare_received_bytes_total{protocol=\"smb\"}") >= SIZE as f64, "{after}");
    assert!(moved("polyshare_sent_bytes_total{protocol=\"nfs\"}") >= SIZE as f64, "{after}");
    assert!(moved("polyshare_connections_accepted_total{protocol=\"smb\"}") >= 1.0, "{after}");
    assert!(moved("polyshare_connections_accepted_total{protocol=\"nfs\"}") >= 1.0, "{after}");
    assert!(moved("polyshare_leases_granted_total") >= 1.0, "{after}");
    assert!(sample(&after, "polyshare_connections{protocol=\"smb\"}") >= 1.0, "the holder is connected: {after}");
    // Request latency, by protocol and command: every WRITE the upload sent
    // and every READ nfs-cat made was timed, each histogram cumulative.
    assert!(after.contains("# TYPE polyshare_request_duration_seconds histogram"), "{after}");
    for (protocol, command) in [("smb", "WRITE"), ("nfs", "READ"), ("smb", "CREATE")] {
        let labels = format!("protocol=\"{protocol}\",command=\"{command}\"");
        let count = sample(&after, &format!("polyshare_request_duration_seconds_count{{{labels}}}"));
        let requests = sample(&after, &format!("polyshare_requests_total{{{labels}}}"));
        assert!(count >= 1.0 && count <= requests, "{labels}: {count} timed of {requests}: {after}");
        let inf = sample(&after, &format!("polyshare_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}}"));
        assert_eq!(inf, count, "{after}");
        let first = sample(&after, &format!("polyshare_request_duration_seconds_bucket{{{labels},le=\"0.0001\"}}"));
        assert!(first <= inf, "{after}");
        assert!(sample(&after, &format!("polyshare_request_duration_seconds_sum{{{labels}}}")) >= 0.0, "{after}");
    }
    drop((holder, srv));
    std::fs::remove_dir_all(&dir).unwrap();
}
