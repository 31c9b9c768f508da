//! A worker: one connection, one file, a model of its expected content.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use polyshare_testsupport::Error;

use crate::stats::Stats;
use crate::target::Target;

/// SplitMix64: a small deterministic generator, seeded per worker.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform-ish in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }
    pub fn percent(&mut self) -> u64 {
        self.next() % 100
    }
    pub fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let v = self.next().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    }
}

pub struct Config {
    pub deadline: Instant,
    pub max_file_size: u64,
    pub max_io: u32,
    /// Percentage of NFS writes sent FILE_SYNC rather than UNSTABLE.
    pub sync_percent: u64,
}

/// A file and the model of its content, shared by the workers that use it
/// (one, or an SMB and an NFS worker taking turns under the lock, which
/// checks that each protocol sees what the other wrote).
#[derive(Default)]
pub struct SharedFile {
    model: Mutex<Vec<u8>>,
    /// Workers not yet done; the last one deletes the file.
    members: AtomicUsize,
    /// The first member has created the file.
    created: AtomicBool,
}

impl SharedFile {
    pub fn new(members: usize) -> Arc<Self> {
        Arc::new(Self { model: Mutex::default(), members: AtomicUsize::new(members), created: AtomicBool::new(false) })
    }
}

pub struct Worker<'a, T: Target> {
    pub id: usize,
    pub proto: &'static str,
    pub target: T,
    pub rng: Rng,
    pub stats: &'a Stats,
    pub cfg: &'a Config,
    shared: Arc<SharedFile>,
    /// The second member of a pair: it waits for the first to create the file.
    second: bool,
    /// What the file must contain, while this worker holds the shared lock.
    model: Vec<u8>,
}

impl<'a, T: Target> Worker<'a, T> {
    pub fn new(
        id: usize,
        proto: &'static str,
        target: T,
        seed: u64,
        (shared, second): (Arc<SharedFile>, bool),
        stats: &'a Stats,
        cfg: &'a Config,
    ) -> Self {
        Self { id, proto, target, rng: Rng::new(seed), stats, cfg, shared, second, model: Vec::new() }
    }

    /// Runs `f` holding the file's lock, with the shared model in `self.model`.
    fn locked<R>(&mut self, f: impl FnOnce(&mut Self) -> R) -> R {
        let shared = Arc::clone(&self.shared);
        let mut guard = shared.model.lock().unwrap_or_else(PoisonError::into_inner);
        std::mem::swap(&mut self.model, &mut guard);
        let r = f(self);
        std::mem::swap(&mut self.model, &mut guard);
        r
    }

    fn error(&self, op: &str, e: &Error) {
        self.stats.error(format!("worker {} ({}) {op}: {e}", self.id, self.proto));
    }

    fn mismatch(&self, what: String) {
        self.stats.mismatch(format!("worker {} ({}): {what}", self.id, self.proto));
    }

    /// Runs until the deadline, then verifies the whole file; the last of
    /// the file's workers deletes it.
    pub fn run(mut self) {
        let ok = self.run_ops();
        let last = self.shared.members.fetch_sub(1, Ordering::AcqRel) == 1;
        if ok {
            let end = if last { self.target.finish() } else { self.target.close() };
            if let Err(e) = end {
                self.error("finish", &e);
            }
            self.stats.op();
        }
    }

    /// Returns false after an error that ends the worker.
    fn run_ops(&mut self) -> bool {
        if self.second {
            // The file's owner is its creator: let the first member (NFS in
            // an SMB/NFS pair) create it, since NFS (root squashed) may not
            // write a file an SMB guest created.
            let give_up = Instant::now() + Duration::from_secs(30);
            while !self.shared.created.load(Ordering::Acquire) && Instant::now() < give_up {
                thread::sleep(Duration::from_millis(10));
            }
        }
        let created = self.locked(|w| w.target.create().map(|()| w.model.clear()));
        self.shared.created.store(true, Ordering::Release);
        if let Err(e) = created {
            self.error("create", &e);
            return false;
        }
        self.stats.op();
        while Instant::now() < self.cfg.deadline {
            let p = self.rng.percent();
            let fatal = self.locked(|w| {
                let r = match p {
                    0..45 => w.write(),
                    45..80 => w.read_range(),
                    80..87 => w.truncate(),
                    87..93 => w.reopen(),
                    93..95 => w.target.flush().map_err(|e| ("COMMIT", e)),
                    95 => w.recreate(),
                    _ => w.verify_all(),
                };
                w.stats.op();
                let Err((op, e)) = r else { return false };
                w.error(op, &e);
                // The file's state is unknown: take the server's word for it.
                e.is_fatal() || w.resync().map_err(|(op, e)| w.error(op, &e)).is_err()
            });
            if fatal {
                return false;
            }
        }
        let end = self.locked(|w| w.reopen().and_then(|()| w.verify_all()));
        if let Err((op, e)) = end {
            self.error(op, &e);
            return false;
        }
        true
    }

    fn io_len(&mut self) -> u64 {
        let max = u64::from(self.cfg.max_io.min(self.target.max_io()));
        match self.rng.percent() {
            0..30 => self.rng.range(1, 512.min(max)),
            30..70 => self.rng.range(1, 8192.min(max)),
            _ => self.rng.range(1, max),
        }
    }

    fn write(&mut self) -> Result<(), (&'static str, Error)> {
        let len = self.io_len().min(self.cfg.max_file_size);
        let offset = if self.rng.percent() < 30 {
            (self.model.len() as u64).min(self.cfg.max_file_size - len) // append
        } else {
            self.rng.range(0, self.cfg.max_file_size - len)
        };
        let mut data = vec![0u8; len as usize];
        self.rng.fill(&mut data);
        let durable = self.rng.percent() < self.cfg.sync_percent;
        let n = self.target.write(offset, &data, durable).map_err(|e| ("WRITE", e))?;
        if u64::from(n) != len {
            return Err(("WRITE", Error::Unexpected(format!("wrote {n} of {len} at {offset}"))));
        }
        let end = (offset + len) as usize;
        if self.model.len() < end {
            self.model.resize(end, 0);
        }
        self.model[offset as usize..end].copy_from_slice(&data);
        self.stats.bytes(len);
        Ok(())
    }

    /// Reads `offset..offset+len`, following short reads; checks it against the model.
    fn check_range(&mut self, offset: u64, len: u64) -> Result<(), (&'static str, Error)> {
        let size = self.model.len() as u64;
        // The part of the range inside the file.
        let (lo, hi) = (offset.min(size), (offset + len).min(size));
        let mut got = Vec::with_capacity(hi.saturating_sub(lo) as usize);
        while (got.len() as u64) < len {
            let at = offset + got.len() as u64;
            let ask = (len - got.len() as u64).min(u64::from(self.target.max_io())) as u32;
            let (data, eof) = self.target.read(at, ask).map_err(|e| ("READ", e))?;
            self.stats.bytes(data.len() as u64);
            let end = at + data.len() as u64;
            if let Some(eof) = eof
                && eof != (end >= size)
            {
                self.mismatch(format!("READ at {at} len {ask}: eof {eof} with {} bytes, file size {size}", data.len()));
            }
            if data.is_empty() {
                break;
            }
            got.extend_from_slice(&data);
        }
        let expect = &self.model[lo as usize..hi.max(lo) as usize];
        if got != expect {
            let first = got.iter().zip(expect).position(|(a, b)| a != b);
            self.mismatch(format!(
                "READ {offset}+{len}: got {} bytes, expected {} (file size {size}), first difference at {:?}",
                got.len(),
                expect.len(),
                first.map(|i| offset + i as u64)
            ));
        }
        Ok(())
    }

    fn read_range(&mut self) -> Result<(), (&'static str, Error)> {
        let len = self.io_len();
        let size = self.model.len() as u64;
        let offset = self.rng.range(0, size + size / 8);
        self.check_range(offset, len)
    }

    fn verify_all(&mut self) -> Result<(), (&'static str, Error)> {
        // One past the end too: the file must not be longer than the model.
        self.check_range(0, self.model.len() as u64 + 1)
    }

    fn truncate(&mut self) -> Result<(), (&'static str, Error)> {
        let size = if self.rng.percent() < 20 { 0 } else { self.rng.range(0, self.cfg.max_file_size) };
        self.target.truncate(size).map_err(|e| ("truncate", e))?;
        self.model.resize(size as usize, 0);
        Ok(())
    }

    /// Truncates by re-creating: SMB OVERWRITE_IF, NFS CREATE UNCHECKED + SETATTR size 0.
    fn recreate(&mut self) -> Result<(), (&'static str, Error)> {
        self.target.create().map_err(|e| ("recreate", e))?;
        self.model.clear();
        Ok(())
    }

    fn reopen(&mut self) -> Result<(), (&'static str, Error)> {
        let size = self.target.reopen().map_err(|e| ("reopen", e))?;
        if size != self.model.len() as u64 {
            self.mismatch(format!("reopen: server size {size}, expected {}", self.model.len()));
        }
        Ok(())
    }

    /// After an error: reload the model from the server.
    fn resync(&mut self) -> Result<(), (&'static str, Error)> {
        let size = self.target.reopen().map_err(|e| ("resync reopen", e))?;
        self.model.clear();
        while (self.model.len() as u64) < size {
            let at = self.model.len() as u64;
            let ask = (size - at).min(u64::from(self.target.max_io())) as u32;
            let (data, _) = self.target.read(at, ask).map_err(|e| ("resync READ", e))?;
            if data.is_empty() {
                break;
            }
            self.model.extend_from_slice(&data);
        }
        Ok(())
    }
}
