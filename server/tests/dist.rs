//! What dist/ ships: the systemd unit passes `systemd-analyze verify`
//! (nothing reported) and grants only CAP_NET_BIND_SERVICE; the sample
//! configuration passes `polyshare check-config`.

#[path = "../../tests/common/mod.rs"]
mod common;

use std::os::unix::fs::PermissionsExt;
use std::process::Command;
use std::time::Duration;

use common::{require_tool, run, scratch_dir, text, workspace_root};

const BIN: &str = env!("CARGO_BIN_EXE_polyshare");

#[test]
fn the_systemd_unit_verifies() {
    require_tool("systemd-analyze");
    let unit = std::fs::read_to_string(workspace_root().join("dist/polyshare.service")).unwrap();
    for line in [
        "ExecStart=/usr/local/bin/polyshare serve --config /etc/polyshare/polyshare.toml",
        "ExecReload=/bin/kill -HUP $MAINPID",
        "AmbientCapabilities=CAP_NET_BIND_SERVICE",
        "CapabilityBoundingSet=CAP_NET_BIND_SERVICE",
        "KillSignal=SIGTERM",
    ] {
        assert!(unit.lines().any(|l| l == line), "the unit lacks {line:?}");
    }
    // verify checks that ExecStart is executable: point it at this build.
    let dir = scratch_dir("unit");
    let path = dir.join("polyshare.service");
    std::fs::write(&path, unit.replace("/usr/local/bin/polyshare", BIN)).unwrap();
    let o = run(Command::new("systemd-analyze").arg("verify").arg(&path), Duration::from_secs(60));
    assert!(o.status.success() && o.stderr.is_empty() && o.stdout.is_empty(), "{}", text(&o));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_sample_configuration_checks() {
    let sample = std::fs::read_to_string(workspace_root().join("dist/polyshare.toml")).unwrap();
    let dir = scratch_dir("sample");
    std::fs::create_dir_all(dir.join("root/public")).unwrap();
    let users = dir.join("users");
    std::fs::write(&users, "").unwrap();
    std::fs::set_permissions(&users, std::fs::Permissions::from_mode(0o600)).unwrap();
    let config = dir.join("polyshare.toml");
    let text_of = sample
        .replace("/srv/polyshare", dir.join("root").to_str().unwrap())
        .replace("/etc/polyshare/users", users.to_str().unwrap());
    std::fs::write(&config, text_of).unwrap();
    let o = run(Command::new(BIN).arg("check-config").arg(&config), Duration::from_secs(60));
    assert!(o.status.success(), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    for want in [
        "smb_listen = [\"0.0.0.0:445\", \"[::]:445\"]",
        "name = \"public\"",
        "export = \"/public\"",
        "break_timeout = 5",
        "memory = true",
        "listen = \"127.0.0.1:9445\"",
    ] {
        assert!(out.contains(want), "missing {want:?} in:\n{out}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
