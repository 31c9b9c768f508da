//! An open's part in the delayed last-write time (`smb/write_time.rs`),
//! kept in the open itself (`smb::conn::Open`).

/// An open's part in the schedule.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteTime {
    /// The delayed update was scheduled (or an update done): later writes
    /// wait for the close.
    pub triggered: bool,
    /// Written since the last update: the close sets the time.
    pub on_close: bool,
    /// Open.UserSetModificationTime: the client set the time, or froze it,
    /// through this open.
    pub forced: bool,
}
