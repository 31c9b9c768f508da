//! RFC 1813 2.5/2.6: fattr3, wcc_attr, pre_op_attr, post_op_attr, wcc_data,
//! nfstime3 and sattr3.

use crate::nfs::xdr::{XdrError, XdrReader, XdrResult, XdrWriter};
use crate::time::Timespec;
use crate::vfs::{FileAttr, FileType, SetAttr};

/// RFC 1813 2.5: ftype3.
pub const NF3REG: u32 = 1;
pub const NF3DIR: u32 = 2;
pub const NF3BLK: u32 = 3;
pub const NF3CHR: u32 = 4;
pub const NF3LNK: u32 = 5;
pub const NF3SOCK: u32 = 6;
pub const NF3FIFO: u32 = 7;

/// The fsid every object reports: all exports share one Vfs, whose object
/// ids are unique across it.
pub const FSID: u64 = 0x7073_6861_7265;

pub fn ftype3(kind: FileType) -> u32 {
    match kind {
        FileType::Regular | FileType::Stream => NF3REG,
        FileType::Directory => NF3DIR,
        FileType::Symlink => NF3LNK,
    }
}

/// RFC 1813 2.5 nfstime3: unsigned seconds; times outside the range clamp.
pub fn encode_time(w: &mut XdrWriter, t: Timespec) {
    w.u32(t.secs.clamp(0, u32::MAX as i64) as u32).u32(t.nanos.min(999_999_999));
}

pub fn decode_time(r: &mut XdrReader<'_>) -> XdrResult<Timespec> {
    let secs = r.u32()?;
    let nanos = r.u32()?;
    Ok(Timespec::new(secs as i64, nanos.min(999_999_999)))
}

/// RFC 1813 2.6 fattr3.
pub fn encode_fattr3(w: &mut XdrWriter, a: &FileAttr) {
    w.u32(ftype3(a.kind))
        .u32(a.mode & 0o7777)
        .u32(a.nlink)
        .u32(a.uid)
        .u32(a.gid)
        .u64(a.size)
        .u64(a.used)
        .u32(0)
        .u32(0)
        .u64(FSID)
        .u64(a.id);
    encode_time(w, a.atime);
    encode_time(w, a.mtime);
    encode_time(w, a.ctime);
}

/// RFC 1813 2.6 wcc_attr: what a client needs to check its cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WccAttr {
    pub size: u64,
    pub mtime: Timespec,
    pub ctime: Timespec,
}

impl From<&FileAttr> for WccAttr {
    fn from(a: &FileAttr) -> Self {
        Self { size: a.size, mtime: a.mtime, ctime: a.ctime }
    }
}

pub fn encode_post_op(w: &mut XdrWriter, a: Option<&FileAttr>) {
    match a {
        Some(a) => {
            w.bool(true);
            encode_fattr3(w, a);
        }
        None => {
            w.bool(false);
        }
    }
}

pub fn encode_pre_op(w: &mut XdrWriter, a: Option<&WccAttr>) {
    match a {
        Some(a) => {
            w.bool(true).u64(a.size);
            encode_time(w, a.mtime);
            encode_time(w, a.ctime);
        }
        None => {
            w.bool(false);
        }
    }
}

pub fn encode_wcc(w: &mut XdrWriter, pre: Option<&WccAttr>, post: Option<&FileAttr>) {
    encode_pre_op(w, pre);
    encode_post_op(w, post);
}

/// RFC 1813 2.6 time_how with its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SetTime {
    #[default]
    DontChange,
    ServerTime,
    ClientTime(Timespec),
}

/// RFC 1813 2.6 sattr3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Sattr3 {
    pub mode: Option<u32>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub size: Option<u64>,
    pub atime: SetTime,
    pub mtime: SetTime,
}

impl Sattr3 {
    pub fn decode(r: &mut XdrReader<'_>) -> XdrResult<Self> {
        fn opt32(r: &mut XdrReader<'_>) -> XdrResult<Option<u32>> {
            Ok(if r.bool()? { Some(r.u32()?) } else { None })
        }
        fn time(r: &mut XdrReader<'_>) -> XdrResult<SetTime> {
            match r.u32()? {
                0 => Ok(SetTime::DontChange),
                1 => Ok(SetTime::ServerTime),
                2 => Ok(SetTime::ClientTime(decode_time(r)?)),
                v => Err(XdrError::BadValue(v)),
            }
        }
        let mode = opt32(r)?;
        let uid = opt32(r)?;
        let gid = opt32(r)?;
        let size = if r.bool()? { Some(r.u64()?) } else { None };
        Ok(Self { mode, uid, gid, size, atime: time(r)?, mtime: time(r)? })
    }

    pub fn encode(&self, w: &mut XdrWriter) {
        fn opt32(w: &mut XdrWriter, v: Option<u32>) {
            match v {
                Some(v) => w.bool(true).u32(v),
                None => w.bool(false),
            };
        }
        fn time(w: &mut XdrWriter, t: SetTime) {
            match t {
                SetTime::DontChange => {
                    w.u32(0);
                }
                SetTime::ServerTime => {
                    w.u32(1);
                }
                SetTime::ClientTime(t) => {
                    w.u32(2);
                    encode_time(w, t);
                }
            }
        }
        opt32(w, self.mode);
        opt32(w, self.uid);
        opt32(w, self.gid);
        match self.size {
            Some(s) => w.bool(true).u64(s),
            None => w.bool(false),
        };
        time(w, self.atime);
        time(w, self.mtime);
    }

    /// The Vfs change, with SET_TO_SERVER_TIME resolved to `server_now`.
    pub fn to_setattr(self, server_now: Timespec) -> SetAttr {
        let t = |s: SetTime| match s {
            SetTime::DontChange => None,
            SetTime::ServerTime => Some(server_now),
            SetTime::ClientTime(t) => Some(t),
        };
        SetAttr {
            mode: self.mode.map(|m| m & 0o7777),
            uid: self.uid,
            gid: self.gid,
            size: self.size,
            atime: t(self.atime),
            mtime: t(self.mtime),
            ..SetAttr::default()
        }
    }

    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fattr3_is_84_bytes_in_spec_order() {
        let a = FileAttr {
            id: 0x11,
            generation: 1,
            kind: FileType::Directory,
            mode: 0o40755,
            nlink: 2,
            uid: 1000,
            gid: 100,
            size: 4096,
            used: 8192,
            atime: Timespec::new(1, 2),
            mtime: Timespec::new(3, 4),
            ctime: Timespec::new(-5, 6),
            btime: Timespec::default(),
            parent_file: None,
            dos: None,
        };
        let mut w = XdrWriter::new();
        encode_fattr3(&mut w, &a);
        let b = w.as_slice();
        assert_eq!(b.len(), 84);
        assert_eq!(&b[0..4], &[0, 0, 0, 2]); // NF3DIR
        assert_eq!(&b[4..8], &0o755u32.to_be_bytes()); // mode without type bits
        assert_eq!(&b[52..60], &0x11u64.to_be_bytes()); // fileid
        assert_eq!(&b[60..68], &[0, 0, 0, 1, 0, 0, 0, 2]); // atime
        assert_eq!(&b[76..84], &[0, 0, 0, 0, 0, 0, 0, 6]); // ctime before 1970 clamps to 0
    }

    #[test]
    fn sattr3_round_trip_and_server_time() {
        let s = Sattr3 {
            mode: Some(0o644),
            uid: None,
            gid: Some(5),
            size: Some(10),
            atime: SetTime::ServerTime,
            mtime: SetTime::ClientTime(Timespec::new(7, 8)),
        };
        let mut w = XdrWriter::new();
        s.encode(&mut w);
        let mut r = XdrReader::new(w.as_slice());
        assert_eq!(Sattr3::decode(&mut r), Ok(s));
        assert!(r.is_empty());
        let set = s.to_setattr(Timespec::new(99, 0));
        assert_eq!(set.atime, Some(Timespec::new(99, 0)));
        assert_eq!(set.mtime, Some(Timespec::new(7, 8)));
        assert_eq!(set.uid, None);
    }
}
