//! The reference model: every file's and stream's content as the
//! acknowledged writes made it, kept by Vfs object so renames and removes
//! do not disturb it; which objects are streams of which file; and the
//! HIDDEN and SYSTEM attributes acknowledged SET_INFOs left.

use std::collections::BTreeMap;

use crate::vfs::ObjectId;

#[derive(Debug, Default)]
pub(super) struct Model {
    files: BTreeMap<ObjectId, Vec<u8>>,
    /// Stream object -> its file.
    streams: BTreeMap<ObjectId, ObjectId>,
    /// HIDDEN | SYSTEM (MS-FSCC 2.6) as last set.
    attrs: BTreeMap<ObjectId, u32>,
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

    /// `stream` is a named stream of `file`; a file the model never saw
    /// (made by the stream's CREATE) is empty.
    pub fn stream_of(&mut self, stream: ObjectId, file: ObjectId) {
        self.streams.insert(stream, file);
        self.files.entry(file).or_default();
    }

    pub fn is_stream(&self, id: ObjectId) -> bool {
        self.streams.contains_key(&id)
    }

    pub fn streams(&self) -> impl Iterator<Item = (&ObjectId, &ObjectId)> {
        self.streams.iter()
    }

    /// An acknowledged change of a file's HIDDEN and SYSTEM attributes.
    pub fn set_attrs(&mut self, id: ObjectId, hidden_system: u32) {
        self.attrs.insert(id, hidden_system);
    }

    pub fn attrs(&self) -> impl Iterator<Item = (&ObjectId, &u32)> {
        self.attrs.iter()
    }
}
