//! Placeholder backend until the Foundation storage work lands.

use bytes::Bytes;

use super::*;

#[derive(Debug, Default)]
pub struct MemoryFs;

impl Vfs for MemoryFs {
    fn root(&self) -> ObjectId {
        1
    }
    fn getattr(&self, _id: ObjectId) -> VfsResult<FileAttr> {
        Err(VfsError::NotSupported)
    }
    fn lookup(&self, _dir: ObjectId, _name: &str) -> VfsResult<FileAttr> {
        Err(VfsError::NotSupported)
    }
    fn parent(&self, _dir: ObjectId) -> VfsResult<ObjectId> {
        Err(VfsError::NotSupported)
    }
    fn create(&mut self, _dir: ObjectId, _name: &str, _attr: CreateAttr, _now: Timespec) -> VfsResult<FileAttr> {
        Err(VfsError::NotSupported)
    }
    fn mkdir(&mut self, _dir: ObjectId, _name: &str, _attr: CreateAttr, _now: Timespec) -> VfsResult<FileAttr> {
        Err(VfsError::NotSupported)
    }
    fn symlink(
        &mut self,
        _dir: ObjectId,
        _name: &str,
        _target: &str,
        _attr: CreateAttr,
        _now: Timespec,
    ) -> VfsResult<FileAttr> {
        Err(VfsError::NotSupported)
    }
    fn readlink(&self, _id: ObjectId) -> VfsResult<String> {
        Err(VfsError::NotSupported)
    }
    fn link(&mut self, _id: ObjectId, _dir: ObjectId, _name: &str, _now: Timespec) -> VfsResult<FileAttr> {
        Err(VfsError::NotSupported)
    }
    fn remove(&mut self, _dir: ObjectId, _name: &str, _now: Timespec) -> VfsResult<()> {
        Err(VfsError::NotSupported)
    }
    fn rmdir(&mut self, _dir: ObjectId, _name: &str, _now: Timespec) -> VfsResult<()> {
        Err(VfsError::NotSupported)
    }
    fn rename(
        &mut self,
        _fd: ObjectId,
        _f: &str,
        _td: ObjectId,
        _t: &str,
        _replace: bool,
        _now: Timespec,
    ) -> VfsResult<()> {
        Err(VfsError::NotSupported)
    }
    fn read(&self, _id: ObjectId, _offset: u64, _len: u32) -> VfsResult<(Bytes, bool)> {
        Err(VfsError::NotSupported)
    }
    fn write(&mut self, _id: ObjectId, _offset: u64, _data: &[u8], _now: Timespec) -> VfsResult<FileAttr> {
        Err(VfsError::NotSupported)
    }
    fn setattr(&mut self, _id: ObjectId, _set: &SetAttr, _now: Timespec) -> VfsResult<FileAttr> {
        Err(VfsError::NotSupported)
    }
    fn readdir(&self, _dir: ObjectId, _cookie: u64, _max: usize) -> VfsResult<(Vec<DirEntry>, bool)> {
        Err(VfsError::NotSupported)
    }
    fn dir_version(&self, _dir: ObjectId) -> VfsResult<u64> {
        Err(VfsError::NotSupported)
    }
    fn sync(&mut self, _id: ObjectId) -> VfsResult<()> {
        Err(VfsError::NotSupported)
    }
    fn fsstat(&self) -> VfsResult<FsStat> {
        Err(VfsError::NotSupported)
    }
    fn stream(&mut self, _file: ObjectId, _name: &str, _create: bool, _now: Timespec) -> VfsResult<FileAttr> {
        Err(VfsError::NotSupported)
    }
    fn list_streams(&self, _file: ObjectId) -> VfsResult<Vec<(String, u64)>> {
        Err(VfsError::NotSupported)
    }
    fn remove_stream(&mut self, _file: ObjectId, _name: &str, _now: Timespec) -> VfsResult<()> {
        Err(VfsError::NotSupported)
    }
}
