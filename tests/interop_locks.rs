//! Blocking byte-range locks with a real client: Python smbprotocol's
//! second client waits behind the first one's lock, is granted when it
//! unlocks, and a later waiting lock is cancelled (STATUS_CANCELLED).

mod common;

use std::time::Duration;

use common::*;

#[test]
fn smbprotocol_blocking_lock_waits_and_cancels() {
    let srv = ServerProcess::start("tokio_server", &[]);
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/clients/blocking_lock.py");
    let o = run(common::python3().arg(script).arg(srv.smb_port.to_string()), Duration::from_secs(120));
    assert!(o.status.success(), "blocking_lock.py failed:\n{}\nserver log:\n{}", text(&o), srv.log_text());
    assert!(String::from_utf8_lossy(&o.stdout).contains("BLOCKING LOCK OK"), "{}", text(&o));
}
