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
}

impl PipePool {
    /// An empty pool of at most [`MAX_LIVE`] pipes.
    pub fn new() -> Arc<Self> {
        Self::with_limit(MAX_LIVE)
    }

    /// An empty pool of at most `max_live` pipes.
    pub fn with_limit(max_live: usize) -> Arc<Self> {
        Arc::new(Self { idle: Mutex::new(Vec::new()), live: AtomicUsize::new(0), max_live })
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
        let _ = rustix::pipe::fcntl_setpipe_size(&write, PIPE_SIZE);
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
        let mut at = 0usize;
        while let Some((fd, held)) = self.front() {
            let end = at.checked_add(held).filter(|e| *e <= buf.len()).ok_or(io::ErrorKind::InvalidInput)?;
            let target = buf.get_mut(at..end).ok_or(io::ErrorKind::InvalidInput)?;
            let n = match rustix::io::read(fd, target) {
                Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
                Ok(n) => n,
                Err(rustix::io::Errno::INTR) => continue,
                Err(e) => return Err(e.into()),
            };
            self.taken(n);
            at += n;
        }
        Ok(at)
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
