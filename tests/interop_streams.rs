//! Alternate data streams and server-side copy with real clients, on
//! `--root` over tmpfs (LocalFs: streams in `user.DosStream.*` extended
//! attributes, those past 64 KiB in the sidecar, copies with
//! `copy_file_range`).

mod common;

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
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

/// The sidecar file of stream `name` of the file at `path` under `root`
/// (LocalFs: `.polyshare\streams/<inode>/<generation>/<name>`).
fn sidecar_stream(root: &Path, path: &Path, name: &str) -> PathBuf {
    root.join(".polyshare\\streams").join(sidecar_key(path)).join(name)
}

/// `<inode>/<generation>` of the file at `path`: LocalFs's generation is
/// the birth time in nanoseconds.
fn sidecar_key(path: &Path) -> PathBuf {
    let m = std::fs::metadata(path).unwrap();
    let birth = m.created().unwrap().duration_since(std::time::UNIX_EPOCH).unwrap();
    let generation = birth.as_secs().wrapping_mul(1_000_000_000).wrapping_add(u64::from(birth.subsec_nanos()));
    PathBuf::from(m.ino().to_string()).join(generation.to_string())
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
    // A 76800-byte file renamed to `:large`: too big for an attribute, its
    // data went to the sidecar.
    let big = root.join("big.bin");
    assert_eq!(std::fs::metadata(&big).unwrap().len(), 0);
    assert!(!xattrs(&big).contains("DosStream.large:"), "no attribute: {}", xattrs(&big));
    assert_eq!(std::fs::read(sidecar_stream(&root, &big, "large")).unwrap().len(), 76800);
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

/// smbprotocol writes a 1 MiB stream in 48 KiB pieces, reads it back
/// byte-equal, lists it with its size and finds it after renaming the file;
/// on disk it is the sidecar file `.polyshare\streams/<ino>/<gen>/AFP_Resource`
/// (no attribute), which the file's deletion removes; an overwrite drops a
/// file's sidecar stream; the share lists no sidecar.
#[test]
fn smbprotocol_keeps_a_stream_past_the_attribute_limit() {
    let root = tmpfs_root("big-stream");
    let srv =
        ServerProcess::start("tokio_server", &["--root", root.to_str().unwrap(), "--user", &format!("{USER}:{PASS}")]);
    let phase = |p: &str, marker: &str| {
        let script = client_script("big_stream.py");
        let o = run(python3().arg(script).args([&srv.smb_port.to_string(), USER, PASS, p]), Duration::from_secs(120));
        let out = text(&o);
        assert!(o.status.success() && out.contains(marker), "client failed:\n{out}\nserver log:\n{}", srv.log_text());
    };
    phase("write", "BIG STREAM OK");
    let file = root.join("renamed.jpg");
    let on_disk = std::fs::read(sidecar_stream(&root, &file, "AFP_Resource")).unwrap();
    let want: Vec<u8> = (0..1u32 << 20).map(|i| ((i * 7 + i / 251) % 256) as u8).collect();
    assert!(on_disk == want, "the sidecar file holds the stream ({} bytes)", on_disk.len());
    let listed = run(
        Command::new("python3").args(["-c", "import os,sys; print(os.listxattr(sys.argv[1]))"]).arg(&file),
        Duration::from_secs(30),
    );
    assert!(!text(&listed).contains("DosStream"), "no attribute stream: {}", text(&listed));
    // over.bin was overwritten: its sidecar stream went with its stream.
    assert!(!sidecar_stream(&root, &root.join("over.bin"), "meta").exists(), "the overwrite left the stream");
    let ino_dir = root.join(".polyshare\\streams").join(std::fs::metadata(&file).unwrap().ino().to_string());
    assert!(ino_dir.is_dir());
    phase("delete", "DELETED");
    assert!(!file.exists() && !ino_dir.exists(), "the file's sidecar streams went with it");
    drop(srv);
    let _ = std::fs::remove_dir_all(&root);
}
