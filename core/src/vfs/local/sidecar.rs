//! Per-object values kept in files under the served root where the file
//! system refuses user extended attributes: `<root>/<dir>/<inode>`, each
//! value prefixed by the object's generation (from its birth time) so that
//! a reused inode number does not inherit it. Each directory's name holds
//! a `\`, which no SMB or NFS name may, so clients never see them
//! (local/dosattrib.rs, local/ntacl.rs, local/eas.rs). Streams too large
//! for an attribute live beside them in `.polyshare\streams`, one file per
//! stream, keyed by a generation directory rather than a stamp
//! (local/streams.rs).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// The directory of DOS attributes (local/dosattrib.rs).
pub const DOSATTRIB_DIR: &str = ".polyshare\\dosattrib";
/// The directory of security descriptors (local/ntacl.rs).
pub const NTACL_DIR: &str = ".polyshare\\ntacl";
/// The directory of extended attribute lists (local/eas.rs).
pub const EAS_DIR: &str = ".polyshare\\eas";
/// The sidecar directories, one per kind of value.
const DIRS: [&str; 3] = [DOSATTRIB_DIR, NTACL_DIR, EAS_DIR];

fn path(root: &Path, dir: &str, ino: u64) -> PathBuf {
    root.join(dir).join(ino.to_string())
}

/// The value kept in `dir` for inode `ino` of `generation`.
pub fn read(root: &Path, dir: &str, ino: u64, generation: u64) -> Option<Vec<u8>> {
    let b = fs::read(path(root, dir, ino)).ok()?;
    let (stamp, blob) = b.split_at_checked(8)?;
    (u64::from_le_bytes(stamp.try_into().ok()?) == generation).then(|| blob.to_vec())
}

/// Keeps `blob` in `dir` for inode `ino` of `generation`.
pub fn write(root: &Path, dir: &str, ino: u64, generation: u64, blob: &[u8]) -> io::Result<()> {
    let d = root.join(dir);
    fs::create_dir_all(&d)?;
    let mut v = generation.to_le_bytes().to_vec();
    v.extend_from_slice(blob);
    // Written aside and renamed in, so a reader never sees half.
    let tmp = d.join(format!("{ino}.new"));
    fs::write(&tmp, &v)?;
    fs::rename(&tmp, path(root, dir, ino))
}

/// Forgets the value in `dir` of inode `ino`.
pub fn remove(root: &Path, dir: &str, ino: u64) -> io::Result<()> {
    match fs::remove_file(path(root, dir, ino)) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Forgets every sidecar value of inode `ino` (its last name was removed).
pub fn forget(root: &Path, ino: u64) {
    for dir in DIRS {
        let _ = remove(root, dir, ino);
    }
}
