//! RFC 1813 3.3: the arguments of the 22 NFSv3 procedures, decoded into one
//! owned value (so that a parked call can be run again) and encodable for
//! tests and clients.

use super::attrs::{NF3BLK, NF3CHR, NF3FIFO, NF3SOCK, Sattr3, decode_time, encode_time};
use super::fh::FhBytes;
use super::proc_;
use crate::io::WriteData;
use crate::nfs::xdr::{XdrError, XdrReader, XdrResult, XdrWriter};
use crate::splice::PipedData;
use crate::time::Timespec;

/// Names and paths longer than this are refused as GARBAGE_ARGS (the
/// handlers answer NAMETOOLONG above 255 bytes).
pub const MAX_NAME_XDR: u32 = 4096;
pub const MAX_PATH_XDR: u32 = 4096;

/// RFC 1813 3.3.3 diropargs3.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DirOpArgs {
    pub dir: FhBytes,
    pub name: Vec<u8>,
}

impl DirOpArgs {
    fn decode(r: &mut XdrReader<'_>) -> XdrResult<Self> {
        Ok(Self { dir: FhBytes::decode(r)?, name: r.string(MAX_NAME_XDR)?.to_vec() })
    }
    fn encode(&self, w: &mut XdrWriter) {
        self.dir.encode(w);
        w.opaque(&self.name);
    }
}

/// RFC 1813 3.3.7 stable_how.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StableHow {
    Unstable = 0,
    DataSync = 1,
    FileSync = 2,
}

/// RFC 1813 3.3.8 createhow3.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreateHow {
    Unchecked(Sattr3),
    Guarded(Sattr3),
    Exclusive([u8; 8]),
}

/// RFC 1813 3.3.11 mknoddata3.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MknodData {
    Device { kind: u32, attr: Sattr3, major: u32, minor: u32 },
    Special { kind: u32, attr: Sattr3 },
    Other(u32),
}

/// The decoded arguments of one NFSv3 call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Nfs3Args {
    Null,
    Getattr(FhBytes),
    Setattr { fh: FhBytes, attr: Sattr3, guard: Option<Timespec> },
    Lookup(DirOpArgs),
    Access { fh: FhBytes, access: u32 },
    Readlink(FhBytes),
    Read { fh: FhBytes, offset: u64, count: u32 },
    Write { fh: FhBytes, offset: u64, count: u32, stable: StableHow, data: WriteData },
    Create { where_: DirOpArgs, how: CreateHow },
    Mkdir { where_: DirOpArgs, attr: Sattr3 },
    Symlink { where_: DirOpArgs, attr: Sattr3, target: Vec<u8> },
    Mknod { where_: DirOpArgs, what: MknodData },
    Remove(DirOpArgs),
    Rmdir(DirOpArgs),
    Rename { from: DirOpArgs, to: DirOpArgs },
    Link { fh: FhBytes, link: DirOpArgs },
    Readdir { fh: FhBytes, cookie: u64, verf: [u8; 8], count: u32 },
    Readdirplus { fh: FhBytes, cookie: u64, verf: [u8; 8], dircount: u32, maxcount: u32 },
    Fsstat(FhBytes),
    Fsinfo(FhBytes),
    Pathconf(FhBytes),
    Commit { fh: FhBytes, offset: u64, count: u32 },
}

/// Why arguments could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgsError {
    ProcUnavail,
    Garbage(XdrError),
}

impl From<XdrError> for ArgsError {
    fn from(e: XdrError) -> Self {
        Self::Garbage(e)
    }
}

impl Nfs3Args {
    pub fn decode(proc_no: u32, r: &mut XdrReader<'_>) -> Result<Self, ArgsError> {
        Self::decode_with(proc_no, r, None)
    }

    /// [`Nfs3Args::decode`] of a call whose WRITE data the adapter received
    /// into pipes (`payload`): the record ends after the data's length,
    /// which must be the payload's. Anything but a WRITE is garbage then.
    pub fn decode_with(proc_no: u32, r: &mut XdrReader<'_>, payload: Option<PipedData>) -> Result<Self, ArgsError> {
        if payload.is_some() && proc_no != proc_::WRITE {
            return Err(XdrError::BadValue(proc_no).into());
        }
        use proc_::*;
        let fh = FhBytes::decode;
        Ok(match proc_no {
            NULL => Self::Null,
            GETATTR => Self::Getattr(fh(r)?),
            SETATTR => {
                let fh = fh(r)?;
                let attr = Sattr3::decode(r)?;
                let guard = if r.bool()? { Some(decode_time(r)?) } else { None };
                Self::Setattr { fh, attr, guard }
            }
            LOOKUP => Self::Lookup(DirOpArgs::decode(r)?),
            ACCESS => Self::Access { fh: fh(r)?, access: r.u32()? },
            READLINK => Self::Readlink(fh(r)?),
            READ => Self::Read { fh: fh(r)?, offset: r.u64()?, count: r.u32()? },
            WRITE => {
                let fh = fh(r)?;
                let offset = r.u64()?;
                let count = r.u32()?;
                let stable = match r.u32()? {
                    0 => StableHow::Unstable,
                    1 => StableHow::DataSync,
                    2 => StableHow::FileSync,
                    v => return Err(XdrError::BadValue(v).into()),
                };
                let data = match payload {
                    Some(p) => {
                        let len = r.u32()?;
                        if len as usize != p.len() || r.remaining() != 0 {
                            return Err(XdrError::BadValue(len).into());
                        }
                        WriteData::Piped(p)
                    }
                    None => WriteData::Bytes(r.opaque_bytes(u32::MAX)?),
                };
                Self::Write { fh, offset, count, stable, data }
            }
            CREATE => {
                let where_ = DirOpArgs::decode(r)?;
                let how = match r.u32()? {
                    0 => CreateHow::Unchecked(Sattr3::decode(r)?),
                    1 => CreateHow::Guarded(Sattr3::decode(r)?),
                    2 => CreateHow::Exclusive(r.fixed::<8>()?),
                    v => return Err(XdrError::BadValue(v).into()),
                };
                Self::Create { where_, how }
            }
            MKDIR => Self::Mkdir { where_: DirOpArgs::decode(r)?, attr: Sattr3::decode(r)? },
            SYMLINK => Self::Symlink {
                where_: DirOpArgs::decode(r)?,
                attr: Sattr3::decode(r)?,
                target: r.string(MAX_PATH_XDR)?.to_vec(),
            },
            MKNOD => {
                let where_ = DirOpArgs::decode(r)?;
                let kind = r.u32()?;
                let what = match kind {
                    NF3CHR | NF3BLK => {
                        MknodData::Device { kind, attr: Sattr3::decode(r)?, major: r.u32()?, minor: r.u32()? }
                    }
                    NF3SOCK | NF3FIFO => MknodData::Special { kind, attr: Sattr3::decode(r)? },
                    other => MknodData::Other(other),
                };
                Self::Mknod { where_, what }
            }
            REMOVE => Self::Remove(DirOpArgs::decode(r)?),
            RMDIR => Self::Rmdir(DirOpArgs::decode(r)?),
            RENAME => Self::Rename { from: DirOpArgs::decode(r)?, to: DirOpArgs::decode(r)? },
            LINK => Self::Link { fh: fh(r)?, link: DirOpArgs::decode(r)? },
            READDIR => Self::Readdir { fh: fh(r)?, cookie: r.u64()?, verf: r.fixed::<8>()?, count: r.u32()? },
            READDIRPLUS => Self::Readdirplus {
                fh: fh(r)?,
                cookie: r.u64()?,
                verf: r.fixed::<8>()?,
                dircount: r.u32()?,
                maxcount: r.u32()?,
            },
            FSSTAT => Self::Fsstat(fh(r)?),
            FSINFO => Self::Fsinfo(fh(r)?),
            PATHCONF => Self::Pathconf(fh(r)?),
            COMMIT => Self::Commit { fh: fh(r)?, offset: r.u64()?, count: r.u32()? },
            _ => return Err(ArgsError::ProcUnavail),
        })
    }

    /// The procedure number.
    pub fn proc_no(&self) -> u32 {
        use proc_::*;
        match self {
            Self::Null => NULL,
            Self::Getattr(_) => GETATTR,
            Self::Setattr { .. } => SETATTR,
            Self::Lookup(_) => LOOKUP,
            Self::Access { .. } => ACCESS,
            Self::Readlink(_) => READLINK,
            Self::Read { .. } => READ,
            Self::Write { .. } => WRITE,
            Self::Create { .. } => CREATE,
            Self::Mkdir { .. } => MKDIR,
            Self::Symlink { .. } => SYMLINK,
            Self::Mknod { .. } => MKNOD,
            Self::Remove(_) => REMOVE,
            Self::Rmdir(_) => RMDIR,
            Self::Rename { .. } => RENAME,
            Self::Link { .. } => LINK,
            Self::Readdir { .. } => READDIR,
            Self::Readdirplus { .. } => READDIRPLUS,
            Self::Fsstat(_) => FSSTAT,
            Self::Fsinfo(_) => FSINFO,
            Self::Pathconf(_) => PATHCONF,
            Self::Commit { .. } => COMMIT,
        }
    }

    pub fn encode(&self, w: &mut XdrWriter) {
        match self {
            Self::Null => {}
            Self::Getattr(fh) | Self::Readlink(fh) | Self::Fsstat(fh) | Self::Fsinfo(fh) | Self::Pathconf(fh) => {
                fh.encode(w)
            }
            Self::Setattr { fh, attr, guard } => {
                fh.encode(w);
                attr.encode(w);
                match guard {
                    Some(t) => {
                        w.bool(true);
                        encode_time(w, *t);
                    }
                    None => {
                        w.bool(false);
                    }
                }
            }
            Self::Lookup(d) | Self::Remove(d) | Self::Rmdir(d) => d.encode(w),
            Self::Access { fh, access } => {
                fh.encode(w);
                w.u32(*access);
            }
            Self::Read { fh, offset, count } | Self::Commit { fh, offset, count } => {
                fh.encode(w);
                w.u64(*offset).u32(*count);
            }
            Self::Write { fh, offset, count, stable, data } => {
                fh.encode(w);
                // Piped data is not encoded (only the server receives it).
                let data = data.as_bytes().map_or(&[][..], |b| &b[..]);
                w.u64(*offset).u32(*count).u32(*stable as u32).opaque(data);
            }
            Self::Create { where_, how } => {
                where_.encode(w);
                match how {
                    CreateHow::Unchecked(a) => {
                        w.u32(0);
                        a.encode(w);
                    }
                    CreateHow::Guarded(a) => {
                        w.u32(1);
                        a.encode(w);
                    }
                    CreateHow::Exclusive(v) => {
                        w.u32(2).fixed(v);
                    }
                }
            }
            Self::Mkdir { where_, attr } => {
                where_.encode(w);
                attr.encode(w);
            }
            Self::Symlink { where_, attr, target } => {
                where_.encode(w);
                attr.encode(w);
                w.opaque(target);
            }
            Self::Mknod { where_, what } => {
                where_.encode(w);
                match what {
                    MknodData::Device { kind, attr, major, minor } => {
                        w.u32(*kind);
                        attr.encode(w);
                        w.u32(*major).u32(*minor);
                    }
                    MknodData::Special { kind, attr } => {
                        w.u32(*kind);
                        attr.encode(w);
                    }
                    MknodData::Other(k) => {
                        w.u32(*k);
                    }
                }
            }
            Self::Rename { from, to } => {
                from.encode(w);
                to.encode(w);
            }
            Self::Link { fh, link } => {
                fh.encode(w);
                link.encode(w);
            }
            Self::Readdir { fh, cookie, verf, count } => {
                fh.encode(w);
                w.u64(*cookie).fixed(verf).u32(*count);
            }
            Self::Readdirplus { fh, cookie, verf, dircount, maxcount } => {
                fh.encode(w);
                w.u64(*cookie).fixed(verf).u32(*dircount).u32(*maxcount);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::attrs::SetTime;
    use super::*;
    use quickcheck::{Arbitrary, Gen, quickcheck};

    fn fh(g: &mut Gen) -> FhBytes {
        let mut v = Vec::<u8>::arbitrary(g);
        v.truncate(64);
        FhBytes(v)
    }

    fn sattr(g: &mut Gen) -> Sattr3 {
        let t = |g: &mut Gen| match u8::arbitrary(g) % 3 {
            0 => SetTime::DontChange,
            1 => SetTime::ServerTime,
            _ => SetTime::ClientTime(Timespec::new(u32::arbitrary(g) as i64, u32::arbitrary(g) % 1_000_000_000)),
        };
        Sattr3 {
            mode: Option::arbitrary(g),
            uid: Option::arbitrary(g),
            gid: Option::arbitrary(g),
            size: Option::arbitrary(g),
            atime: t(g),
            mtime: t(g),
        }
    }

    fn dirop(g: &mut Gen) -> DirOpArgs {
        DirOpArgs { dir: fh(g), name: Vec::arbitrary(g) }
    }

    #[derive(Debug, Clone)]
    struct AnyArgs(Nfs3Args);

    impl Arbitrary for AnyArgs {
        fn arbitrary(g: &mut Gen) -> Self {
            let a = match u8::arbitrary(g) % 22 {
                0 => Nfs3Args::Null,
                1 => Nfs3Args::Getattr(fh(g)),
                2 => Nfs3Args::Setattr {
                    fh: fh(g),
                    attr: sattr(g),
                    guard: Option::<u32>::arbitrary(g).map(|s| Timespec::new(s as i64, 5)),
                },
                3 => Nfs3Args::Lookup(dirop(g)),
                4 => Nfs3Args::Access { fh: fh(g), access: u32::arbitrary(g) },
                5 => Nfs3Args::Readlink(fh(g)),
                6 => Nfs3Args::Read { fh: fh(g), offset: u64::arbitrary(g), count: u32::arbitrary(g) },
                7 => Nfs3Args::Write {
                    fh: fh(g),
                    offset: u64::arbitrary(g),
                    count: u32::arbitrary(g),
                    stable: [StableHow::Unstable, StableHow::DataSync, StableHow::FileSync][usize::arbitrary(g) % 3],
                    data: bytes::Bytes::from(Vec::<u8>::arbitrary(g)).into(),
                },
                8 => Nfs3Args::Create {
                    where_: dirop(g),
                    how: match u8::arbitrary(g) % 3 {
                        0 => CreateHow::Unchecked(sattr(g)),
                        1 => CreateHow::Guarded(sattr(g)),
                        _ => CreateHow::Exclusive(<[u8; 8]>::arbitrary(g)),
                    },
                },
                9 => Nfs3Args::Mkdir { where_: dirop(g), attr: sattr(g) },
                10 => Nfs3Args::Symlink { where_: dirop(g), attr: sattr(g), target: Vec::arbitrary(g) },
                11 => Nfs3Args::Mknod {
                    where_: dirop(g),
                    what: MknodData::Device { kind: NF3CHR, attr: sattr(g), major: 1, minor: u32::arbitrary(g) },
                },
                12 => Nfs3Args::Remove(dirop(g)),
                13 => Nfs3Args::Rmdir(dirop(g)),
                14 => Nfs3Args::Rename { from: dirop(g), to: dirop(g) },
                15 => Nfs3Args::Link { fh: fh(g), link: dirop(g) },
                16 => Nfs3Args::Readdir {
                    fh: fh(g),
                    cookie: u64::arbitrary(g),
                    verf: <[u8; 8]>::arbitrary(g),
                    count: u32::arbitrary(g),
                },
                17 => Nfs3Args::Readdirplus {
                    fh: fh(g),
                    cookie: u64::arbitrary(g),
                    verf: <[u8; 8]>::arbitrary(g),
                    dircount: u32::arbitrary(g),
                    maxcount: u32::arbitrary(g),
                },
                18 => Nfs3Args::Fsstat(fh(g)),
                19 => Nfs3Args::Fsinfo(fh(g)),
                20 => Nfs3Args::Pathconf(fh(g)),
                _ => Nfs3Args::Commit { fh: fh(g), offset: u64::arbitrary(g), count: u32::arbitrary(g) },
            };
            AnyArgs(a)
        }
    }

    quickcheck! {
        fn encode_decode_round_trip(a: AnyArgs) -> bool {
            let mut w = XdrWriter::new();
            a.0.encode(&mut w);
            let mut r = XdrReader::new(w.as_slice());
            Nfs3Args::decode(a.0.proc_no(), &mut r) == Ok(a.0.clone()) && r.is_empty()
        }

        fn decoders_never_panic(proc_no: u8, data: Vec<u8>) -> bool {
            let _ = Nfs3Args::decode(proc_no as u32 % 24, &mut XdrReader::new(&data));
            true
        }

        fn truncation_is_garbage(a: AnyArgs, cut: usize) -> bool {
            let mut w = XdrWriter::new();
            a.0.encode(&mut w);
            let bytes = w.as_slice();
            if bytes.is_empty() {
                return true;
            }
            let cut = cut % bytes.len();
            matches!(
                Nfs3Args::decode(a.0.proc_no(), &mut XdrReader::new(&bytes[..cut])),
                Err(ArgsError::Garbage(_))
            )
        }
    }

    #[test]
    fn unknown_procedure() {
        assert_eq!(Nfs3Args::decode(22, &mut XdrReader::new(&[])), Err(ArgsError::ProcUnavail));
    }
}
