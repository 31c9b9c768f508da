//! The attributes every CREATE-like response carries (MS-SMB2 2.2.14
//! CREATE, 2.2.16 CLOSE with POSTQUERY_ATTRIB): a new open, a durable
//! reconnect or replay, a close.

use crate::smb::fscc;
use crate::smb::wire::create::NetworkOpenInfo;
use crate::vfs::{FileAttr, FileType};

pub fn network_open_info(attr: &FileAttr) -> NetworkOpenInfo {
    let [creation, last_access, last_write, change] =
        NetworkOpenInfo::times(attr.btime, attr.atime, attr.mtime, attr.ctime);
    let dir = attr.kind == FileType::Directory;
    NetworkOpenInfo {
        creation,
        last_access,
        last_write,
        change,
        allocation_size: if dir { 0 } else { attr.used.max(attr.size.div_ceil(4096) * 4096) },
        end_of_file: if dir { 0 } else { attr.size },
        attributes: fscc::file_attributes(attr),
    }
}
