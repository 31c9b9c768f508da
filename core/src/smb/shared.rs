//! SMB state shared by every connection of a Server (MS-SMB2 3.3.1.5
//! "global" state): the ServerGuid, the GlobalSessionTable, id counters and
//! the names and delete-pending flags of files that have opens.

use std::collections::{BTreeMap, BTreeSet};

use super::app_instances::{AppInstances, ForcedClose};
use super::conn::{Session, SmbConnection};
use super::durable_opens::DurableOpens;
use super::watches::Watches;
use super::wire::codec::FileId;
use crate::id::{ConnId, WaitToken};
use crate::lease::OpenId;
use crate::rng::Rng;
use crate::vfs::{FileAttr, ObjectId};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedFile {
    /// The directory holding the file, or for a stream the file it belongs to.
    pub parent: ObjectId,
    /// The name in `parent` (for a stream: the stream name).
    pub name: String,
    pub is_stream: bool,
    pub delete_pending: bool,
    pub open_count: u32,
    /// Stream.AllocationSize a client reserved (the AllocationSize create
    /// context, MS-SMB2 3.3.5.9.3; FileAllocationInformation, MS-FSA
    /// 2.1.5.14.3), cluster-aligned; 0 when none. Reported while the file
    /// has opens: the VFS keeps no reservation of its own.
    pub allocation: u64,
    /// The last-write time SMB reports while the file is open, once an
    /// open wrote or set it (smb/write_time.rs); `None`: storage's mtime.
    pub write_time: Option<crate::time::Timespec>,
    /// For a stream: the directory and name its file was opened under
    /// (smb/handlers/stream_rename.rs checks it is still there before using it).
    pub base: Option<(ObjectId, String)>,
}

#[derive(Debug)]
pub struct SmbShared {
    pub server_guid: [u8; 16],
    next_volatile: u64,
    /// GlobalSessionTable (MS-SMB2 3.3.1.5): every session, with its
    /// channels, trees and opens, by SessionId.
    pub sessions: BTreeMap<u64, Session>,
    /// Objects with at least one SMB open.
    pub files: BTreeMap<ObjectId, SharedFile>,
    /// Where each SMB open lives, for oplock break notifications.
    pub open_refs: BTreeMap<OpenId, OpenRef>,
    /// SMB connections alive now (lease breaks go to the first live one).
    pub live: BTreeSet<ConnId>,
    /// The ClientGuid each negotiated connection presented, oldest
    /// connection first (ConnIds only grow): where lease breaks go
    /// (MS-SMB2 3.3.4.7).
    pub client_guids: BTreeMap<ConnId, [u8; 16]>,
    /// Directory watches of CHANGE_NOTIFY.
    pub watches: Watches,
    /// Parked requests the settle loop is to complete with a status: the
    /// CHANGE_NOTIFYs of an open that went away, a LOCK waiting on an open
    /// that closed.
    pub completions: Vec<(WaitToken, u32)>,
    /// Durable opens, live and preserved (MS-SMB2 3.3.1.10).
    pub durable: DurableOpens,
    /// Opens with an AppInstanceId (MS-SMB2 3.3.5.9.13).
    pub app_instances: AppInstances,
    /// Live opens of other connections a CREATE with their AppInstanceId
    /// closes; the server's settle loop does it.
    pub forced_closes: Vec<ForcedClose>,
}

impl SmbShared {
    /// The parked requests to complete now, with their status (the
    /// server's settle loop).
    pub fn take_completions(&mut self) -> Vec<(WaitToken, u32)> {
        std::mem::take(&mut self.completions)
    }

    /// The opens to close for a CREATE of their application instance now
    /// (the server's settle loop).
    pub fn take_forced_closes(&mut self) -> Vec<ForcedClose> {
        std::mem::take(&mut self.forced_closes)
    }

    pub fn new(rng: &mut Rng) -> Self {
        let server_guid = rng.bytes::<16>();
        Self {
            server_guid,
            next_volatile: 1,
            sessions: BTreeMap::new(),
            files: BTreeMap::new(),
            open_refs: BTreeMap::new(),
            live: BTreeSet::new(),
            client_guids: BTreeMap::new(),
            watches: Default::default(),
            completions: Vec::new(),
            durable: DurableOpens::default(),
            app_instances: AppInstances::default(),
            forced_closes: Vec::new(),
        }
    }

    /// A FileId.Volatile unique for the life of the server.
    pub fn new_volatile(&mut self) -> u64 {
        let v = self.next_volatile;
        self.next_volatile += 1;
        v
    }

    /// A new session set up on `conn`, entered in the table under a random
    /// SessionId: never 0 or all-ones (MS-SMB2 3.3.5.5.1), nor one in use,
    /// and not guessable from the ids other clients see.
    pub fn new_session(&mut self, rng: &mut Rng, conn: &SmbConnection) -> u64 {
        loop {
            let id = rng.u64();
            if id != 0 && id != u64::MAX && !self.sessions.contains_key(&id) {
                self.sessions.insert(id, Session::new(id, conn));
                return id;
            }
        }
    }

    /// Session `sid` if `conn` is one of its usable channels
    /// (Connection.SessionTable, MS-SMB2 3.3.1.7).
    pub fn session(&self, conn: ConnId, sid: u64) -> Option<&Session> {
        self.sessions.get(&sid).filter(|s| s.on(conn))
    }

    pub fn session_mut(&mut self, conn: ConnId, sid: u64) -> Option<&mut Session> {
        self.sessions.get_mut(&sid).filter(|s| s.on(conn))
    }

    /// The sessions `conn` is a channel of (set up, bound or binding).
    pub fn sessions_of(&self, conn: ConnId) -> Vec<u64> {
        self.sessions.values().filter(|s| s.channels.contains_key(&conn)).map(|s| s.id).collect()
    }

    /// Records one more open of `id` known as `name` in `parent`.
    pub fn add_open(&mut self, id: ObjectId, parent: ObjectId, name: &str, is_stream: bool) {
        let f = self.files.entry(id).or_insert_with(|| SharedFile {
            parent,
            name: name.to_string(),
            is_stream,
            delete_pending: false,
            open_count: 0,
            allocation: 0,
            write_time: None,
            base: None,
        });
        f.open_count += 1;
    }

    /// `attr` as SMB reports it: its allocation at least what a client
    /// reserved (MS-FSA 2.1.5.14.3 Open.Stream.AllocationSize), its
    /// last-write time the one the open state keeps (smb/write_time.rs).
    pub fn with_allocation(&self, mut attr: FileAttr) -> FileAttr {
        if let Some(f) = self.files.get(&attr.id) {
            attr.used = attr.used.max(f.allocation);
            attr.mtime = f.write_time.unwrap_or(attr.mtime);
        }
        attr
    }

    /// Drops one open of `id`; returns the entry when it was the last one.
    pub fn remove_open(&mut self, id: ObjectId) -> Option<SharedFile> {
        let f = self.files.get_mut(&id)?;
        f.open_count = f.open_count.saturating_sub(1);
        match f.open_count {
            0 => self.files.remove(&id),
            _ => None,
        }
    }
}

/// Where an SMB open lives: what an oplock break notification needs
/// (MS-SMB2 3.3.4.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenRef {
    pub conn: ConnId,
    pub file_id: FileId,
    pub session_id: u64,
}
