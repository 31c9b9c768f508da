//! What the information classes share: NTSTATUS values, file attributes,
//! class numbers, [`FileInfo`], the errors and the little-endian writers.

use crate::smb::wire::codec::WireError;
use crate::vfs::{FileAttr, FileType};

// NTSTATUS values used by this module (MS-ERREF 2.3.1).
pub const STATUS_SUCCESS: u32 = 0x0000_0000;
pub const STATUS_BUFFER_OVERFLOW: u32 = 0x8000_0005;
pub const STATUS_EA_LIST_INCONSISTENT: u32 = 0x8000_0014;
pub const STATUS_INVALID_EA_NAME: u32 = 0x8000_0013;
pub const STATUS_INVALID_INFO_CLASS: u32 = 0xC000_0003;
pub const STATUS_INFO_LENGTH_MISMATCH: u32 = 0xC000_0004;
pub const STATUS_INVALID_PARAMETER: u32 = 0xC000_000D;
pub const STATUS_OBJECT_NAME_NOT_FOUND: u32 = 0xC000_0034;
pub const STATUS_NO_EAS_ON_FILE: u32 = 0xC000_0052;
pub const STATUS_NOT_SUPPORTED: u32 = 0xC000_00BB;

// File attributes (MS-FSCC 2.6).
pub const FILE_ATTRIBUTE_READONLY: u32 = 0x0000_0001;
pub const FILE_ATTRIBUTE_HIDDEN: u32 = 0x0000_0002;
pub const FILE_ATTRIBUTE_SYSTEM: u32 = 0x0000_0004;
pub const FILE_ATTRIBUTE_DIRECTORY: u32 = 0x0000_0010;
pub const FILE_ATTRIBUTE_ARCHIVE: u32 = 0x0000_0020;
pub const FILE_ATTRIBUTE_NORMAL: u32 = 0x0000_0080;
pub const FILE_ATTRIBUTE_TEMPORARY: u32 = 0x0000_0100;
pub const FILE_ATTRIBUTE_SPARSE_FILE: u32 = 0x0000_0200;
pub const FILE_ATTRIBUTE_REPARSE_POINT: u32 = 0x0000_0400;
pub const FILE_ATTRIBUTE_COMPRESSED: u32 = 0x0000_0800;
pub const FILE_ATTRIBUTE_NOT_CONTENT_INDEXED: u32 = 0x0000_2000;
pub const FILE_ATTRIBUTE_ENCRYPTED: u32 = 0x0000_4000;

/// Reparse tag of a symbolic link (MS-FSCC 2.1.2.1).
pub const IO_REPARSE_TAG_SYMLINK: u32 = 0xA000_000C;

/// Allocation unit reported to clients: AllocationSize fields are multiples
/// of it (MS-FSCC 2.4.7 "MUST be an integer multiple of the cluster size").
pub const CLUSTER_SIZE: u64 = 4096;

/// File information classes (MS-FSCC 2.4, "Level").
pub mod class {
    pub const FILE_DIRECTORY_INFORMATION: u8 = 1;
    pub const FILE_FULL_DIRECTORY_INFORMATION: u8 = 2;
    pub const FILE_BOTH_DIRECTORY_INFORMATION: u8 = 3;
    pub const FILE_BASIC_INFORMATION: u8 = 4;
    pub const FILE_STANDARD_INFORMATION: u8 = 5;
    pub const FILE_INTERNAL_INFORMATION: u8 = 6;
    pub const FILE_EA_INFORMATION: u8 = 7;
    pub const FILE_ACCESS_INFORMATION: u8 = 8;
    pub const FILE_NAME_INFORMATION: u8 = 9;
    pub const FILE_RENAME_INFORMATION: u8 = 10;
    pub const FILE_LINK_INFORMATION: u8 = 11;
    pub const FILE_NAMES_INFORMATION: u8 = 12;
    pub const FILE_DISPOSITION_INFORMATION: u8 = 13;
    pub const FILE_POSITION_INFORMATION: u8 = 14;
    pub const FILE_FULL_EA_INFORMATION: u8 = 15;
    pub const FILE_MODE_INFORMATION: u8 = 16;
    pub const FILE_ALIGNMENT_INFORMATION: u8 = 17;
    pub const FILE_ALL_INFORMATION: u8 = 18;
    pub const FILE_ALLOCATION_INFORMATION: u8 = 19;
    pub const FILE_END_OF_FILE_INFORMATION: u8 = 20;
    pub const FILE_ALTERNATE_NAME_INFORMATION: u8 = 21;
    pub const FILE_STREAM_INFORMATION: u8 = 22;
    pub const FILE_PIPE_INFORMATION: u8 = 23;
    pub const FILE_COMPRESSION_INFORMATION: u8 = 28;
    pub const FILE_QUOTA_INFORMATION: u8 = 32;
    pub const FILE_NETWORK_OPEN_INFORMATION: u8 = 34;
    pub const FILE_ATTRIBUTE_TAG_INFORMATION: u8 = 35;
    pub const FILE_ID_BOTH_DIRECTORY_INFORMATION: u8 = 37;
    pub const FILE_ID_FULL_DIRECTORY_INFORMATION: u8 = 38;
    pub const FILE_VALID_DATA_LENGTH_INFORMATION: u8 = 39;
    pub const FILE_SHORT_NAME_INFORMATION: u8 = 40;
    pub const FILE_NORMALIZED_NAME_INFORMATION: u8 = 48;
    pub const FILE_ID_INFORMATION: u8 = 59;
    pub const FILE_ID_EXTD_DIRECTORY_INFORMATION: u8 = 60;
    pub const FILE_DISPOSITION_INFORMATION_EX: u8 = 64;
    pub const FILE_RENAME_INFORMATION_EX: u8 = 65;
    pub const FILE_ID_64_EXTD_DIRECTORY_INFORMATION: u8 = 78;
    pub const FILE_ID_64_EXTD_BOTH_DIRECTORY_INFORMATION: u8 = 79;
    pub const FILE_ID_ALL_EXTD_DIRECTORY_INFORMATION: u8 = 80;
    pub const FILE_ID_ALL_EXTD_BOTH_DIRECTORY_INFORMATION: u8 = 81;
}

/// File system information classes (MS-FSCC 2.5).
pub mod fs_class {
    pub const FILE_FS_VOLUME_INFORMATION: u8 = 1;
    pub const FILE_FS_LABEL_INFORMATION: u8 = 2;
    pub const FILE_FS_SIZE_INFORMATION: u8 = 3;
    pub const FILE_FS_DEVICE_INFORMATION: u8 = 4;
    pub const FILE_FS_ATTRIBUTE_INFORMATION: u8 = 5;
    pub const FILE_FS_CONTROL_INFORMATION: u8 = 6;
    pub const FILE_FS_FULL_SIZE_INFORMATION: u8 = 7;
    pub const FILE_FS_OBJECT_ID_INFORMATION: u8 = 8;
    pub const FILE_FS_DRIVER_PATH_INFORMATION: u8 = 9;
    pub const FILE_FS_VOLUME_FLAGS_INFORMATION: u8 = 10;
    pub const FILE_FS_SECTOR_SIZE_INFORMATION: u8 = 11;
}

/// Why an information class could not be encoded or decoded. Each maps to
/// one NTSTATUS through [`InfoError::status`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InfoError {
    /// STATUS_INVALID_INFO_CLASS: not a class for this operation.
    #[error("invalid information class")]
    InvalidInfoClass,
    /// STATUS_NOT_SUPPORTED: a documented class this server does not implement.
    #[error("information class not supported")]
    NotSupported,
    /// STATUS_INFO_LENGTH_MISMATCH: the output buffer cannot hold the fixed
    /// part of the class (query), or the input buffer is shorter than the
    /// fixed part of the structure (set). Partial variable-length data is not
    /// an error: see [`Fill::BufferOverflow`].
    #[error("buffer too small for the information class")]
    BufferTooSmall,
    /// STATUS_INVALID_PARAMETER: a malformed field (lengths, odd UTF-16,
    /// out-of-range values).
    #[error("invalid parameter")]
    InvalidParameter,
    /// STATUS_NO_EAS_ON_FILE: FileFullEaInformation on a file without EAs.
    #[error("no extended attributes on the file")]
    NoEasOnFile,
    /// STATUS_OBJECT_NAME_NOT_FOUND: FileAlternateNameInformation for an
    /// object without a short name (MS-FSA 2.1.5.12.4).
    #[error("object has no short name")]
    ObjectNameNotFound,
    /// STATUS_EA_LIST_INCONSISTENT: a malformed FILE_FULL_EA_INFORMATION list.
    #[error("inconsistent EA list")]
    EaListInconsistent,
    /// STATUS_INVALID_EA_NAME: an EA name or flags MS-FSCC 2.4.16 forbids.
    #[error("invalid EA name")]
    InvalidEaName,
}

/// A buffer shorter than a field read from it is STATUS_INFO_LENGTH_MISMATCH
/// (MS-SMB2 3.3.5.21.1); a malformed field (odd UTF-16, bad surrogate) is
/// STATUS_INVALID_PARAMETER.
impl From<WireError> for InfoError {
    fn from(e: WireError) -> Self {
        match e {
            WireError::Short => InfoError::BufferTooSmall,
            WireError::StructureSize | WireError::Invalid => InfoError::InvalidParameter,
        }
    }
}

impl InfoError {
    /// The NTSTATUS to answer with.
    pub fn status(&self) -> u32 {
        match self {
            InfoError::InvalidInfoClass => STATUS_INVALID_INFO_CLASS,
            InfoError::NotSupported => STATUS_NOT_SUPPORTED,
            InfoError::BufferTooSmall => STATUS_INFO_LENGTH_MISMATCH,
            InfoError::InvalidParameter => STATUS_INVALID_PARAMETER,
            InfoError::NoEasOnFile => STATUS_NO_EAS_ON_FILE,
            InfoError::ObjectNameNotFound => STATUS_OBJECT_NAME_NOT_FOUND,
            InfoError::EaListInconsistent => STATUS_EA_LIST_INCONSISTENT,
            InfoError::InvalidEaName => STATUS_INVALID_EA_NAME,
        }
    }
}

/// Whether a limited encoding holds all the data (STATUS_SUCCESS) or only a
/// part of the variable-length data (STATUS_BUFFER_OVERFLOW, MS-SMB2
/// 3.3.5.20.1: the response still carries the bytes written).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fill {
    Complete,
    BufferOverflow,
}

impl Fill {
    pub fn status(self) -> u32 {
        match self {
            Fill::Complete => STATUS_SUCCESS,
            Fill::BufferOverflow => STATUS_BUFFER_OVERFLOW,
        }
    }
}

/// Everything an info class may need about one open object.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileInfo {
    /// FILETIMEs (MS-DTYP 2.3.3).
    pub creation: u64,
    pub last_access: u64,
    pub last_write: u64,
    pub change: u64,
    /// A multiple of [`CLUSTER_SIZE`].
    pub allocation_size: u64,
    pub end_of_file: u64,
    /// MS-FSCC 2.6 attributes; 0 is reported as FILE_ATTRIBUTE_NORMAL.
    pub attributes: u32,
    /// The 64-bit file id (FileInternalInformation, FileId of dir entries).
    pub index_number: u64,
    pub number_of_links: u32,
    pub delete_pending: bool,
    pub directory: bool,
    /// Open.GrantedAccess (FileAccessInformation).
    pub access_flags: u32,
    /// Open.CurrentByteOffset (FilePositionInformation).
    pub position: u64,
    /// FileModeInformation (the create options that stick, MS-FSCC 2.4.31).
    pub mode: u32,
    /// Path from the share root with backslashes (FileNameInformation,
    /// FileAllInformation, FileNormalizedNameInformation). Windows and Samba
    /// report it with a leading backslash for FileNameInformation. MS-SMB2
    /// 3.3.5.20.1 says a server SHOULD leave it empty in FileAllInformation
    /// (Windows Server 2016+); Samba and older Windows send the path: the
    /// caller decides by what it puts here.
    pub name: String,
    /// Combined EA length (FileEaInformation, EaSize of directory entries).
    pub ea_size: u32,
    /// Data streams for FileStreamInformation, default stream first.
    pub streams: Vec<StreamInfo>,
    /// Reparse tag when `attributes` has FILE_ATTRIBUTE_REPARSE_POINT.
    pub reparse_tag: u32,
    /// 8.3 name for FileAlternateNameInformation; empty = none.
    pub short_name: String,
    /// Volume serial number for FileIdInformation.
    pub volume_serial: u64,
}

/// One data stream of a file (FILE_STREAM_INFORMATION, MS-FSCC 2.4.49).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreamInfo {
    /// Full stream name, e.g. "::$DATA" or ":foo:$DATA".
    pub name: String,
    pub size: u64,
    pub allocation_size: u64,
}

/// Rounds a byte count up to [`CLUSTER_SIZE`].
pub fn allocation_size(bytes: u64) -> u64 {
    bytes.div_ceil(CLUSTER_SIZE).saturating_mul(CLUSTER_SIZE)
}

/// MS-FSCC 2.6 attributes of an object; see the module docs for the mapping.
pub fn file_attributes(attr: &FileAttr) -> u32 {
    let kept = attr.dos.map(|d| d & crate::vfs::DOS_KEPT);
    match attr.kind {
        // MS-FSA 2.1.5.14.2: no TEMPORARY on a directory.
        FileType::Directory => FILE_ATTRIBUTE_DIRECTORY | kept.unwrap_or(0) & !FILE_ATTRIBUTE_TEMPORARY,
        FileType::Regular | FileType::Stream | FileType::Symlink => {
            let mut a = kept.unwrap_or(FILE_ATTRIBUTE_ARCHIVE);
            if attr.mode & 0o200 == 0 {
                a |= FILE_ATTRIBUTE_READONLY;
            }
            if attr.kind == FileType::Symlink {
                a |= FILE_ATTRIBUTE_REPARSE_POINT;
            }
            // MS-FSCC 2.6: no attribute at all is NORMAL.
            if a == 0 { FILE_ATTRIBUTE_NORMAL } else { a }
        }
    }
}

/// Fills times, sizes, attributes, index number, link count, the default
/// data stream and the reparse tag from `attr`; the per-open fields
/// (access, position, mode, name, delete_pending) stay defaulted.
///
/// Directories report EndOfFile/AllocationSize 0 and one link, as NTFS and
/// Samba do. A zero birth time (unknown) falls back to the older of mtime and
/// ctime.
pub fn file_info_from_attr(attr: &FileAttr) -> FileInfo {
    let directory = attr.kind == FileType::Directory;
    let (end_of_file, alloc) = if directory { (0, 0) } else { (attr.size, allocation_size(attr.used.max(attr.size))) };
    let btime = if attr.btime == crate::time::Timespec::default() { attr.mtime.min(attr.ctime) } else { attr.btime };
    let attributes = file_attributes(attr);
    let streams = if directory {
        Vec::new()
    } else {
        vec![StreamInfo { name: "::$DATA".to_string(), size: end_of_file, allocation_size: alloc }]
    };
    FileInfo {
        creation: btime.to_filetime(),
        last_access: attr.atime.to_filetime(),
        last_write: attr.mtime.to_filetime(),
        change: attr.ctime.to_filetime(),
        allocation_size: alloc,
        end_of_file,
        attributes,
        index_number: attr.id,
        number_of_links: if directory { 1 } else { attr.nlink },
        directory,
        streams,
        reparse_tag: if attributes & FILE_ATTRIBUTE_REPARSE_POINT != 0 { IO_REPARSE_TAG_SYMLINK } else { 0 },
        ..FileInfo::default()
    }
}

/// Attributes as reported on the wire: never 0 (MS-FSA 2.1.5.12.6: 0 becomes
/// FILE_ATTRIBUTE_NORMAL) and NORMAL only alone.
pub(crate) fn wire_attributes(info: &FileInfo) -> u32 {
    let mut a = info.attributes;
    if info.directory {
        a |= FILE_ATTRIBUTE_DIRECTORY;
    }
    if a & !FILE_ATTRIBUTE_NORMAL != 0 {
        a &= !FILE_ATTRIBUTE_NORMAL;
    }
    if a == 0 { FILE_ATTRIBUTE_NORMAL } else { a }
}

// Little-endian writers shared by the encoders.
pub(crate) fn put_u8(out: &mut Vec<u8>, v: u8) {
    out.push(v);
}
pub(crate) fn put_u16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_le_bytes());
}
pub(crate) fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}
pub(crate) fn put_u64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_le_bytes());
}
/// Overwrites a u32 already reserved at `at`; out-of-range is a no-op (it
/// cannot happen for offsets this module reserved itself).
pub(crate) fn patch_u32(out: &mut [u8], at: usize, v: u32) {
    if let Some(slot) = out.get_mut(at..at + 4) {
        slot.copy_from_slice(&v.to_le_bytes());
    }
}

/// A length that fits the 32-bit length fields of the wire structures.
pub(crate) fn len32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}
