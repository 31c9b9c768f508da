//! Counters shared by the workers.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// How many error and mismatch messages are printed.
const MAX_REPORTED: u64 = 40;

#[derive(Default)]
pub struct Stats {
    pub ops: AtomicU64,
    pub errors: AtomicU64,
    pub mismatches: AtomicU64,
    pub bytes: AtomicU64,
    pub finished: AtomicU64,
    reported: AtomicU64,
}

impl Stats {
    pub fn op(&self) {
        self.ops.fetch_add(1, Relaxed);
    }
    pub fn bytes(&self, n: u64) {
        self.bytes.fetch_add(n, Relaxed);
    }
    pub fn error(&self, msg: String) {
        self.errors.fetch_add(1, Relaxed);
        self.report(format!("ERROR {msg}"));
    }
    pub fn mismatch(&self, msg: String) {
        self.mismatches.fetch_add(1, Relaxed);
        self.report(format!("MISMATCH {msg}"));
    }
    fn report(&self, msg: String) {
        if self.reported.fetch_add(1, Relaxed) < MAX_REPORTED {
            eprintln!("{msg}");
        }
    }
    pub fn get(&self) -> (u64, u64, u64, u64) {
        (self.ops.load(Relaxed), self.errors.load(Relaxed), self.mismatches.load(Relaxed), self.bytes.load(Relaxed))
    }
}
