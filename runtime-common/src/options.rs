//! Where an adapter listens and how it treats its connections: socket-world
//! settings, the same for every runtime, which the Sans-IO core never sees.

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use polyshare_core::Protocol;

/// Where an adapter listens and how it treats its connections; the same for
/// every runtime.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// The SMB listener's address, if SMB is served.
    pub smb: Option<SocketAddr>,
    /// The NFS (and MOUNT and portmapper) listener's address, if NFS is
    /// served.
    pub nfs: Option<SocketAddr>,
    /// A second port that also speaks ONC RPC (for clients that ask the
    /// portmapper on a port of their own).
    pub portmap: Option<SocketAddr>,
    /// Further listeners, each with the protocol it serves: more addresses
    /// for SMB or NFS beside `smb` and `nfs` (IPv6 beside IPv4, a second
    /// interface). Not reported in [`BoundAddrs`].
    pub also: Vec<(SocketAddr, Protocol)>,
    /// Record every input to this file (see [`polyshare_core::record`]); it
    /// is created owner-only.
    pub record: Option<PathBuf>,
    /// Output queued for one connection above which the adapter stops
    /// reading from it until the peer has taken some.
    pub output_limit: usize,
    /// How long a graceful shutdown waits for queued replies to be sent.
    pub shutdown_grace: Duration,
    /// Threads that run storage requests ([`crate::WorkerPool`]).
    pub io_workers: usize,
}

impl Default for ServerOptions {
    fn default() -> Self {
        Self {
            smb: None,
            nfs: None,
            portmap: None,
            also: Vec::new(),
            record: None,
            output_limit: 16 << 20,
            shutdown_grace: Duration::from_secs(2),
            io_workers: 4,
        }
    }
}

/// The addresses an adapter actually listens on (ports resolved when 0 was
/// asked for).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BoundAddrs {
    /// Where SMB is served.
    pub smb: Option<SocketAddr>,
    /// Where NFS is served.
    pub nfs: Option<SocketAddr>,
    /// The extra ONC RPC port.
    pub portmap: Option<SocketAddr>,
}

/// Binds every listener `opts` asks for with the runtime's `bind`, which
/// returns the listener and the address it got; each listener comes with the
/// protocol it serves (the portmap port speaks ONC RPC, like NFS).
pub fn bind_listeners<L>(
    opts: &ServerOptions,
    mut bind: impl FnMut(SocketAddr) -> io::Result<(L, SocketAddr)>,
) -> io::Result<(Vec<(L, Protocol)>, BoundAddrs)> {
    let mut listeners = Vec::new();
    let mut addrs = BoundAddrs::default();
    for (addr, protocol, bound) in [
        (opts.smb, Protocol::Smb, &mut addrs.smb),
        (opts.nfs, Protocol::Nfs, &mut addrs.nfs),
        (opts.portmap, Protocol::Nfs, &mut addrs.portmap),
    ] {
        if let Some(addr) = addr {
            let (l, at) = bind(addr)?;
            *bound = Some(at);
            listeners.push((l, protocol));
        }
    }
    for &(addr, protocol) in &opts.also {
        listeners.push((bind(addr)?.0, protocol));
    }
    Ok((listeners, addrs))
}
