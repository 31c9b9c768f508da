//! Durable handles with a real client: Python smbprotocol holds an RWH
//! lease and a durable v2 handle, writes, loses its TCP connection, and on
//! a new connection takes back its handle, its lease and its data; tshark
//! decodes such a session, and one of blocking locks, without errors.

mod common;

use std::time::Duration;

use common::*;

#[test]
fn tokio_durable_v2_handle_survives_a_cut_connection() {
    let srv = ServerProcess::start("tokio_server", &[]);
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/clients/durable_reconnect.py");
    let o = run(
        common::python3().arg(script).args([&srv.smb_port.to_string(), "durable.txt", "written-before-the-cut"]),
        Duration::from_secs(60),
    );
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    let out = String::from_utf8_lossy(&o.stdout);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.first(), Some(&"GRANTED 7 DURABLE 60000"), "RWH and the 60 s asked for:\n{t}");
    assert_eq!(lines.get(1), Some(&"WROTE 22"), "{t}");
    assert_eq!(lines.get(2), Some(&"RECONNECTED 0 7 1"), "the same open with its RWH lease:\n{t}");
    assert_eq!(lines.get(3), Some(&"DATA written-before-the-cut"), "{t}");
}

/// The durable-handle contexts (DH2Q and its response, DH2C) and the
/// interim responses of blocking LOCKs, captured from real clients
/// (tests/clients/durable_reconnect.py, blocking_lock.py), decode in tshark
/// with no error-severity expert item (`tshark -z expert`).
#[test]
fn tshark_decodes_durable_contexts_and_lock_interims_without_errors() {
    let srv = ServerProcess::start("tokio_server", &[]);
    let cap = Capture::start(srv.smb_port);
    let clients = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/clients");
    let o = run(
        common::python3().arg(format!("{clients}/durable_reconnect.py")).args([
            &srv.smb_port.to_string(),
            "captured.txt",
            "captured-before-the-cut",
        ]),
        Duration::from_secs(60),
    );
    assert!(o.status.success() && text(&o).contains("RECONNECTED 0 7 1"), "{}", text(&o));
    let o = run(
        common::python3().arg(format!("{clients}/blocking_lock.py")).arg(srv.smb_port.to_string()),
        Duration::from_secs(120),
    );
    assert!(String::from_utf8_lossy(&o.stdout).contains("BLOCKING LOCK OK"), "{}", text(&o));
    let fields = ["frame.number", "smb2.cmd", "smb2.tag", "smb2.nt_status", "smb2.flags.async", "_ws.malformed"];
    let (lines, expert) = cap.finish_with_expert("nbss", &fields);
    let col = |l: &String, i: usize| l.split('\t').nth(i).unwrap_or("").to_string();
    let tagged = |tag: &str| lines.iter().filter(|l| col(l, 1) == "5" && col(l, 2).contains(tag)).count();
    assert!(tagged("DH2Q") >= 2, "DH2Q request and response:\n{lines:#?}");
    assert!(tagged("DH2C") >= 1, "a DH2C reconnect:\n{lines:#?}");
    // LOCK (command 10) answered STATUS_PENDING on an async header: the
    // interim response of a lock that waits.
    let interims = lines
        .iter()
        .filter(|l| col(l, 1) == "10" && col(l, 3) == "0x00000103" && matches!(col(l, 4).as_str(), "1" | "True"))
        .count();
    assert!(interims >= 1, "no LOCK interim response decoded:\n{lines:#?}");
    // The SPNEGO negHints BER warning of the NEGOTIATE response
    // (interop_smb.rs) is the one malformed mark allowed.
    let malformed: Vec<&String> = lines.iter().filter(|l| !col(l, 5).is_empty() && col(l, 1) != "0").collect();
    assert!(malformed.is_empty(), "malformed frames:\n{malformed:#?}");
    assert_no_expert_errors(&expert, "durable and lock sessions");
}
