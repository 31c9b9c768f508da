//! STUB (replaced by the fscc helper's module at merge).
#![allow(dead_code, unused_variables, clippy::ptr_arg)]

use crate::vfs::FileAttr;

#[derive(Debug, Clone, Default)]
pub struct FileInfo {
    pub attributes: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InfoError {
    #[error("invalid info class")]
    InvalidInfoClass,
    #[error("not supported")]
    NotSupported,
    #[error("buffer too small")]
    BufferTooSmall,
    #[error("invalid parameter")]
    InvalidParameter,
}

pub fn file_info_from_attr(attr: &FileAttr) -> FileInfo {
    FileInfo::default()
}

pub fn file_attributes(attr: &FileAttr) -> u32 {
    if attr.kind == crate::vfs::FileType::Directory { 0x10 } else { 0x80 }
}

pub fn encode_file_info(class: u8, info: &FileInfo, out: &mut Vec<u8>) -> Result<(), InfoError> {
    Err(InfoError::NotSupported)
}

pub fn encode_file_info_limited(class: u8, info: &FileInfo, max: usize, out: &mut Vec<u8>) -> Result<bool, InfoError> {
    Err(InfoError::NotSupported)
}

#[derive(Debug, Clone, Default)]
pub struct FsInfo {}

pub fn encode_fs_info(class: u8, info: &FsInfo, out: &mut Vec<u8>) -> Result<(), InfoError> {
    Err(InfoError::NotSupported)
}

#[derive(Debug, Clone)]
pub struct DirEntryInfo {
    pub name: String,
    pub file_index: u32,
    pub info: FileInfo,
    pub short_name: Option<String>,
}

pub fn encode_dir_entries<'a>(
    class: u8,
    entries: impl Iterator<Item = &'a DirEntryInfo>,
    max_len: usize,
    single: bool,
    out: &mut Vec<u8>,
) -> Result<usize, InfoError> {
    Err(InfoError::NotSupported)
}

pub fn name_matches(pattern: &str, name: &str) -> bool {
    pattern == "*" || pattern.eq_ignore_ascii_case(name)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetFileInfo {
    Basic { creation: u64, last_access: u64, last_write: u64, change: u64, attributes: u32 },
    EndOfFile(u64),
    Allocation(u64),
    Disposition { delete_pending: bool },
    DispositionEx { flags: u32 },
    Rename { replace_if_exists: bool, root_directory: u64, name: String },
    Position(u64),
    Mode(u32),
    Link { replace_if_exists: bool, root_directory: u64, name: String },
}

pub fn decode_set_file_info(class: u8, buf: &[u8]) -> Result<SetFileInfo, InfoError> {
    Err(InfoError::NotSupported)
}

pub fn minimal_security_descriptor(uid: u32, gid: u32, mode: u32, additional_information: u32) -> Vec<u8> {
    Vec::new()
}
