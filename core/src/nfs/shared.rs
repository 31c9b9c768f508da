//! [`NfsShared`]: the NFS state every connection shares (write verifier,
//! dirty files, EXCLUSIVE-create verifiers, the MOUNT list).

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::rng::Rng;
use crate::vfs::ObjectId;

/// EXCLUSIVE-create verifiers kept at most (oldest forgotten first).
const MAX_EXCLUSIVE_VERFS: usize = 4096;
/// Entries of the MOUNT DUMP list kept at most.
const MAX_MOUNT_ENTRIES: usize = 1024;

/// NFS state shared by every connection, kept beside the common core.
#[derive(Debug, Default)]
pub struct NfsShared {
    /// RFC 1813 3.3.7: the write verifier of this server instance, drawn
    /// from `core.rng` at first use. Shared with the storage workers that
    /// frame WRITE replies (`read_write::write_finisher`), which read it
    /// as they frame.
    write_verf: Option<Arc<AtomicU64>>,
    /// Files written UNSTABLE and not yet committed.
    pub dirty: BTreeSet<ObjectId>,
    /// RFC 1813 3.3.8: the createverf3 of files made by EXCLUSIVE CREATE.
    exclusive: BTreeMap<ObjectId, [u8; 8]>,
    exclusive_order: VecDeque<ObjectId>,
    /// MOUNT DUMP: (client host, directory) pairs.
    pub mounts: BTreeSet<(String, String)>,
    /// NFS calls parked on all connections (bounded by `limits.max_parked`).
    pub parked: usize,
}

impl NfsShared {
    /// The write verifier, created from `core.rng` on first use.
    pub fn write_verf(&mut self, rng: &mut Rng) -> [u8; 8] {
        self.verf_cell(rng).load(Ordering::Acquire).to_be_bytes()
    }

    /// The write verifier as a worker reads it when it frames a WRITE
    /// reply: current at that moment, so a reply framed after a failed
    /// COMMIT carries the new one.
    pub fn write_verf_shared(&mut self, rng: &mut Rng) -> Arc<AtomicU64> {
        self.verf_cell(rng).clone()
    }

    fn verf_cell(&mut self, rng: &mut Rng) -> &Arc<AtomicU64> {
        self.write_verf.get_or_insert_with(|| Arc::new(AtomicU64::new(u64::from_be_bytes(rng.bytes::<8>()))))
    }

    /// Draws a new write verifier (after a failed COMMIT), different from
    /// the one before.
    pub fn reset_write_verf(&mut self, rng: &mut Rng) {
        let old = self.write_verf.as_ref().map(|v| v.load(Ordering::Acquire));
        let mut v = u64::from_be_bytes(rng.bytes::<8>());
        while Some(v) == old {
            v = u64::from_be_bytes(rng.bytes::<8>());
        }
        match &self.write_verf {
            Some(shared) => shared.store(v, Ordering::Release),
            None => self.write_verf = Some(Arc::new(AtomicU64::new(v))),
        }
    }

    pub fn exclusive_verf(&self, id: ObjectId) -> Option<[u8; 8]> {
        self.exclusive.get(&id).copied()
    }

    pub fn set_exclusive_verf(&mut self, id: ObjectId, verf: [u8; 8]) {
        if self.exclusive.insert(id, verf).is_none() {
            self.exclusive_order.push_back(id);
        }
        while self.exclusive.len() > MAX_EXCLUSIVE_VERFS {
            match self.exclusive_order.pop_front() {
                Some(old) => {
                    self.exclusive.remove(&old);
                }
                None => break,
            }
        }
    }

    /// Drops the EXCLUSIVE-create verifier of `id`: once a file has been
    /// written, a CREATE naming it is no longer a retransmission.
    pub fn clear_exclusive_verf(&mut self, id: ObjectId) {
        if self.exclusive.remove(&id).is_some() {
            self.exclusive_order.retain(|x| *x != id);
        }
    }

    /// Forgets what is known about an object that is gone.
    pub fn forget(&mut self, id: ObjectId) {
        self.dirty.remove(&id);
        self.clear_exclusive_verf(id);
    }

    pub fn add_mount(&mut self, host: String, dir: String) {
        if self.mounts.len() < MAX_MOUNT_ENTRIES {
            self.mounts.insert((host, dir));
        }
    }
}
