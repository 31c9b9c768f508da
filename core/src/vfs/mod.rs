//! Storage: the synchronous `Vfs` trait that both protocols use, and its
//! backends. Every object (file, directory, symlink, alternate data stream)
//! has a stable 64-bit id; both protocols address objects by id and map
//! [`VfsError`] to their own status codes.
//!
//! Backends: [`MemoryFs`] (default, deterministic, used by the simulation;
//! hard links, symlinks, alternate data streams) and [`LocalFs`] (a directory
//! on disk; inode-number ids stable across restarts, never follows symlinks,
//! streams in `user.DosStream.*`; DOS attributes in Samba's `user.DOSATTRIB`, extended
//! attributes in `user.NAME`). Both pass the
//! shared conformance suite in `conformance.rs`, also when mounted in
//! [`Mounts`], the composite that gives each share a backend of its own.

#[cfg(test)]
mod conformance;
pub mod journal;
pub mod local;
pub mod memory;
pub mod mounts;
pub mod observed;
mod types;

pub use journal::Journaled;
pub use local::LocalFs;
pub use memory::MemoryFs;
pub use mounts::Mounts;
pub use observed::{DataHook, Observed};
pub use types::{
    CreateAttr, Cred, DOS_KEPT, DOS_SETTABLE, DirEntry, FileAttr, FileType, FsStat, MAX_COPY, MAX_EA_NAME,
    MAX_EA_VALUE, MAX_NAME_LEN, MAX_READ, MAX_SECURITY, NOCASE_SCAN_BATCH, ObjectId, SetAttr, Vfs, VfsError, VfsResult,
    check_ea, check_name, copy_by_reading, fold, fold_char, scan_name_in, whole_range, write_through_buffer,
    zero_by_writing,
};
