//! The security descriptor of a LocalFs object: the self-relative
//! SECURITY_DESCRIPTOR bytes (MS-DTYP 2.4.6) as SMB carries them, in the
//! `user.polyshare.NTACL` extended attribute, or in the sidecar
//! `.polyshare\ntacl/<inode>` where the file system refuses user
//! attributes (local/sidecar.rs).
//!
//! Not Samba's `security.NTACL`: that value binds the descriptor to a hash
//! of the POSIX ACL as smbd computes it from its own structures, so smbd
//! would take one written here for stale, and it needs CAP_SYS_ADMIN;
//! docs/WINDOWS-SEMANTICS.md says more.

use std::io;
use std::path::Path;

use super::dosattrib::Store;
use super::{sidecar, xattr};

/// The attribute name.
pub const NAME: &str = "user.polyshare.NTACL";

/// The sidecar directory under the served root.
pub const SIDECAR_DIR: &str = sidecar::NTACL_DIR;

/// The descriptor kept for `path`; `None` when none is.
pub fn read(store: Store<'_>, path: &Path) -> io::Result<Option<Vec<u8>>> {
    match store {
        Store::Xattr => match xattr::get(path, NAME) {
            Err(e) if xattr::unsupported(&e) => Ok(None),
            r => r,
        },
        Store::Sidecar { root, ino, generation } => Ok(sidecar::read(root, SIDECAR_DIR, ino, generation)),
    }
}

/// Keeps `sd` for `path`, or forgets the one kept (`None`).
pub fn write(store: Store<'_>, path: &Path, sd: Option<&[u8]>) -> io::Result<()> {
    match (store, sd) {
        (Store::Xattr, Some(b)) => xattr::set(path, NAME, b),
        (Store::Xattr, None) => match xattr::remove(path, NAME) {
            Err(e) if xattr::is_missing(&e) => Ok(()),
            r => r,
        },
        (Store::Sidecar { root, ino, generation }, Some(b)) => sidecar::write(root, SIDECAR_DIR, ino, generation, b),
        (Store::Sidecar { root, ino, .. }, None) => sidecar::remove(root, SIDECAR_DIR, ino),
    }
}
