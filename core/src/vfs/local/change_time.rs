//! A ChangeTime set over SMB (FileBasicInformation, MS-FSA 2.1.5.14.2) on
//! a LocalFs object. Linux cannot set ctime, so the value set is kept in the
//! `user.polyshare.ChangeTime` extended attribute with a fingerprint of the
//! object at that moment (mtime, size, mode, link count, owner): while the
//! object still matches it, the kept value is the object's ctime; once it
//! does not (a write, a truncation, a chmod, a chown, a link), the real
//! ctime is again. Changes outside the fingerprint (a rename, an attribute
//! kept in `user.DOSATTRIB`) leave the kept value in place, as Windows keeps
//! a ChangeTime set through an open until another open changes the file.
//! Nothing is kept where user xattrs are refused (the sidecar mode).

use std::fs::Metadata;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use super::xattr;

/// The attribute's name.
pub const NAME: &str = "user.polyshare.ChangeTime";

/// What the kept value depends on.
fn fingerprint(m: &Metadata) -> [u8; 40] {
    let mut f = [0u8; 40];
    f[..8].copy_from_slice(&m.mtime().to_le_bytes());
    f[8..16].copy_from_slice(&m.mtime_nsec().to_le_bytes());
    f[16..24].copy_from_slice(&m.size().to_le_bytes());
    f[24..28].copy_from_slice(&m.mode().to_le_bytes());
    f[28..32].copy_from_slice(&(m.nlink() as u32).to_le_bytes());
    f[32..36].copy_from_slice(&m.uid().to_le_bytes());
    f[36..40].copy_from_slice(&m.gid().to_le_bytes());
    f
}

/// The FILETIME in a kept `value`, if the object, now described by `m`,
/// still matches the fingerprint kept with it.
pub fn decode(value: &[u8], m: &Metadata) -> Option<u64> {
    let (t, rest) = value.split_at_checked(8)?;
    let t = u64::from_le_bytes(t.try_into().ok()?);
    (rest == fingerprint(m)).then_some(t)
}

/// Keeps `filetime` as the ChangeTime of `path`, whose metadata after the
/// change being made is `m`.
pub fn keep(path: &Path, filetime: u64, m: &Metadata) -> std::io::Result<()> {
    let mut v = filetime.to_le_bytes().to_vec();
    v.extend_from_slice(&fingerprint(m));
    xattr::set(path, NAME, &v)
}

/// The kept ChangeTime of `path` (or its open `file`), if still valid.
pub fn read(path: Option<&Path>, file: Option<&std::fs::File>, m: &Metadata) -> Option<u64> {
    let value = match (file, path) {
        (Some(f), _) => xattr::fget(f, NAME),
        (None, Some(p)) => xattr::get(p, NAME),
        (None, None) => return None,
    };
    decode(&value.ok()??, m)
}
