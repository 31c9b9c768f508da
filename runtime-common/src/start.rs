//! Start-up (what the OS gives the core: entropy and the wall clock) and the
//! recording file the driver's recorder is written to.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use polyshare_core::{Driver, Setup, Start};

use crate::{BoundAddrs, ServerOptions};

/// Recorded bytes are written out when this many are pending...
pub const RECORD_FLUSH: usize = 1 << 20;
/// ...and at least this often.
pub const RECORD_INTERVAL: Duration = Duration::from_secs(1);

/// 32 bytes from the OS's random source (getrandom(2) or its equivalent):
/// the key of everything the core draws at random (NTLM challenges,
/// SessionIds, ServerGuid, salts, write verifiers).
pub fn entropy() -> io::Result<[u8; 32]> {
    let mut key = [0u8; 32];
    getrandom::fill(&mut key).map_err(|e| io::Error::other(format!("no OS entropy: {e}")))?;
    Ok(key)
}

/// Opens the recording file [`ServerOptions::record`] names and builds the
/// driver from `setup`, with OS entropy and the wall clock, the NFS port
/// taken from `bound` (so the portmapper reports the real one), and, unless
/// the embedder set them, the SMB listeners' network interfaces
/// ([`crate::interfaces`]) as the core's `SmbConfig::interfaces`. Every
/// adapter, and the std_server example, starts through here. Neither the
/// seed nor the entropy is logged: they predict every challenge.
pub fn start(mut setup: Setup, opts: &ServerOptions, bound: &BoundAddrs) -> io::Result<(Driver, RecordSink)> {
    if setup.config.smb.interfaces.is_empty() {
        let mut smb: Vec<_> = bound.smb.iter().map(|a| a.ip()).collect();
        smb.extend(opts.also.iter().filter(|(_, p)| *p == polyshare_core::Protocol::Smb).map(|(a, _)| a.ip()));
        setup.config.smb.interfaces = crate::interfaces::interfaces(&smb);
        tracing::debug!(interfaces = ?setup.config.smb.interfaces, "network interfaces");
    }
    if setup.seed.is_some() {
        tracing::warn!("fixed seed: challenges and session ids are predictable (for tests only)");
    }
    let record = RecordSink::open(opts.record.as_deref())?;
    let start = Start {
        nfs_port: bound.nfs.map(|a| a.port()),
        entropy: entropy()?,
        wall: SystemTime::now(),
        now: Instant::now(),
        record: record.is_on(),
    };
    let driver = setup.start(start);
    tracing::info!(recording = record.is_on(), "server started");
    Ok((driver, record))
}

/// Where the driver's recording goes, and when: once [`RECORD_FLUSH`] bytes
/// are pending or [`RECORD_INTERVAL`] has passed, so a crash loses little
/// and a busy server does not write per request.
#[derive(Debug)]
pub struct RecordSink {
    file: Option<File>,
    due: Instant,
}

impl RecordSink {
    /// Creates (or truncates) `path`; a new file is owner-only (0600), since
    /// a recording holds everything clients sent, credentials included.
    /// `None`: no recording.
    pub fn open(path: Option<&Path>) -> io::Result<Self> {
        let file = match path {
            Some(p) => Some(OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(p)?),
            None => None,
        };
        Ok(Self { file, due: Instant::now() + RECORD_INTERVAL })
    }

    /// Whether a file is being written (false also after a write failed).
    pub fn is_on(&self) -> bool {
        self.file.is_some()
    }

    /// When the interval flush is due; `None` when not recording. The event
    /// loop wakes up for it.
    pub fn next_flush(&self) -> Option<Instant> {
        self.is_on().then_some(self.due)
    }

    /// Call after every turn of the event loop: flushes if enough is pending
    /// or the interval has passed.
    pub fn after_turn(&mut self, driver: &mut Driver, now: Instant) {
        if driver.recording_pending() >= RECORD_FLUSH || (self.is_on() && now >= self.due) {
            self.flush(driver);
            self.due = now + RECORD_INTERVAL;
        }
    }

    /// Writes out what the driver recorded. A write error stops recording
    /// (logged) rather than the server.
    pub fn flush(&mut self, driver: &mut Driver) {
        if let (Some(f), Some(data)) = (self.file.as_mut(), driver.take_recording()) {
            if let Err(e) = f.write_all(&data).and_then(|()| f.flush()) {
                tracing::error!(error = %e, "writing the recording failed; recording stops");
                self.file = None;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn entropy_differs_between_draws() {
        assert_ne!(entropy().unwrap(), entropy().unwrap());
    }

    #[test]
    fn the_recording_file_is_owner_only() {
        let path = std::env::temp_dir().join(format!("polyshare-runtime-mode-{}.psrec", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let sink = RecordSink::open(Some(&path)).unwrap();
        assert!(sink.is_on() && sink.next_flush().is_some());
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(mode & 0o777, 0o600);
        assert!(!RecordSink::open(None).unwrap().is_on());
    }
}
