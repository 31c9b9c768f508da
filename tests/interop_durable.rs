//! Durable handles with a real client: Python smbprotocol holds an RWH
//! lease and a durable v2 handle, writes, loses its TCP connection, and on
//! a new connection takes back its handle, its lease and its data.

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
