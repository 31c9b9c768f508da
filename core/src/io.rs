//! Storage requests: the data operations (SMB READ/WRITE/FLUSH, NFS
//! READ/WRITE/COMMIT) leave the core as [`IoRequest`]s that the adapter runs
//! off its event loop, and come back as [`IoCompletion`]s through
//! [`crate::Server::handle_io`]. The operation waits meanwhile (like an
//! operation parked behind a lease break) and every other connection goes
//! on being served; the reply leaves from the call that delivered the
//! completion.
//!
//! Ordering is kept here, per object, in arrival order: a write or sync waits
//! for every earlier request on its object, and a read waits for earlier
//! writes and syncs (reads run side by side). Requests in flight are bounded
//! ([`crate::config::Limits::max_io_in_flight`]); past the bound they wait
//! their turn in the core and are never dropped.
//!
//! Reads fill a pooled buffer ([`BufPool`]) that keeps [`HEADROOM`] bytes in
//! front of the data, so the reply's headers are written in front of the data
//! where it lies and the framed reply leaves as one slice of the very buffer
//! the storage read filled. The buffer returns to the pool when the adapter
//! drops the last reference to the reply. A reply that is neither signed nor
//! sealed, of a file the kernel holds, is not read into a buffer at all: the
//! data is spliced into pipes and from there into the socket
//! ([`crate::splice`], [`Reply::Spliced`]).

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};

use bytes::Bytes;

use crate::id::{ConnId, WaitToken};
use crate::splice::{PipePool, PipedData, Spliced};
use crate::time::Timespec;
use crate::vfs::{FileAttr, ObjectId, Vfs, VfsError, VfsResult};

/// Bytes kept free in front of read data for the transport, protocol and
/// reply headers (SMB: 4 + 64 + 16; NFS: 4 + RPC reply + post-op attributes
/// + counts, below 160), so the reply is built around the data in place.
pub const HEADROOM: usize = 256;
/// Bytes kept free after read data (XDR pads opaque data to 4 bytes).
pub const TAILROOM: usize = 8;

/// Names one storage request of a server; never reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IoId(pub u64);

/// The data of a WRITE, where it arrived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteData {
    /// A slice of the received message.
    Bytes(Bytes),
    /// A large lone WRITE's payload, spliced from the socket into pipes by
    /// the adapter ([`crate::Server::handle_spliced_frame`]): storage that
    /// can takes it with [`Vfs::write_spliced`], without a copy in user
    /// space.
    Piped(PipedData),
}

impl WriteData {
    /// Bytes to write.
    pub fn len(&self) -> usize {
        match self {
            WriteData::Bytes(b) => b.len(),
            WriteData::Piped(p) => p.len(),
        }
    }

    /// Whether there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bytes, when they are in memory.
    pub fn as_bytes(&self) -> Option<&Bytes> {
        match self {
            WriteData::Bytes(b) => Some(b),
            WriteData::Piped(_) => None,
        }
    }
}

impl From<Vec<u8>> for WriteData {
    fn from(v: Vec<u8>) -> Self {
        WriteData::Bytes(v.into())
    }
}

impl From<Bytes> for WriteData {
    fn from(b: Bytes) -> Self {
        WriteData::Bytes(b)
    }
}

/// What a storage request does.
#[derive(Debug, Clone)]
pub enum IoOp {
    /// Up to `len` bytes at `offset`.
    Read {
        /// The file read.
        object: ObjectId,
        /// Byte offset of the first byte read.
        offset: u64,
        /// Bytes wanted; fewer come back at end of file.
        len: u32,
    },
    /// `data` at `offset`, then (with `sync`) made durable.
    Write {
        /// The file written.
        object: ObjectId,
        /// Byte offset where `data` goes; the file grows as needed.
        offset: u64,
        /// The bytes to store: a slice of the received message, or the
        /// pipes the adapter received a large lone WRITE into; not a copy.
        data: WriteData,
        /// Wall-clock time of the request, for the modification and change
        /// times the write sets.
        now: Timespec,
        /// Make the data durable before completing: an NFS WRITE with
        /// `stable` DATA_SYNC or FILE_SYNC (RFC 1813 3.3.7).
        sync: bool,
    },
    /// A server-side copy (SMB COPYCHUNK): each (source offset, target
    /// offset, length) of `source` copied to `object` in turn with
    /// [`Vfs::copy_range`], ordered like a write to `object`. Completes as
    /// a write of the bytes copied.
    Copy {
        /// The file written.
        object: ObjectId,
        /// The file read.
        source: ObjectId,
        /// The chunks, each at most [`crate::vfs::MAX_COPY`] bytes.
        chunks: Vec<(u64, u64, u64)>,
        /// Wall-clock time of the request.
        now: Timespec,
    },
    /// Zeros a range of `object` ([`Vfs::zero_range`], SMB
    /// FSCTL_SET_ZERO_DATA), ordered like a write. Completes as a write of
    /// no bytes.
    ZeroRange {
        /// The file zeroed.
        object: ObjectId,
        /// First byte zeroed.
        offset: u64,
        /// Bytes zeroed (cut at the end of the file).
        len: u64,
        /// Free the storage (a sparse file) rather than keep it.
        deallocate: bool,
        /// Wall-clock time of the request.
        now: Timespec,
    },
    /// The allocated ranges of `object` ([`Vfs::allocated_ranges`], SMB
    /// FSCTL_QUERY_ALLOCATED_RANGES), ordered like a read.
    AllocatedRanges {
        /// The file asked about.
        object: ObjectId,
        /// Start of the range asked about.
        offset: u64,
        /// Length of the range asked about.
        len: u64,
        /// Most ranges wanted.
        max: usize,
    },
    /// Makes written data of `object` durable (SMB FLUSH, NFS COMMIT).
    Sync {
        /// The file whose data is flushed.
        object: ObjectId,
    },
    /// Checks the signature of a large signed SMB2 message (MS-SMB2
    /// 3.3.5.2.4) before anything else is done with it: per-byte work that
    /// does not belong on the core's thread either.
    VerifySignature {
        /// The check to run (algorithm and key, opaque here).
        check: Arc<dyn MessageCheck>,
        /// The whole received message, as it arrived.
        message: Bytes,
    },
    /// Decrypts a large encrypted SMB 3 message (MS-SMB2 3.3.5.2.1.1) in
    /// place, off the core's thread like a signature check.
    Decrypt {
        /// The decryption to run (cipher and key, opaque here).
        transform: Arc<dyn MessageTransform>,
        /// The whole received message, as it arrived.
        message: Bytes,
    },
}

/// A transformation of a whole received message (SMB 3 decryption) that
/// the protocol hands to a worker, opaque to the storage layer.
pub trait MessageTransform: Send + Sync + std::fmt::Debug {
    /// The message inside `message`, or None when it does not decrypt.
    fn apply(&self, message: Bytes) -> Option<Bytes>;
}

/// Above this many bytes an operation is bulk work ([`IoOp::is_bulk`]).
pub const BULK_BYTES: usize = 64 * 1024;

/// A check over a whole received message (an SMB2 signature) that the
/// protocol hands to a worker. The storage layer runs it without knowing
/// which protocol, key or algorithm it is.
pub trait MessageCheck: Send + Sync + std::fmt::Debug {
    /// Whether `message` passes.
    fn check(&self, message: &[u8]) -> bool;
}

impl IoOp {
    /// The object the operation works on, if any.
    pub fn object(&self) -> Option<ObjectId> {
        match self {
            IoOp::Read { object, .. }
            | IoOp::Write { object, .. }
            | IoOp::Copy { object, .. }
            | IoOp::ZeroRange { object, .. }
            | IoOp::AllocatedRanges { object, .. }
            | IoOp::Sync { object } => Some(*object),
            IoOp::VerifySignature { .. } | IoOp::Decrypt { .. } => None,
        }
    }

    /// Whether the operation is bulk work: it moves more than
    /// [`BULK_BYTES`] (a large READ or WRITE, a signature check or
    /// decryption of a large message), copies or zeroes a range, or flushes
    /// a file to stable storage. An adapter may let small operations (a
    /// metadata-sized read, an NFS WRITE that a lease-break acknowledgment
    /// released) pass bulk ones waiting for a worker, so that one client's
    /// transfer does not hold up another's small request.
    pub fn is_bulk(&self) -> bool {
        match self {
            IoOp::Read { len, .. } => *len as usize > BULK_BYTES,
            IoOp::Write { data, .. } => data.len() > BULK_BYTES,
            IoOp::VerifySignature { message, .. } | IoOp::Decrypt { message, .. } => message.len() > BULK_BYTES,
            IoOp::Copy { .. } | IoOp::ZeroRange { .. } | IoOp::Sync { .. } => true,
            IoOp::AllocatedRanges { .. } => false,
        }
    }

    fn is_read(&self) -> bool {
        matches!(
            self,
            IoOp::Read { .. } | IoOp::AllocatedRanges { .. } | IoOp::VerifySignature { .. } | IoOp::Decrypt { .. }
        )
    }
}

/// Frames a successful read's reply around its data in the buffer (headers
/// into the headroom, signature computed where the message lies) on the
/// worker that read it: the range of the framed reply, or `None` when the
/// read is not a success the reply can be built for. Given the buffer, the
/// count read and end of file.
pub type ReadFinisher = Box<dyn FnOnce(&mut PoolBuf, usize, bool) -> Option<std::ops::Range<usize>> + Send>;

/// For a READ reply whose bytes do not depend on its data (neither signed
/// nor sealed): the bytes that go in front of the data and the count of zero
/// bytes after it (XDR padding), given the count read and end of file, or
/// `None` when the read is not a success the reply can be built for. With
/// it, data of a file the kernel holds is spliced, not read
/// ([`crate::splice`]).
pub type ReadHead = Box<dyn FnOnce(usize, bool) -> Option<(Vec<u8>, usize)> + Send>;

/// For a WRITE whose reply depends on nothing but the write's outcome (an
/// NFS WRITE): the whole reply, framed for the wire, given the bytes
/// written and the attributes after the write. Called by the worker that
/// wrote, for a write that succeeded, so the reply can leave from there
/// ([`IoCompletion::take_reply`]); a failed write is answered by the core.
pub type WriteFinisher = Box<dyn FnOnce(usize, &FileAttr) -> Bytes + Send>;

/// Reads below this size are read into a buffer even where they could be
/// spliced: the pipes' system calls cost more than the copy they save.
pub const SPLICE_MIN: usize = 64 * 1024;

/// A storage operation for the adapter to run off its event loop (a
/// blocking pool, a worker thread), or at once where storage never blocks.
/// Running it is all the adapter does; the result goes back to the core with
/// [`crate::Server::handle_io`].
pub struct IoRequest {
    id: IoId,
    conn: ConnId,
    op: IoOp,
    finish: Option<ReadFinisher>,
    head: Option<ReadHead>,
    write_finish: Option<WriteFinisher>,
    vfs: Arc<dyn Vfs>,
    pool: Arc<BufPool>,
    pipes: Arc<PipePool>,
}

impl std::fmt::Debug for IoRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IoRequest").field("id", &self.id).field("op", &self.op).finish()
    }
}

/// Requests are equal when they are the same request (ids are unique).
impl PartialEq for IoRequest {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}

impl Eq for IoRequest {}

impl IoRequest {
    /// The request's id, which its [`IoCompletion`] carries back.
    pub fn id(&self) -> IoId {
        self.id
    }

    /// What the request does (for adapters that schedule by kind or
    /// object, and for tests).
    pub fn op(&self) -> &IoOp {
        &self.op
    }

    /// The connection whose operation waits for this request.
    pub fn conn(&self) -> ConnId {
        self.conn
    }

    /// Performs the operation (blocking) and returns its completion.
    pub fn run(mut self) -> IoCompletion {
        if let IoOp::Read { object, offset, len } = self.op {
            if let Some(result) = self.spliced_read(object, offset, len as usize) {
                return IoCompletion { id: self.id, result: IoResult::Read(result), reply: None };
            }
        }
        let mut reply = None;
        let result = match self.op {
            IoOp::Read { object, offset, len } => {
                let mut buf = self.pool.take(len as usize);
                match self.vfs.read_into(object, offset, buf.data_mut(len as usize)) {
                    Ok((n, eof)) => {
                        let framed = self.finish.and_then(|f| f(&mut buf, n, eof));
                        IoResult::Read(Ok(ReadData { buf, len: n, eof, framed, sent: None, spliced: None }))
                    }
                    Err(e) => IoResult::Read(Err(e)),
                }
            }
            IoOp::Write { object, offset, data, now, sync } => {
                let written = match &data {
                    WriteData::Bytes(b) => self.vfs.write(object, offset, b, now),
                    WriteData::Piped(p) => match p.take() {
                        Some(mut pipes) => self.vfs.write_spliced(object, offset, &mut pipes, p.len(), now),
                        None => Err(VfsError::Io("write data already taken".into())),
                    },
                };
                let r = written.and_then(|attr| {
                    if sync {
                        self.vfs.sync(object)?;
                        return self.vfs.getattr(object).or(Ok(attr));
                    }
                    Ok(attr)
                });
                let r = r.map(|attr| (data.len(), attr));
                if let (Ok((n, attr)), Some(finish)) = (&r, self.write_finish.take()) {
                    reply = Some(finish(*n, attr));
                }
                IoResult::Write(r)
            }
            IoOp::Copy { object, source, chunks, now } => {
                let mut total = 0u64;
                let mut last = None;
                let mut r = Ok(());
                for (from, to, len) in chunks {
                    match self.vfs.copy_range(source, from, object, to, len, now) {
                        Ok((n, attr)) => {
                            total += n;
                            last = Some(attr);
                        }
                        Err(e) => {
                            r = Err(e);
                            break;
                        }
                    }
                }
                let r = r.and_then(|()| last.map_or_else(|| self.vfs.getattr(object), Ok));
                IoResult::Write(r.map(|attr| (total as usize, attr)))
            }
            IoOp::ZeroRange { object, offset, len, deallocate, now } => {
                IoResult::Write(self.vfs.zero_range(object, offset, len, deallocate, now).map(|attr| (0, attr)))
            }
            IoOp::AllocatedRanges { object, offset, len, max } => {
                IoResult::Ranges(self.vfs.allocated_ranges(object, offset, len, max))
            }
            IoOp::Sync { object } => IoResult::Sync(self.vfs.sync(object)),
            IoOp::VerifySignature { check, message } => IoResult::Verified(check.check(&message)),
            IoOp::Decrypt { transform, message } => IoResult::Decrypted(transform.apply(message)),
        };
        IoCompletion { id: self.id, result, reply: reply.map(|b| Box::new(WriteReply::Framed(b))) }
    }

    /// A read spliced from the kernel's file into pipes, its reply's
    /// headers built for the count the pipes hold; `None` when the read
    /// goes through a buffer instead (the reply is signed or sealed, the
    /// storage cannot splice, the read is small or at end of file).
    fn spliced_read(&mut self, object: ObjectId, offset: u64, len: usize) -> Option<VfsResult<ReadData>> {
        if len < SPLICE_MIN {
            return None;
        }
        let head = self.head.take()?;
        let (file, size) = match self.vfs.read_file(object) {
            Ok(Some(found)) => found,
            Ok(None) => return None,
            Err(e) => return Some(Err(e)),
        };
        let want = size.checked_sub(offset).filter(|left| *left > 0)?.min(len as u64) as usize;
        if want < SPLICE_MIN {
            return None;
        }
        let mut data = self.pipes.fill(&file, offset, want)?;
        let n = data.len();
        // Fewer than asked: the file shrank since its size was taken.
        let eof = n < want || offset + n as u64 >= size;
        if let Some((head, tail)) = head(n, eof) {
            let reply = SplicedReply { head: Bytes::from(head), data, tail };
            let spliced = Some(Box::new(reply));
            let rd = ReadData { buf: PoolBuf::detached(), len: n, eof, framed: None, sent: None, spliced };
            return Some(Ok(rd));
        }
        // No reply to build around the data (MS-SMB2 3.3.5.12: fewer bytes
        // than MinimumCount): the core answers from the data, in a buffer.
        let mut buf = self.pool.take(n);
        data.drain_into(buf.data_mut(n)).ok().filter(|got| *got == n)?;
        let framed = self.finish.take().and_then(|f| f(&mut buf, n, eof));
        Some(Ok(ReadData { buf, len: n, eof, framed, sent: None, spliced: None }))
    }

    /// A completion that reports `error` without touching storage (the
    /// simulation injects storage faults with it).
    pub fn fail(self, error: VfsError) -> IoCompletion {
        let result = match self.op {
            IoOp::Read { .. } => IoResult::Read(Err(error)),
            IoOp::Write { .. } | IoOp::Copy { .. } | IoOp::ZeroRange { .. } => IoResult::Write(Err(error)),
            IoOp::AllocatedRanges { .. } => IoResult::Ranges(Err(error)),
            IoOp::Sync { .. } => IoResult::Sync(Err(error)),
            // A check that could not run is a check that failed.
            IoOp::VerifySignature { .. } => IoResult::Verified(false),
            IoOp::Decrypt { .. } => IoResult::Decrypted(None),
        };
        IoCompletion { id: self.id, result, reply: None }
    }

    /// A write that stores only the first `len` bytes of its data and
    /// reports the short count (the simulation injects short writes with
    /// it); other requests run as they are.
    pub fn run_short(mut self, len: usize) -> IoCompletion {
        if let IoOp::Write { data, .. } = &mut self.op {
            match data {
                WriteData::Bytes(b) => b.truncate(len),
                WriteData::Piped(p) => p.truncate(len),
            }
        }
        self.run()
    }
}

/// The outcome of one [`IoRequest`].
#[derive(Debug)]
pub struct IoCompletion {
    id: IoId,
    pub(crate) result: IoResult,
    /// The reply a [`WriteFinisher`] framed (boxed: completions travel
    /// through the adapters' event channels).
    reply: Option<Box<WriteReply>>,
}

/// A reply a [`WriteFinisher`] framed.
#[derive(Debug)]
enum WriteReply {
    /// Not taken yet.
    Framed(Bytes),
    /// Taken by the adapter, this many bytes.
    Sent(usize),
}

impl IoCompletion {
    /// The id of the request this completes.
    pub fn id(&self) -> IoId {
        self.id
    }

    /// Bytes of the reply the adapter took and sent itself, if it did.
    pub(crate) fn sent_by_adapter(&self) -> Option<usize> {
        match &self.result {
            IoResult::Read(Ok(rd)) => rd.sent,
            _ => match self.reply.as_deref() {
                Some(WriteReply::Sent(n)) => Some(*n),
                _ => None,
            },
        }
    }

    /// The finished reply the worker framed around the data it read (a
    /// lone SMB READ's or an NFS READ's: headers in the buffer's headroom,
    /// signed or sealed where it lies), or for the write it made (an NFS
    /// WRITE's, framed from the write's outcome), if there is one and it
    /// was not taken yet. An adapter may write it to the request's connection
    /// ([`IoRequest::conn`]) at once, from the worker, behind whatever that
    /// connection has queued, before it hands the completion to the core
    /// ([`crate::Server::handle_io`]); the core then does its bookkeeping
    /// and does not send the reply again. That spares the reply a trip
    /// through the core's thread and a writer's, and the bytes are still in
    /// the cache of the CPU that read them. An adapter that does not take
    /// it gets the reply from the core as an [`crate::Output::Transmit`].
    pub fn take_reply(&mut self) -> Option<Reply> {
        if let Some(reply) = self.reply.as_deref_mut() {
            let WriteReply::Framed(b) = reply else { return None };
            let b = std::mem::take(b);
            *reply = WriteReply::Sent(b.len());
            return Some(Reply::Whole(b));
        }
        let IoResult::Read(Ok(rd)) = &mut self.result else { return None };
        if let Some(spliced) = rd.spliced.take() {
            rd.sent = Some(spliced.len());
            return Some(Reply::Spliced(*spliced));
        }
        let range = rd.framed.take()?;
        rd.sent = Some(range.len());
        Some(Reply::Whole(std::mem::replace(&mut rd.buf, PoolBuf::detached()).freeze(range)))
    }
}

/// A READ reply a storage worker framed ([`IoCompletion::take_reply`]).
#[derive(Debug)]
pub enum Reply {
    /// The whole message, in a buffer.
    Whole(Bytes),
    /// Headers in a buffer, the data in pipes ([`crate::splice`]).
    Spliced(SplicedReply),
}

impl Reply {
    /// The message's length in bytes.
    pub fn len(&self) -> usize {
        match self {
            Reply::Whole(b) => b.len(),
            Reply::Spliced(s) => s.len(),
        }
    }

    /// Whether the message is empty (never, for a framed reply).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The whole message in one buffer; spliced data is read back from its
    /// pipes (a copy: for a reply no adapter sends from its pipes).
    pub fn into_bytes(self) -> std::io::Result<Bytes> {
        match self {
            Reply::Whole(b) => Ok(b),
            Reply::Spliced(s) => s.into_bytes(),
        }
    }
}

/// A reply whose data is spliced: `head`, then [`SplicedReply::data`], then
/// `tail` zero bytes. The adapter writes the head, splices the pipes into
/// the socket, and writes the tail; or reads it all back
/// ([`SplicedReply::into_bytes`]).
#[derive(Debug)]
pub struct SplicedReply {
    /// Transport, protocol and reply headers.
    pub head: Bytes,
    /// The data, in pipes.
    pub data: Spliced,
    /// Zero bytes after the data (XDR padding, at most 3).
    pub tail: usize,
}

impl SplicedReply {
    /// Bytes of the whole message not yet sent.
    pub fn len(&self) -> usize {
        self.head.len() + self.data.len() + self.tail
    }

    /// Whether everything was sent.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The zero bytes that follow the data.
    pub fn tail_bytes(&self) -> Bytes {
        Bytes::from_static(&[0u8; TAILROOM]).slice(..self.tail.min(TAILROOM))
    }

    /// What is left of the message in one new buffer, the data read back
    /// from the pipes: for a reply no adapter sends from its pipes (the
    /// core sends it itself, or a test looks at it).
    pub fn into_bytes(mut self) -> std::io::Result<Bytes> {
        let (head, n) = (self.head.len(), self.data.len());
        let mut buf = vec![0u8; head + n + self.tail.min(TAILROOM)];
        buf.get_mut(..head).ok_or(std::io::ErrorKind::InvalidInput)?.copy_from_slice(&self.head);
        let got = self.data.drain_into(buf.get_mut(head..head + n).ok_or(std::io::ErrorKind::InvalidInput)?)?;
        if got != n {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        Ok(Bytes::from(buf))
    }
}

/// Data read into a pooled buffer: `len` bytes at [`HEADROOM`].
#[derive(Debug)]
pub(crate) struct ReadData {
    pub buf: PoolBuf,
    pub len: usize,
    pub eof: bool,
    /// The reply the worker framed around the data ([`ReadFinisher`]).
    pub framed: Option<std::ops::Range<usize>>,
    /// The adapter took the framed reply, this many bytes, and sent it
    /// ([`IoCompletion::take_reply`]); `buf` no longer holds the data.
    pub sent: Option<usize>,
    /// The reply, its data spliced into pipes (`buf` holds nothing).
    pub spliced: Option<Box<SplicedReply>>,
}

impl ReadData {
    /// The reply the worker framed around the data: `Ok(Some(reply))` to
    /// send, `Ok(None)` when the adapter sent it already
    /// ([`IoCompletion::take_reply`]), or the data back when none was
    /// framed.
    pub fn into_framed(mut self) -> Result<Option<Bytes>, ReadData> {
        if self.sent.is_some() {
            return Ok(None);
        }
        if let Some(spliced) = self.spliced.take() {
            // No adapter took it: the core sends it from a buffer. A pipe
            // that cannot be read back fails the read.
            return spliced.into_bytes().map(Some).map_err(|_| self);
        }
        match self.framed.clone() {
            Some(range) => Ok(Some(self.buf.freeze(range))),
            None => Err(self),
        }
    }

    /// The bytes read.
    pub fn data(&self) -> &[u8] {
        self.buf.vec.get(HEADROOM..HEADROOM + self.len).unwrap_or_default()
    }
}

#[derive(Debug)]
pub(crate) enum IoResult {
    Read(VfsResult<ReadData>),
    /// Bytes written and the attributes after the write.
    Write(VfsResult<(usize, FileAttr)>),
    Sync(VfsResult<()>),
    /// Allocated ranges as (offset, length).
    Ranges(VfsResult<Vec<(u64, u64)>>),
    /// Whether the signature checked out.
    Verified(bool),
    /// The message inside, when it decrypted.
    Decrypted(Option<Bytes>),
}

/// A buffer from a [`BufPool`]: [`HEADROOM`], then room for data, then
/// [`TAILROOM`]. Its bytes were initialised once, when the pool first made
/// it; reuse does not clear them (only what a read fills is ever sent).
#[derive(Debug)]
pub struct PoolBuf {
    vec: Vec<u8>,
    pool: Option<Arc<BufPool>>,
}

impl PoolBuf {
    /// An empty buffer of no pool, standing in for one given away.
    fn detached() -> Self {
        PoolBuf { vec: Vec::new(), pool: None }
    }

    /// The data area, `len` bytes after the headroom.
    pub fn data_mut(&mut self, len: usize) -> &mut [u8] {
        let end = HEADROOM.saturating_add(len).min(self.vec.len());
        self.vec.get_mut(HEADROOM..end).unwrap_or_default()
    }

    /// The whole buffer, headroom included.
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        &mut self.vec
    }

    /// `range` of the buffer as `Bytes`, without copying: the buffer goes
    /// back to its pool when the last reference is dropped.
    pub fn freeze(self, range: std::ops::Range<usize>) -> Bytes {
        Bytes::from_owner(self).slice(range)
    }
}

impl AsRef<[u8]> for PoolBuf {
    fn as_ref(&self) -> &[u8] {
        &self.vec
    }
}

impl Drop for PoolBuf {
    fn drop(&mut self) {
        if let Some(pool) = self.pool.take() {
            pool.give(std::mem::take(&mut self.vec));
        }
    }
}

/// Read buffers kept for reuse, by size class (room for a power of two of
/// data from 64 KiB, plus headroom and tailroom),
/// holding at most [`BufPool::max_bytes`] in all. Reusing them spares every
/// READ a fresh multi-MiB allocation, its zero fill and the kernel's page
/// faults on it.
#[derive(Debug)]
pub struct BufPool {
    free: Mutex<BTreeMap<usize, Vec<Vec<u8>>>>,
    held: Mutex<usize>,
    max_bytes: usize,
}

const MIN_CLASS: usize = 64 * 1024;

impl BufPool {
    /// A pool that keeps at most `max_bytes` of idle buffers.
    pub fn new(max_bytes: usize) -> Arc<Self> {
        Arc::new(Self { free: Mutex::new(BTreeMap::new()), held: Mutex::new(0), max_bytes })
    }

    /// A buffer's length: room for a power-of-two amount of data (so an
    /// 8 MiB READ takes 8 MiB and change, not 16 MiB) plus the headroom and
    /// tailroom around it.
    fn class(data_len: usize) -> usize {
        data_len.max(MIN_CLASS).next_power_of_two() + HEADROOM + TAILROOM
    }

    fn is_class(len: usize) -> bool {
        len.checked_sub(HEADROOM + TAILROOM).is_some_and(|d| d >= MIN_CLASS && d.is_power_of_two())
    }

    /// A buffer with room for `data_len` bytes of data.
    pub fn take(self: &Arc<Self>, data_len: usize) -> PoolBuf {
        let class = Self::class(data_len);
        let reused = {
            let mut free = self.free.lock().unwrap_or_else(|e| e.into_inner());
            free.get_mut(&class).and_then(Vec::pop)
        };
        let vec = match reused {
            Some(v) => {
                *self.held.lock().unwrap_or_else(|e| e.into_inner()) -= v.len();
                v
            }
            None => vec![0u8; class],
        };
        PoolBuf { vec, pool: Some(self.clone()) }
    }

    fn give(&self, vec: Vec<u8>) {
        let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        if *held + vec.len() > self.max_bytes || !Self::is_class(vec.len()) {
            return;
        }
        *held += vec.len();
        drop(held);
        let mut free = self.free.lock().unwrap_or_else(|e| e.into_inner());
        free.entry(vec.len()).or_default().push(vec);
    }

    /// Bytes held by idle buffers.
    pub fn idle_bytes(&self) -> usize {
        *self.held.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// One request the core tracks until its completion arrives.
#[derive(Debug)]
struct Tracked {
    token: WaitToken,
    object: Option<ObjectId>,
    read: bool,
    /// Handed to the adapter (as opposed to waiting its turn).
    issued: bool,
}

/// The core's side of storage requests: ordering, the in-flight bound, and
/// the results waiting for their operation to resume.
#[derive(Debug)]
pub(crate) struct IoTable {
    next: u64,
    max_in_flight: usize,
    in_flight: usize,
    tracked: BTreeMap<IoId, Tracked>,
    /// Requests not yet issued, in arrival order.
    waiting: VecDeque<IoRequest>,
    /// Completed results, by the operation that waits for them.
    done: BTreeMap<WaitToken, IoResult>,
    /// Replies storage workers framed for completed writes
    /// ([`WriteFinisher`]): `None` once the adapter sent it.
    replies: BTreeMap<WaitToken, Option<Bytes>>,
    /// Operations waiting until no write is outstanding on an object.
    barriers: Vec<(ObjectId, WaitToken)>,
    /// Barriers lifted, to be resumed.
    lifted: Vec<WaitToken>,
    pool: Arc<BufPool>,
    pipes: Arc<PipePool>,
}

impl IoTable {
    pub fn new(max_in_flight: usize, pool_bytes: usize) -> Self {
        Self {
            next: 1,
            max_in_flight: max_in_flight.max(1),
            in_flight: 0,
            tracked: BTreeMap::new(),
            waiting: VecDeque::new(),
            done: BTreeMap::new(),
            replies: BTreeMap::new(),
            barriers: Vec::new(),
            lifted: Vec::new(),
            pool: BufPool::new(pool_bytes),
            pipes: PipePool::new(),
        }
    }

    /// The pipe pool of the requests this table issues.
    pub fn pipes(&self) -> Arc<PipePool> {
        Arc::clone(&self.pipes)
    }

    /// Registers a request for `token`; it is issued with the next
    /// [`IoTable::issue`] once its turn comes.
    pub fn submit(&mut self, token: WaitToken, op: IoOp, vfs: Arc<dyn Vfs>) -> IoId {
        let id = IoId(self.next);
        self.next += 1;
        let object = op.object();
        let read = op.is_read();
        self.tracked.insert(id, Tracked { token, object, read, issued: false });
        let req = self.request(id, token.conn, op, vfs);
        self.waiting.push_back(req);
        id
    }

    /// Runs `op` at once, outside the table (no ordering, no bound): for a
    /// data operation the caller must answer before it returns.
    pub fn run_inline(&self, op: IoOp, vfs: Arc<dyn Vfs>) -> IoResult {
        self.request(IoId(0), ConnId(0), op, vfs).run().result
    }

    /// A request with no finisher yet, drawing on this table's pools.
    fn request(&self, id: IoId, conn: ConnId, op: IoOp, vfs: Arc<dyn Vfs>) -> IoRequest {
        let (pool, pipes) = (self.pool.clone(), self.pipes.clone());
        IoRequest { id, conn, op, finish: None, head: None, write_finish: None, vfs, pool, pipes }
    }

    /// The request `token` submitted, while it waits to be issued (a
    /// finisher can be attached until then).
    fn unissued(&mut self, token: WaitToken) -> Option<&mut IoRequest> {
        let (id, _) = self.tracked.iter().find(|(_, t)| t.token == token && !t.issued)?;
        let id = *id;
        self.waiting.iter_mut().find(|r| r.id == id)
    }

    /// Gives the request `token` submitted (not yet issued) a finisher, and
    /// for a reply that is neither signed nor sealed its head
    /// ([`ReadHead`]: the data may then be spliced).
    pub fn attach_finisher(&mut self, token: WaitToken, finish: ReadFinisher, head: Option<ReadHead>) {
        if let Some(req) = self.unissued(token) {
            req.finish = Some(finish);
            req.head = head;
        }
    }

    /// Gives the WRITE request `token` submitted (not yet issued) the
    /// finisher that frames its reply on the worker.
    pub fn attach_write_finisher(&mut self, token: WaitToken, finish: WriteFinisher) {
        if let Some(req) = self.unissued(token) {
            req.write_finish = Some(finish);
        }
    }

    /// Whether request `id` may start: nothing earlier on its object
    /// conflicts with it (reads only conflict with writes and syncs).
    fn may_start(&self, id: IoId) -> bool {
        let Some(me) = self.tracked.get(&id) else { return false };
        me.object.is_none() || !self.tracked.range(..id).any(|(_, t)| t.object == me.object && !(t.read && me.read))
    }

    /// The requests that may start now, in arrival order, within the bound.
    pub fn issue(&mut self) -> Vec<IoRequest> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < self.waiting.len() && self.in_flight < self.max_in_flight {
            let Some(id) = self.waiting.get(i).map(IoRequest::id) else { break };
            if self.may_start(id) {
                if let Some(req) = self.waiting.remove(i) {
                    if let Some(t) = self.tracked.get_mut(&id) {
                        t.issued = true;
                    }
                    self.in_flight += 1;
                    out.push(req);
                }
            } else {
                i += 1;
            }
        }
        out
    }

    /// Takes a completion: its result waits for its operation, which is
    /// returned to be resumed. Unknown ids (a completion delivered twice, or
    /// for a request of a connection that went away) give `None`.
    pub fn complete(&mut self, c: IoCompletion) -> Option<(WaitToken, Option<ObjectId>, bool)> {
        let t = self.tracked.remove(&c.id)?;
        if t.issued {
            self.in_flight = self.in_flight.saturating_sub(1);
        }
        let wrote = matches!(c.result, IoResult::Write(Ok(_)));
        if let Some(reply) = c.reply {
            self.replies.insert(
                t.token,
                match *reply {
                    WriteReply::Framed(b) => Some(b),
                    WriteReply::Sent(_) => None,
                },
            );
        }
        self.done.insert(t.token, c.result);
        if let Some(object) = t.object.filter(|o| !self.writes_outstanding(*o)) {
            let (lift, keep): (Vec<_>, Vec<_>) = self.barriers.drain(..).partition(|(o, _)| *o == object);
            self.barriers = keep;
            self.lifted.extend(lift.into_iter().map(|(_, w)| w));
        }
        Some((t.token, t.object, wrote))
    }

    /// Whether a write or sync on `object` is outstanding (issued or waiting).
    pub fn writes_outstanding(&self, object: ObjectId) -> bool {
        self.tracked.values().any(|t| t.object == Some(object) && !t.read)
    }

    /// `token` waits until no write is outstanding on `object` (a new open
    /// must not be granted caching while data it has not seen is still
    /// landing); it is handed back by [`IoTable::take_lifted`].
    pub fn wait_for_writes(&mut self, object: ObjectId, token: WaitToken) {
        self.barriers.push((object, token));
    }

    /// Operations whose barrier was lifted since the last call.
    pub fn take_lifted(&mut self) -> Vec<WaitToken> {
        std::mem::take(&mut self.lifted)
    }

    /// `token` no longer waits (cancelled).
    pub fn cancel_waiter(&mut self, token: WaitToken) {
        self.barriers.retain(|(_, w)| *w != token);
        self.lifted.retain(|w| *w != token);
    }

    /// The result for `token`, once.
    pub fn take_result(&mut self, token: WaitToken) -> Option<IoResult> {
        self.take_result_and_reply(token).map(|(result, _)| result)
    }

    /// The result for `token`, once, with the reply its worker framed
    /// ([`WriteFinisher`]): `Some(None)` when the adapter sent that reply,
    /// `None` when there is none.
    pub fn take_result_and_reply(&mut self, token: WaitToken) -> Option<(IoResult, Option<Option<Bytes>>)> {
        let reply = self.replies.remove(&token);
        Some((self.done.remove(&token)?, reply))
    }

    /// Connection `conn` went away: its requests not yet issued are
    /// dropped, its results forgotten; those in flight complete into nothing.
    pub fn cancel_conn(&mut self, conn: ConnId) {
        self.done.retain(|t, _| t.conn != conn);
        self.replies.retain(|t, _| t.conn != conn);
        self.barriers.retain(|(_, w)| w.conn != conn);
        self.lifted.retain(|w| w.conn != conn);
        let unissued: Vec<IoId> =
            self.tracked.iter().filter(|(_, t)| t.token.conn == conn && !t.issued).map(|(id, _)| *id).collect();
        for id in &unissued {
            self.tracked.remove(id);
        }
        self.waiting.retain(|r| !unissued.contains(&r.id));
    }

    /// Requests whose completion has not arrived (issued or waiting).
    pub fn outstanding(&self) -> usize {
        self.tracked.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pooled_buffers_are_reused_and_sized_to_their_class() {
        let pool = BufPool::new(64 << 20);
        let mut a = pool.take(8 << 20);
        assert_eq!(a.as_mut_slice().len(), (8 << 20) + HEADROOM + TAILROOM, "8 MiB of data, not 16");
        assert_eq!(a.data_mut(8 << 20).len(), 8 << 20);
        let addr = a.as_mut_slice().as_ptr() as usize;
        let reply = a.freeze(0..HEADROOM + 10);
        assert_eq!(pool.idle_bytes(), 0, "in use while the reply lives");
        drop(reply);
        assert_eq!(pool.idle_bytes(), (8 << 20) + HEADROOM + TAILROOM, "back in the pool");
        let mut b = pool.take(5 << 20);
        assert_eq!(b.as_mut_slice().as_ptr() as usize, addr, "the same buffer again");
        let small = pool.take(100);
        assert_eq!(small.as_ref().len(), MIN_CLASS + HEADROOM + TAILROOM);
    }

    #[test]
    fn the_pool_keeps_at_most_its_bound() {
        let pool = BufPool::new(1 << 20);
        let bufs: Vec<PoolBuf> = (0..20).map(|_| pool.take(64 * 1024)).collect();
        drop(bufs);
        assert!(pool.idle_bytes() <= 1 << 20);
    }
}
