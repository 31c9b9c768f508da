//! Read data that never enters user space: a READ of a file the kernel
//! holds (`LocalFs`) is spliced from the file into pipes (splice(2): the
//! pipes take references to the page-cache pages, nothing is copied), and
//! the adapter splices the pipes into the socket behind the reply's
//! headers. On loopback and on most NICs the only copy left is the one into
//! the client. A reply whose bytes depend on the data (signed or sealed)
//! still reads into a pooled buffer.
//!
//! Why pipes and not sendfile(2): a reply's headers carry the count, and a
//! file can shrink between a `stat` and the send. Splicing into pipes first
//! fixes the count (what the pipes hold is what is sent) before the headers
//! are written. A truncation after that does not reach the spliced pages;
//! an in-place write may, until the client has read them: the same as a
//! read that raced the write, which neither protocol orders.

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use rustix::pipe::{PipeFlags, SpliceFlags};

/// Capacity asked for each pipe: the default `/proc/sys/fs/pipe-max-size`,
/// so an unprivileged server gets it too. A read larger than one pipe
/// takes several.
const PIPE_SIZE: usize = 1 << 20;
/// Idle pipes kept for reuse (each is two descriptors).
const MAX_IDLE: usize = 32;
/// Most pipes open at once, idle or holding data: 512 descriptors. Replies
/// queued on slow connections hold theirs; past the bound reads go through
/// a buffer, so pipes never starve the server of descriptors (accepts, open
/// files).
pub const MAX_LIVE: usize = 256;
/// Most pipes one read may fill (8 MiB of data and more).
pub(crate) const MAX_PIPES: usize = 18;

/// One pipe: its two ends and the bytes it holds.
#[derive(Debug)]
struct Pipe {
    read: OwnedFd,
    write: OwnedFd,
    held: usize,
}

/// Pipes kept for reuse, shared by the workers.
#[derive(Debug)]
pub struct PipePool {
    idle: Mutex<Vec<Pipe>>,
    /// Pipes open, idle or not.
    live: AtomicUsize,
    max_live: usize,
    /// Capacity asked for each pipe.
    pipe_size: usize,
}

impl PipePool {
    /// An empty pool of at most [`MAX_LIVE`] pipes.
    pub fn new() -> Arc<Self> {
        Self::with_limit(MAX_LIVE)
    }

    /// An empty pool of at most `max_live` pipes.
    pub fn with_limit(max_live: usize) -> Arc<Self> {
        Self::with_pipe_size(max_live, PIPE_SIZE)
    }

    /// An empty pool of at most `max_live` pipes of `pipe_size` bytes each
    /// (rounded up by the kernel to a power of two pages).
    pub fn with_pipe_size(max_live: usize, pipe_size: usize) -> Arc<Self> {
        Arc::new(Self { idle: Mutex::new(Vec::new()), live: AtomicUsize::new(0), max_live, pipe_size })
    }

    fn take(&self) -> io::Result<Pipe> {
        if let Some(p) = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop() {
            return Ok(p);
        }
        if self.live.fetch_add(1, Ordering::Relaxed) >= self.max_live {
            self.live.fetch_sub(1, Ordering::Relaxed);
            return Err(io::ErrorKind::OutOfMemory.into());
        }
        let (read, write) = match rustix::pipe::pipe_with(PipeFlags::CLOEXEC | PipeFlags::NONBLOCK) {
            Ok(ends) => ends,
            Err(e) => {
                self.live.fetch_sub(1, Ordering::Relaxed);
                return Err(e.into());
            }
        };
        // Failing leaves the default size (64 KiB); a read then takes more
        // pipes, or falls back to a buffer.
        let _ = rustix::pipe::fcntl_setpipe_size(&write, self.pipe_size);
        Ok(Pipe { read, write, held: 0 })
    }

    fn give(&self, p: Pipe) {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        // A pipe that still holds data is closed, never reused.
        if p.held == 0 && idle.len() < MAX_IDLE {
            idle.push(p);
        } else {
            self.live.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// Pipes open now, idle or holding data.
    pub fn live(&self) -> usize {
        self.live.load(Ordering::Relaxed)
    }

    /// Idle pipes (for tests).
    pub fn idle(&self) -> usize {
        self.idle.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Splices up to `len` bytes of `file` at `offset` into pipes. Returns
    /// what they hold: `len` bytes, or fewer when the file ends first.
    /// `None` when splicing is not possible here (the file system does not
    /// splice, a pipe could not be made, or `len` needs more than
    /// `MAX_PIPES`); the caller reads into a buffer instead.
    pub fn fill(self: &Arc<Self>, file: &std::fs::File, offset: u64, len: usize) -> Option<Spliced> {
        let mut out = Spliced { pipes: Vec::new(), len: 0, pool: Arc::clone(self) };
        let mut off = offset;
        let mut pipe = self.take().ok()?;
        while out.len < len {
            match rustix::pipe::splice(file, Some(&mut off), &pipe.write, None, len - out.len, SpliceFlags::NONBLOCK) {
                Ok(0) => break,
                Ok(n) => {
                    pipe.held += n;
                    out.len += n;
                }
                // This pipe is full: on to the next.
                Err(rustix::io::Errno::AGAIN) if pipe.held > 0 && out.pipes.len() + 1 < MAX_PIPES => {
                    out.pipes.push(pipe);
                    pipe = self.take().ok()?;
                }
                Err(rustix::io::Errno::INTR) => {}
                Err(_) => {
                    out.pipes.push(pipe);
                    // `out` drops: its pipes still hold data, so they close.
                    return None;
                }
            }
        }
        out.pipes.push(pipe);
        Some(out)
    }
}

/// File data held in pipes, in order, waiting to be spliced into a socket
/// (or read back, [`Spliced::drain_into`]). Dropping it closes pipes that
/// still hold data and gives the empty ones back to their pool.
#[derive(Debug)]
pub struct Spliced {
    pipes: Vec<Pipe>,
    len: usize,
    pool: Arc<PipePool>,
}

impl Spliced {
    /// Bytes not yet taken.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether every byte was taken.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The read end of the pipe holding the next bytes, and how many it
    /// holds; `None` when all were taken. Splice from it
    /// (`splice(pipe, None, socket, None, n, ..)`) and report what moved
    /// with [`Spliced::taken`].
    pub fn front(&self) -> Option<(BorrowedFd<'_>, usize)> {
        self.pipes.iter().find(|p| p.held > 0).map(|p| (p.read.as_fd(), p.held))
    }

    /// `n` bytes were taken from the front pipe.
    pub fn taken(&mut self, n: usize) {
        if let Some(p) = self.pipes.iter_mut().find(|p| p.held > 0) {
            let n = n.min(p.held);
            p.held -= n;
            self.len -= n;
        }
    }

    /// Reads what the pipes still hold into `buf` (which must have room for
    /// [`Spliced::len`] bytes): for a reply that cannot be spliced after all
    /// (its connection's socket is busy, or no adapter sends it). Returns
    /// the bytes read.
    pub fn drain_into(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.len;
        self.read_exact_into(buf.get_mut(..n).ok_or(io::ErrorKind::InvalidInput)?)?;
        Ok(n)
    }
}

impl Spliced {
    /// Reads exactly `buf.len()` of the bytes the pipes hold into `buf`
    /// (for storage that cannot take pipes: the data is copied once, as a
    /// buffered WRITE's would have been).
    pub fn read_exact_into(&mut self, buf: &mut [u8]) -> io::Result<()> {
        let mut at = 0usize;
        while at < buf.len() {
            let (fd, held) = self.front().ok_or(io::ErrorKind::UnexpectedEof)?;
            let end = buf.len().min(at + held);
            let n = match rustix::io::read(fd, &mut buf[at..end]) {
                Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
                Ok(n) => n,
                Err(rustix::io::Errno::INTR) => continue,
                Err(e) => return Err(e.into()),
            };
            self.taken(n);
            at += n;
        }
        Ok(())
    }

    /// The first `len` bytes the pipes hold, read into a new buffer.
    pub fn read_vec(&mut self, len: usize) -> io::Result<Vec<u8>> {
        let mut buf = vec![0u8; len];
        self.read_exact_into(&mut buf)?;
        Ok(buf)
    }

    /// Splices the first `len` bytes the pipes hold into `file` at
    /// `offset` (a WRITE received into pipes: the file system copies the
    /// pages once, and nothing passes through user space).
    pub fn splice_to_file(&mut self, file: &std::fs::File, offset: u64, len: usize) -> io::Result<()> {
        let mut off = offset;
        let mut left = len;
        while left > 0 {
            let (fd, held) = self.front().ok_or(io::ErrorKind::UnexpectedEof)?;
            let want = held.min(left);
            let n = match rustix::pipe::splice(fd, None, file, Some(&mut off), want, SpliceFlags::empty()) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => n,
                Err(rustix::io::Errno::INTR) => continue,
                Err(e) => return Err(e.into()),
            };
            self.taken(n);
            left -= n;
        }
        Ok(())
    }
}

/// A message's payload being received from a socket into pipes (splice(2)
/// from the socket takes references to the pages the kernel received into:
/// no copy). The adapter's reader calls [`Inflow::splice_from`] whenever the
/// socket is readable, until [`Inflow::remaining`] is 0, and hands the core
/// [`Inflow::finish`]. See `framing::spliceable_write` for which messages.
#[derive(Debug)]
pub struct Inflow {
    data: Spliced,
    /// The pipe being filled.
    pipe: Option<Pipe>,
    remaining: usize,
}

/// Most pipes one received payload may fill. A pipe holds 256 pieces of
/// what the socket received (each up to a page or more), so an 8 MiB
/// WRITE takes 8 pipes on loopback and more on a link without large
/// receive offload.
pub const MAX_INFLOW_PIPES: usize = 64;

impl PipePool {
    /// Starts receiving `len` bytes into pipes; `None` when no pipe is to
    /// be had (the caller reads into a buffer instead).
    pub fn inflow(self: &Arc<Self>, len: usize) -> Option<Inflow> {
        let pipe = self.take().ok()?;
        Some(Inflow {
            data: Spliced { pipes: Vec::new(), len: 0, pool: Arc::clone(self) },
            pipe: Some(pipe),
            remaining: len,
        })
    }
}

impl Inflow {
    /// Bytes still to receive.
    pub fn remaining(&self) -> usize {
        self.remaining
    }

    /// Puts bytes of the payload that were read into a buffer with the
    /// message's head (a few hundred at most) into the pipe, ahead of what
    /// is spliced after them.
    pub fn put(&mut self, mut bytes: &[u8]) -> io::Result<()> {
        if bytes.len() > self.remaining {
            return Err(io::ErrorKind::InvalidInput.into());
        }
        while !bytes.is_empty() {
            let pipe = self.pipe.as_mut().ok_or(io::ErrorKind::BrokenPipe)?;
            match rustix::io::write(&pipe.write, bytes) {
                Ok(n) => {
                    pipe.held += n;
                    self.data.len += n;
                    self.remaining -= n;
                    bytes = &bytes[n..];
                }
                Err(rustix::io::Errno::INTR) => {}
                Err(rustix::io::Errno::AGAIN) => self.next_pipe()?,
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    /// Splices what `socket` has received, up to [`Inflow::remaining`],
    /// without blocking: the bytes moved (0 at the end of the stream), or
    /// `WouldBlock` when the socket has nothing (wait until it is readable
    /// and call again). A full pipe is followed by another; `OutOfMemory`
    /// when no more are to be had, `Unsupported` when `socket` does not
    /// splice (the caller takes the bytes back with [`Inflow::into_bytes`]
    /// and reads the rest).
    pub fn splice_from(&mut self, socket: BorrowedFd<'_>) -> io::Result<usize> {
        loop {
            if self.remaining == 0 {
                return Ok(0);
            }
            let pipe = self.pipe.as_mut().ok_or(io::ErrorKind::BrokenPipe)?;
            match rustix::pipe::splice(socket, None, &pipe.write, None, self.remaining, SpliceFlags::NONBLOCK) {
                Ok(n) => {
                    pipe.held += n;
                    self.data.len += n;
                    self.remaining -= n;
                    return Ok(n);
                }
                Err(rustix::io::Errno::INTR) => {}
                // EAGAIN means the socket is empty or the pipe is full;
                // bytes waiting in the socket tell which.
                Err(rustix::io::Errno::AGAIN) => match rustix::io::ioctl_fionread(socket) {
                    Ok(1..) => self.next_pipe()?,
                    _ => return Err(io::ErrorKind::WouldBlock.into()),
                },
                // Not a socket that splices: the caller reads instead.
                Err(rustix::io::Errno::INVAL | rustix::io::Errno::NOSYS | rustix::io::Errno::OPNOTSUPP) => {
                    return Err(io::ErrorKind::Unsupported.into());
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    fn next_pipe(&mut self) -> io::Result<()> {
        if self.data.pipes.len() + 2 > MAX_INFLOW_PIPES {
            return Err(io::ErrorKind::OutOfMemory.into());
        }
        let next = self.data.pool.take()?;
        if let Some(full) = self.pipe.replace(next) {
            self.data.pipes.push(full);
        }
        Ok(())
    }

    /// The payload, whole: every byte was received.
    pub fn finish(mut self) -> Spliced {
        if let Some(p) = self.pipe.take() {
            self.data.pipes.push(p);
        }
        let pool = Arc::clone(&self.data.pool);
        std::mem::replace(&mut self.data, Spliced { pipes: Vec::new(), len: 0, pool })
    }

    /// The bytes received so far, read back out of the pipes (receiving
    /// into pipes could not go on; the reader continues with a buffer).
    pub fn into_bytes(self) -> io::Result<Vec<u8>> {
        let mut data = self.finish();
        let len = data.len();
        data.read_vec(len)
    }
}

/// A WRITE's payload received into pipes ([`Inflow`]), as the core and its
/// storage request carry it: shared, and taken once by whoever writes it.
#[derive(Debug, Clone)]
pub struct PipedData {
    len: usize,
    pipes: Arc<Mutex<Option<Spliced>>>,
}

impl PipedData {
    /// The payload `data` holds.
    pub fn new(data: Spliced) -> Self {
        Self { len: data.len(), pipes: Arc::new(Mutex::new(Some(data))) }
    }

    /// Bytes of the payload.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the payload is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Keeps only the first `len` bytes (a short write; the simulation
    /// injects them): the rest stays in the pipes, which then close.
    pub fn truncate(&mut self, len: usize) {
        self.len = self.len.min(len);
    }

    /// The pipes, to write from; `None` once taken.
    pub fn take(&self) -> Option<Spliced> {
        self.pipes.lock().unwrap_or_else(|e| e.into_inner()).take()
    }

    /// The payload read out of its pipes (a copy; for a recording): `None`
    /// once taken or when the pipes cannot be read.
    pub fn to_vec(&self) -> Option<Vec<u8>> {
        let mut data = self.take()?;
        let len = data.len();
        data.read_vec(len).ok()
    }
}

/// The same payload (clones share it).
impl PartialEq for PipedData {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.pipes, &other.pipes)
    }
}

impl Eq for PipedData {}

/// An unfinished inflow gives its pipe back (closed if it holds data).
impl Drop for Inflow {
    fn drop(&mut self) {
        if let Some(p) = self.pipe.take() {
            self.data.pool.give(p);
        }
    }
}

impl Drop for Spliced {
    fn drop(&mut self) {
        for p in self.pipes.drain(..) {
            self.pool.give(p);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn file_of(data: &[u8]) -> std::fs::File {
        let dir = std::env::temp_dir().join(format!("polyshare-splice-{}-{}", std::process::id(), data.len()));
        let mut f = std::fs::File::create(&dir).unwrap();
        f.write_all(data).unwrap();
        let f = std::fs::File::open(&dir).unwrap();
        std::fs::remove_file(&dir).unwrap();
        f
    }

    #[test]
    fn spliced_data_reads_back_as_the_file_holds_it() {
        let data: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 + i / 4096) as u8).collect();
        let f = file_of(&data);
        let pool = PipePool::new();
        let mut s = pool.fill(&f, 100, 2_500_000).unwrap();
        assert_eq!(s.len(), 2_500_000);
        let mut buf = vec![0u8; s.len()];
        assert_eq!(s.drain_into(&mut buf).unwrap(), 2_500_000);
        assert_eq!(&buf[..], &data[100..2_500_100]);
        assert!(s.is_empty());
        drop(s);
        assert!(pool.idle() >= 2, "empty pipes go back to the pool");
    }

    #[test]
    fn a_read_past_the_end_holds_what_the_file_has() {
        let data = vec![5u8; 100_000];
        let f = file_of(&data);
        let pool = PipePool::new();
        let mut s = pool.fill(&f, 60_000, 1 << 20).unwrap();
        assert_eq!(s.len(), 40_000, "the count is what the pipes hold");
        let mut buf = vec![0u8; 40_000];
        s.drain_into(&mut buf).unwrap();
        assert!(buf.iter().all(|b| *b == 5));
    }

    #[test]
    fn pipes_still_holding_data_are_not_reused() {
        let f = file_of(&[1u8; 70_000]);
        let pool = PipePool::new();
        let s = pool.fill(&f, 0, 70_000).unwrap();
        assert_eq!(pool.live(), 1);
        drop(s);
        assert_eq!((pool.idle(), pool.live()), (0, 0), "closed");
    }

    #[test]
    fn piped_data_is_spliced_into_a_file_at_its_offset() {
        let data: Vec<u8> = (0..1_500_000u32).map(|i| (i * 3) as u8).collect();
        // Small pipes, so the data takes several.
        let pool = PipePool::with_pipe_size(MAX_LIVE, 64 << 10);
        let mut inflow = pool.inflow(data.len()).unwrap();
        inflow.put(&data).unwrap();
        assert_eq!(inflow.remaining(), 0);
        assert!(pool.live() > 1, "a full pipe is followed by another");
        let path = std::env::temp_dir().join(format!("polyshare-splice-in-{}", std::process::id()));
        std::fs::write(&path, [9u8; 10]).unwrap();
        let rw = std::fs::OpenOptions::new().read(true).write(true).open(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        inflow.finish().splice_to_file(&rw, 4, data.len()).unwrap();
        let mut back = vec![0u8; data.len() + 4];
        std::os::unix::fs::FileExt::read_exact_at(&rw, &mut back, 0).unwrap();
        assert_eq!(&back[..4], &[9; 4]);
        assert!(back[4..] == data[..]);
        assert_eq!(pool.idle(), pool.live(), "emptied pipes go back to the pool");
    }

    #[test]
    fn open_pipes_are_bounded_and_reads_past_the_bound_are_not_spliced() {
        let f = file_of(&[2u8; 70_000]);
        let pool = PipePool::with_limit(4);
        let held: Vec<Spliced> = (0..4).map(|_| pool.fill(&f, 0, 70_000).unwrap()).collect();
        assert_eq!(pool.live(), 4);
        assert!(pool.fill(&f, 0, 70_000).is_none(), "no pipe past the bound");
        drop(held);
        assert_eq!(pool.live(), 0);
        assert!(pool.fill(&f, 0, 70_000).is_some(), "pipes again once they closed");
    }
}
