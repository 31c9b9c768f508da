//! MS-FSCC information classes for SMB2 QUERY_INFO, SET_INFO and
//! QUERY_DIRECTORY: pure encoders and decoders, no state, no IO.
//!
//! - [`encode_file_info`] / [`encode_file_info_limited`]: file classes (MS-FSCC 2.4,
//!   MS-SMB2 3.3.5.20.1).
//! - [`encode_fs_info`] / [`encode_fs_info_limited`]: file system classes (MS-FSCC 2.5,
//!   MS-SMB2 3.3.5.20.2).
//! - [`encode_dir_entries`] and [`name_matches`]: QUERY_DIRECTORY (MS-SMB2 3.3.5.18,
//!   MS-FSA 2.1.5.6.3, MS-FSA 2.1.4.4).
//! - [`decode_set_file_info`]: SET_INFO buffers (MS-SMB2 2.2.39, 3.3.5.21.1).
//! - [`ea`]: extended attribute lists (MS-FSCC 2.4.15.1, 2.4.16).
//! - [`SecurityDescriptor`]: the self-relative SD codec (MS-DTYP 2.4.6);
//!   [`minimal_security_descriptor`] the one synthesized from POSIX.
//!
//! # Attribute mapping (choices)
//!
//! [`file_attributes`] maps a [`FileAttr`] to MS-FSCC 2.6 attributes:
//! directories get `DIRECTORY`; the attributes the backend keeps
//! ([`FileAttr::dos`]: HIDDEN, SYSTEM, ARCHIVE, TEMPORARY, OFFLINE,
//! NOT_CONTENT_INDEXED; TEMPORARY never on a directory) are added; an object
//! that never had any set reports `ARCHIVE` if it is not a directory (as NTFS
//! gives new files); one with none at all reports `NORMAL`, which is only
//! valid alone; non-directories without the owner write bit get `READONLY`
//! (directories never do: Windows reads READONLY on a folder as "customised
//! folder", not as a protection); symlinks get `REPARSE_POINT | ARCHIVE` with
//! reparse tag [`IO_REPARSE_TAG_SYMLINK`] (as Windows shows them; the tag lands in
//! FileAttributeTagInformation and in the EaSize field of directory entries).

#[cfg(doc)]
use crate::vfs::FileAttr;

mod dir_info;
pub mod ea;
mod file_info;
pub mod fs_info;
mod pattern;
pub mod security;
pub mod security_descriptor;
mod security_set;
pub mod set_info;
mod types;

pub use dir_info::{DirEntryInfo, dir_entry_fixed_len, encode_dir_entries};
pub use file_info::{encode_file_info, encode_file_info_limited, file_info_min_len};
pub use fs_info::{FsInfo, encode_fs_info, encode_fs_info_limited, fs_attributes, fs_info_min_len};
pub use pattern::{has_wildcards, name_matches, valid_search_pattern};
pub use security::{
    DACL_SECURITY_INFORMATION, GROUP_SECURITY_INFORMATION, OWNER_SECURITY_INFORMATION, filtered,
    minimal_security_descriptor, posix_security_descriptor,
};
pub use security_descriptor::{SdError, SecurityDescriptor, Sid};
pub use security_set::dacl_mode;
pub use ea::EaEntry;
pub use set_info::{SetFileInfo, decode_set_file_info};
pub use types::{
    CLUSTER_SIZE, FILE_ATTRIBUTE_ARCHIVE, FILE_ATTRIBUTE_COMPRESSED, FILE_ATTRIBUTE_DIRECTORY,
    FILE_ATTRIBUTE_ENCRYPTED, FILE_ATTRIBUTE_HIDDEN, FILE_ATTRIBUTE_NORMAL, FILE_ATTRIBUTE_NOT_CONTENT_INDEXED,
    FILE_ATTRIBUTE_READONLY, FILE_ATTRIBUTE_REPARSE_POINT, FILE_ATTRIBUTE_SPARSE_FILE, FILE_ATTRIBUTE_SYSTEM,
    FILE_ATTRIBUTE_TEMPORARY, FileInfo, Fill, IO_REPARSE_TAG_SYMLINK, InfoError, STATUS_BUFFER_OVERFLOW,
    STATUS_EA_LIST_INCONSISTENT, STATUS_INFO_LENGTH_MISMATCH, STATUS_INVALID_INFO_CLASS, STATUS_INVALID_PARAMETER,
    STATUS_NO_EAS_ON_FILE, STATUS_NOT_SUPPORTED, STATUS_OBJECT_NAME_NOT_FOUND, STATUS_SUCCESS, StreamInfo,
    allocation_size, class, file_attributes, file_info_from_attr, fs_class,
};
pub(crate) use types::{len32, patch_u32, put_u8, put_u16, put_u32, put_u64, wire_attributes};

#[cfg(test)]
mod tests;
