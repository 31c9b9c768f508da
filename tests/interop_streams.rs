//! Alternate data streams and server-side copy with real clients, on
//! `--root` over tmpfs (LocalFs: streams in `user.DosStream.*` extended
//! attributes, copies with `copy_file_range`).

mod common;

use std::process::Command;
use std::time::Duration;

use common::*;

const USER: &str = "stream";
const PASS: &str = "Secret-Pw1";

fn xattr_of(path: &std::path::Path, name: &str) -> Vec<u8> {
    let o = run(
        Command::new("python3")
            .args(["-c", "import os,sys; sys.stdout.buffer.write(os.getxattr(sys.argv[1], sys.argv[2]))"])
            .arg(path)
            .arg(name),
        Duration::from_secs(30),
    );
    assert!(o.status.success(), "getxattr {name} of {}: {}", path.display(), text(&o));
    o.stdout
}

/// smbprotocol writes and reads `:Zone.Identifier`, lists it in
/// FileStreamInformation, renames the file and finds the stream; the
/// stream is on disk where Samba's streams_xattr keeps it. Then
/// `smbclient.copyfile` (COPYCHUNK) copies 64 MiB within the share.
#[test]
fn smbprotocol_streams_and_server_side_copy() {
    let root = tmpfs_root("streams");
    let srv =
        ServerProcess::start("tokio_server", &["--root", root.to_str().unwrap(), "--user", &format!("{USER}:{PASS}")]);
    let script = client_script("streams_copy.py");
    let o = run(python3().arg(script).args([&srv.smb_port.to_string(), USER, PASS, "64"]), Duration::from_secs(300));
    let out = text(&o);
    assert!(o.status.success(), "client failed:\n{out}\nserver log:\n{}", srv.log_text());
    assert!(out.contains("STREAMS OK") && out.contains("COPY OK"), "{out}");
    let zone = xattr_of(&root.join("renamed.exe"), "user.DosStream.Zone.Identifier:$DATA");
    assert_eq!(zone, b"[ZoneTransfer]\r\nZoneId=3\r\n\0", "Samba's layout: the data and a NUL");
    let (a, b) = (std::fs::read(root.join("big.bin")).unwrap(), std::fs::read(root.join("copy.bin")).unwrap());
    assert!(a.len() == 64 << 20 && a == b, "the copy on disk differs ({} / {} bytes)", a.len(), b.len());
    drop(srv);
    let _ = std::fs::remove_dir_all(&root);
}

/// smbprotocol renames `doc.txt:one` to `:two` through a handle of the
/// stream (FileRenameInformation, MS-FSA 2.1.5.15.12.1): the data reads back
/// under the new name, the old one is gone, and on disk the value moved
/// from `user.DosStream.one:$DATA` to `user.DosStream.two:$DATA`; a stream
/// renamed to `::$DATA` of an empty file becomes its data, and renamed back
/// to `:kept` is an attribute again; overwriting a file drops its stream
/// attributes.
#[test]
fn smbprotocol_renames_a_stream_within_its_file() {
    let root = tmpfs_root("stream-rename");
    let srv =
        ServerProcess::start("tokio_server", &["--root", root.to_str().unwrap(), "--user", &format!("{USER}:{PASS}")]);
    let script = client_script("stream_rename.py");
    let o = run(python3().arg(script).args([&srv.smb_port.to_string(), USER, PASS]), Duration::from_secs(120));
    let out = text(&o);
    assert!(o.status.success(), "client failed:\n{out}\nserver log:\n{}", srv.log_text());
    assert!(out.contains("STREAM RENAME OK"), "{out}");
    let xattrs = |p: &std::path::Path| {
        let o = run(
            Command::new("python3").args(["-c", "import os,sys; print(os.listxattr(sys.argv[1]))"]).arg(p),
            Duration::from_secs(30),
        );
        text(&o)
    };
    let doc = root.join("doc.txt");
    assert_eq!(xattr_of(&doc, "user.DosStream.two:$DATA"), b"stream one\0");
    assert!(!xattrs(&doc).contains("DosStream.one:"), "the old attribute is gone: {}", xattrs(&doc));
    // over.txt was overwritten: its stream attribute went with it.
    let over = root.join("over.txt");
    assert_eq!(std::fs::read(&over).unwrap(), b"new main");
    assert!(!xattrs(&over).contains("DosStream."), "no stream attribute is left: {}", xattrs(&over));
    // Renamed into the unnamed stream and back out to `:kept`.
    assert_eq!(std::fs::read(root.join("empty.txt")).unwrap(), b"");
    assert_eq!(xattr_of(&root.join("empty.txt"), "user.DosStream.kept:$DATA"), b"moved in\0");
    drop(srv);
    let _ = std::fs::remove_dir_all(&root);
}

/// A stream written the way smbd's streams_xattr writes it is read by
/// smbclient (`get file:stream`), its NUL not part of the data. (smbclient's
/// `allinfo` stops at the file's 8.3 name, ALT_NAME_INFORMATION, before it
/// lists streams: short names are not served yet.)
#[test]
fn smbclient_reads_a_stream_smbd_wrote() {
    let root = tmpfs_root("smbd-stream");
    let f = root.join("doc.txt");
    std::fs::write(&f, b"main data").unwrap();
    let o = run(
        Command::new("python3")
            .args([
                "-c",
                "import os,sys; os.setxattr(sys.argv[1], 'user.DosStream.Zone.Identifier:$DATA', b'ZoneId=3\\0')",
            ])
            .arg(&f),
        Duration::from_secs(30),
    );
    assert!(o.status.success(), "setxattr: {}", text(&o));
    let srv = ServerProcess::start("tokio_server", &["--root", root.to_str().unwrap()]);
    let local = scratch_dir("smbd-stream").join("zone.txt");
    let o = smbclient(&srv, &["-N"], None, &format!("get doc.txt:Zone.Identifier {}", local.display()));
    let out = text(&o);
    assert!(o.status.success() && !out.contains("NT_STATUS_"), "get failed:\n{out}");
    assert_eq!(std::fs::read(&local).unwrap(), b"ZoneId=3");
    drop(srv);
    let _ = std::fs::remove_dir_all(&root);
}
