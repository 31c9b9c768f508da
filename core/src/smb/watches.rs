//! The CHANGE_NOTIFY watches every connection shares.

use std::collections::{BTreeMap, VecDeque};

use crate::id::ConnId;
use crate::vfs::ObjectId;

/// One watched directory open.
#[derive(Debug)]
pub struct Watch {
    pub conn: ConnId,
    pub dir: ObjectId,
    pub tree: bool,
    pub filter: u32,
    /// The OutputBufferLength of the first request: later requests never
    /// get more (a watch started with too small a buffer answers
    /// NOTIFY_ENUM_DIR from then on, as Windows does).
    pub max: u32,
    /// (Action, name relative to the watched directory), oldest first.
    pub changes: VecDeque<(u32, String)>,
    pub overflow: bool,
    /// Parked CHANGE_NOTIFY requests (op ids on `conn`), oldest first.
    pub waiting: Vec<u64>,
}

impl Watch {
    pub fn new(conn: ConnId, dir: ObjectId) -> Self {
        Self {
            conn,
            dir,
            tree: false,
            filter: 0,
            max: u32::MAX,
            changes: VecDeque::new(),
            overflow: false,
            waiting: Vec::new(),
        }
    }
}

/// Every watch, by the VolatileFileId of its open (unique per server).
#[derive(Debug, Default)]
pub struct Watches(pub BTreeMap<u64, Watch>);
