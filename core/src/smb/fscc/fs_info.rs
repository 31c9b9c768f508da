//! File system information classes for QUERY_INFO (MS-FSCC 2.5, MS-SMB2
//! 3.3.5.20.2, MS-FSA 2.1.5.13).

use super::fs_class::*;
use super::{Fill, InfoError, len32, put_u8, put_u32, put_u64};
use crate::smb::wire::utf16::utf16le;

// FileSystemAttributes (MS-FSCC 2.5.1).
pub const FILE_CASE_SENSITIVE_SEARCH: u32 = 0x0000_0001;
pub const FILE_CASE_PRESERVED_NAMES: u32 = 0x0000_0002;
pub const FILE_UNICODE_ON_DISK: u32 = 0x0000_0004;
pub const FILE_PERSISTENT_ACLS: u32 = 0x0000_0008;
pub const FILE_SUPPORTS_SPARSE_FILES: u32 = 0x0000_0040;
pub const FILE_NAMED_STREAMS: u32 = 0x0004_0000;
pub const FILE_READ_ONLY_VOLUME: u32 = 0x0008_0000;
pub const FILE_SUPPORTS_HARD_LINKS: u32 = 0x0040_0000;

/// FILE_DEVICE_DISK (MS-FSCC 2.5.10).
pub const FILE_DEVICE_DISK: u32 = 0x0000_0007;
pub const FILE_READ_ONLY_DEVICE: u32 = 0x0000_0002;
pub const FILE_DEVICE_IS_MOUNTED: u32 = 0x0000_0020;

/// SSINFO_FLAGS_ALIGNED_DEVICE | SSINFO_FLAGS_PARTITION_ALIGNED_ON_DEVICE (MS-FSCC 2.5.7).
const SSINFO_ALIGNED: u32 = 0x0000_0003;

/// The file system name clients see; Windows applications behave best with "NTFS".
pub const FILE_SYSTEM_NAME: &str = "NTFS";

/// Longest volume label returned (MS-FSCC 2.5.9: the first 32 characters).
const MAX_LABEL_CHARS: usize = 32;

/// What the file system classes report about the volume behind a share.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FsInfo {
    pub total_bytes: u64,
    pub free_bytes: u64,
    /// Free bytes available to the caller.
    pub avail_bytes: u64,
    pub bytes_per_sector: u32,
    pub sectors_per_unit: u32,
    pub volume_label: String,
    pub serial: u32,
    /// FILETIME.
    pub creation: u64,
    /// Sets FILE_NAMED_STREAMS (the backend has alternate data streams).
    pub named_streams: bool,
    /// Sets FILE_READ_ONLY_VOLUME and FILE_READ_ONLY_DEVICE.
    pub read_only: bool,
    /// Sets FILE_PERSISTENT_ACLS (makes Windows show a Security tab).
    pub persistent_acls: bool,
    /// Volume GUID for FileFsObjectIdInformation.
    pub object_id: [u8; 16],
}

impl Default for FsInfo {
    fn default() -> Self {
        Self {
            total_bytes: 0,
            free_bytes: 0,
            avail_bytes: 0,
            bytes_per_sector: 512,
            sectors_per_unit: 8,
            volume_label: String::new(),
            serial: 0,
            creation: 0,
            named_streams: false,
            read_only: false,
            persistent_acls: false,
            object_id: [0; 16],
        }
    }
}

impl FsInfo {
    fn unit(&self) -> u64 {
        (u64::from(self.bytes_per_sector) * u64::from(self.sectors_per_unit)).max(1)
    }
}

/// FileSystemAttributes reported by FileFsAttributeInformation:
/// CASE_SENSITIVE_SEARCH | CASE_PRESERVED_NAMES | UNICODE_ON_DISK |
/// SUPPORTS_HARD_LINKS | SUPPORTS_SPARSE_FILES (FSCTL_SET_SPARSE,
/// SET_ZERO_DATA and QUERY_ALLOCATED_RANGES on every backend,
/// smb/handlers/sparse.rs), plus NAMED_STREAMS, READ_ONLY_VOLUME and
/// PERSISTENT_ACLS per `fs`.
pub fn fs_attributes(fs: &FsInfo) -> u32 {
    let mut a =
        FILE_CASE_SENSITIVE_SEARCH | FILE_CASE_PRESERVED_NAMES | FILE_UNICODE_ON_DISK | FILE_SUPPORTS_HARD_LINKS | FILE_SUPPORTS_SPARSE_FILES;
    if fs.named_streams {
        a |= FILE_NAMED_STREAMS;
    }
    if fs.read_only {
        a |= FILE_READ_ONLY_VOLUME;
    }
    if fs.persistent_acls {
        a |= FILE_PERSISTENT_ACLS;
    }
    a
}

/// The smallest OutputBufferLength for `class` (below it:
/// STATUS_INFO_LENGTH_MISMATCH); the sizes smbtorture's qfs_buffercheck
/// expects. Errors for classes this server does not answer.
pub fn fs_info_min_len(class: u8) -> Result<usize, InfoError> {
    Ok(match class {
        FILE_FS_VOLUME_INFORMATION => 24,
        FILE_FS_SIZE_INFORMATION => 24,
        FILE_FS_DEVICE_INFORMATION => 8,
        FILE_FS_ATTRIBUTE_INFORMATION => 16,
        FILE_FS_CONTROL_INFORMATION => 48,
        FILE_FS_FULL_SIZE_INFORMATION => 32,
        FILE_FS_OBJECT_ID_INFORMATION => 64,
        FILE_FS_SECTOR_SIZE_INFORMATION => 28,
        // Documented, local-only classes (MS-SMB2 3.3.5.20.2).
        FILE_FS_LABEL_INFORMATION | FILE_FS_DRIVER_PATH_INFORMATION | FILE_FS_VOLUME_FLAGS_INFORMATION => {
            return Err(InfoError::NotSupported);
        }
        _ => return Err(InfoError::InvalidInfoClass),
    })
}

/// MS-SMB2 3.3.5.20.2: encodes FsInformationClass `class` with no limit.
pub fn encode_fs_info(class: u8, fs: &FsInfo, out: &mut Vec<u8>) -> Result<(), InfoError> {
    encode_fs_info_limited(class, fs, usize::MAX, out).map(|_| ())
}

/// Like [`encode_fs_info`] within OutputBufferLength `max`: below
/// [`fs_info_min_len`] `Err(BufferTooSmall)`; the volume label and the file
/// system name are cut to what fits, with their length field set to the
/// bytes returned, and `Ok(Fill::BufferOverflow)`.
pub fn encode_fs_info_limited(class: u8, fs: &FsInfo, max: usize, out: &mut Vec<u8>) -> Result<Fill, InfoError> {
    let min = fs_info_min_len(class)?;
    if max < min {
        return Err(InfoError::BufferTooSmall);
    }
    let unit = fs.unit();
    match class {
        FILE_FS_VOLUME_INFORMATION => {
            let units: Vec<u16> = fs.volume_label.encode_utf16().take(MAX_LABEL_CHARS).collect();
            let bytes: Vec<u8> = units.iter().flat_map(|u| u.to_le_bytes()).collect();
            let (bytes, fill) = cut(&bytes, max - 18);
            put_u64(out, fs.creation);
            put_u32(out, fs.serial);
            put_u32(out, len32(bytes.len()));
            put_u8(out, 0); // SupportsObjects
            put_u8(out, 0);
            out.extend_from_slice(bytes);
            return Ok(fill);
        }
        FILE_FS_SIZE_INFORMATION => {
            put_u64(out, fs.total_bytes / unit);
            put_u64(out, fs.avail_bytes / unit);
            put_u32(out, fs.sectors_per_unit);
            put_u32(out, fs.bytes_per_sector);
        }
        FILE_FS_DEVICE_INFORMATION => {
            put_u32(out, FILE_DEVICE_DISK);
            let mut characteristics = FILE_DEVICE_IS_MOUNTED;
            if fs.read_only {
                characteristics |= FILE_READ_ONLY_DEVICE;
            }
            put_u32(out, characteristics);
        }
        FILE_FS_ATTRIBUTE_INFORMATION => {
            let name = utf16le(FILE_SYSTEM_NAME);
            let (name, fill) = cut(&name, max - 12);
            put_u32(out, fs_attributes(fs));
            put_u32(out, 255); // MaximumComponentNameLength
            put_u32(out, len32(name.len()));
            out.extend_from_slice(name);
            return Ok(fill);
        }
        FILE_FS_CONTROL_INFORMATION => {
            // No content indexing, no quotas (MS-FSCC 2.5.2).
            put_u64(out, 0);
            put_u64(out, 0);
            put_u64(out, 0);
            put_u64(out, u64::MAX);
            put_u64(out, u64::MAX);
            put_u32(out, 0);
            put_u32(out, 0);
        }
        FILE_FS_FULL_SIZE_INFORMATION => {
            put_u64(out, fs.total_bytes / unit);
            put_u64(out, fs.avail_bytes / unit);
            put_u64(out, fs.free_bytes / unit);
            put_u32(out, fs.sectors_per_unit);
            put_u32(out, fs.bytes_per_sector);
        }
        FILE_FS_OBJECT_ID_INFORMATION => {
            out.extend_from_slice(&fs.object_id);
            out.extend_from_slice(&[0; 48]);
        }
        FILE_FS_SECTOR_SIZE_INFORMATION => {
            put_u32(out, fs.bytes_per_sector);
            put_u32(out, fs.bytes_per_sector);
            put_u32(out, fs.bytes_per_sector);
            put_u32(out, fs.bytes_per_sector);
            put_u32(out, SSINFO_ALIGNED);
            put_u32(out, 0);
            put_u32(out, 0);
        }
        _ => return Err(InfoError::NotSupported),
    }
    Ok(Fill::Complete)
}

/// The longest even-length prefix of `bytes` within `avail`.
fn cut(bytes: &[u8], avail: usize) -> (&[u8], Fill) {
    if bytes.len() <= avail {
        (bytes, Fill::Complete)
    } else {
        (bytes.get(..avail & !1).unwrap_or_default(), Fill::BufferOverflow)
    }
}
