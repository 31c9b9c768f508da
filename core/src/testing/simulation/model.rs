//! The reference model: every file's content as the acknowledged writes
//! made it, kept by Vfs object so renames and removes do not disturb it.

use std::collections::BTreeMap;

use crate::vfs::ObjectId;

#[derive(Debug, Default)]
pub(super) struct Model {
    files: BTreeMap<ObjectId, Vec<u8>>,
}

impl Model {
    /// A file now holds exactly `data` (created, or truncated by an overwrite).
    pub fn set(&mut self, id: ObjectId, data: Vec<u8>) {
        self.files.insert(id, data);
    }

    /// An acknowledged write; a file the model never saw is an error.
    pub fn write(&mut self, id: ObjectId, offset: u64, data: &[u8]) -> Result<(), String> {
        let f = self.files.get_mut(&id).ok_or_else(|| format!("write acknowledged on unknown object {id}"))?;
        let start = offset as usize;
        let end = start + data.len();
        if f.len() < end {
            f.resize(end, 0);
        }
        f[start..end].copy_from_slice(data);
        Ok(())
    }

    /// An acknowledged size change: cut, or zero-filled up to `size`.
    pub fn truncate(&mut self, id: ObjectId, size: u64) -> Result<(), String> {
        let f = self.files.get_mut(&id).ok_or_else(|| format!("size set on unknown object {id}"))?;
        f.resize(size as usize, 0);
        Ok(())
    }

    /// What a read of `len` bytes at `offset` must return.
    pub fn read(&self, id: ObjectId, offset: u64, len: u32) -> Option<&[u8]> {
        let f = self.files.get(&id)?;
        let start = (offset as usize).min(f.len());
        let end = (offset as usize + len as usize).min(f.len());
        Some(&f[start..end])
    }

    pub fn files(&self) -> impl Iterator<Item = (&ObjectId, &Vec<u8>)> {
        self.files.iter()
    }
}
