//! polyshare on a plain `std::net` + poll(2) loop, one thread: how to drive the Sans-IO server from any
//! event loop. Each turn: sleep in poll(2) until a socket or the signal pipe is ready or the core's next
//! deadline is due, feed the core what happened, write out what it says. `cargo run --example std_server -- --help`

use std::collections::{BTreeMap, VecDeque};
use std::io::{self, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::{fd::AsFd, unix::net::UnixStream};
use std::time::{Duration, Instant};

mod common;
use bytes::{Buf, Bytes};
use clap::Parser;
use common::cli::Args;
use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use polyshare::{BoundAddrs, ConnId, Driver, Output, Protocol};
use polyshare_runtime::start;

/// Queued output above which a connection is not read (a peer that does not read cannot make us buffer).
const OUTPUT_LIMIT: usize = 16 << 20;
/// How long a closed connection drains input: closing with unread input sends a reset, losing replies in flight.
const LINGER: Duration = Duration::from_secs(2);
/// Pause after a failed accept (say EMFILE), which poll would report again at once.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

struct Conn {
    stream: TcpStream,
    /// Bytes to send, in the order the core produced them.
    out: VecDeque<Bytes>,
    /// The core knows it; false once it said `Close` (input is then discarded).
    live: bool,
    /// Our side is shut; drop the connection at this instant at the latest.
    linger: Option<Instant>,
}

impl Conn {
    fn interest(&self) -> PollFlags {
        let queued: usize = self.out.iter().map(Bytes::len).sum();
        let read = if !self.live || queued <= OUTPUT_LIMIT { PollFlags::POLLIN } else { PollFlags::empty() };
        if self.out.is_empty() { read } else { read | PollFlags::POLLOUT }
    }

    /// Writes what the socket takes now, in order; the rest waits for POLLOUT.
    fn flush(&mut self) -> io::Result<()> {
        while let Some(front) = self.out.front_mut() {
            match self.stream.write(front) {
                Ok(0) => return Err(ErrorKind::WriteZero.into()),
                // A partial write keeps the rest of the buffer at the front.
                Ok(n) if n < front.len() => front.advance(n),
                Ok(_) => drop(self.out.pop_front()),
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    args.init_logging();
    let mut listeners = Vec::new();
    let mut bound = BoundAddrs::default();
    // The portmap port is a second listener speaking ONC RPC, like NFS.
    for (port, protocol, at) in [
        (Some(args.smb_port), Protocol::Smb, &mut bound.smb),
        (Some(args.nfs_port), Protocol::Nfs, &mut bound.nfs),
        (args.portmap_port, Protocol::Nfs, &mut bound.portmap),
    ] {
        let Some(port) = port else { continue };
        let listener = TcpListener::bind(SocketAddr::new(args.listen, port))?;
        listener.set_nonblocking(true)?;
        *at = Some(listener.local_addr()?);
        listeners.push((listener, protocol));
    }
    // The core reads no clock and no entropy: `start` gives it the wall time at `now`, OS entropy and the
    // NFS port, as it does for the runtime adapters, and opens the --record file.
    let (mut server, mut record) = start(args.setup()?, &args.options(), &bound)?;
    // SIGINT and SIGTERM write a byte to this socket pair, which poll watches.
    let (signals, signal_tx) = UnixStream::pair()?;
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::low_level::pipe::register(sig, signal_tx.try_clone()?)?;
    }
    args.announce(&bound)?;

    // The event loop.
    let (mut conns, mut accept_pause) = (BTreeMap::<ConnId, Conn>::new(), None::<Instant>);
    let mut rbuf = vec![0u8; 64 * 1024];
    loop {
        // Sleep until a socket is ready or the earliest deadline: the core's, a linger's, the accept pause.
        let lingers = conns.values().filter_map(|c| c.linger);
        let wake =
            [server.poll_timeout(), accept_pause, record.next_flush()].into_iter().flatten().chain(lingers).min();
        // Rounded up, so that we do not wake just before the deadline and spin.
        let ms = wake.map(|t| t.saturating_duration_since(Instant::now()).as_micros().div_ceil(1000));
        let timeout = ms.map_or(PollTimeout::NONE, |ms| PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX));
        // One pollfd each for the signal pipe, the listeners and the connections (`ids`, in this order).
        let ids: Vec<ConnId> = conns.keys().copied().collect();
        let listen = if accept_pause.is_none() { PollFlags::POLLIN } else { PollFlags::empty() };
        let mut fds = vec![PollFd::new(signals.as_fd(), PollFlags::POLLIN)];
        fds.extend(listeners.iter().map(|(l, _)| PollFd::new(l.as_fd(), listen)));
        fds.extend(conns.values().map(|c| PollFd::new(c.stream.as_fd(), c.interest())));
        match poll(&mut fds, timeout) {
            Ok(_) | Err(Errno::EINTR) => {}
            Err(e) => return Err(e.into()),
        }
        let mut revents = fds.iter().map(|f| f.revents().unwrap_or(PollFlags::empty())).collect::<Vec<_>>().into_iter();
        let now = Instant::now();
        let signalled = revents.next().is_some_and(|r| !r.is_empty());
        accept_pause = accept_pause.filter(|t| *t > now);
        for ((listener, protocol), r) in listeners.iter().zip(revents.by_ref()) {
            while !r.is_empty() {
                let accepted = listener.accept().and_then(|(s, peer)| s.set_nonblocking(true).map(|()| (s, peer)));
                let (stream, peer) = match accepted {
                    Ok(accepted) => accepted,
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) => {
                        tracing::warn!(?protocol, error = %e, "accept failed");
                        accept_pause = Some(now + ACCEPT_BACKOFF);
                        break;
                    }
                };
                // Replies are whole messages: send them at once (no Nagle delay).
                let _ = stream.set_nodelay(true);
                match server.accept(*protocol, peer, now) {
                    Ok(id) => _ = conns.insert(id, Conn { stream, out: VecDeque::new(), live: true, linger: None }),
                    // Dropping the stream closes it.
                    Err(e) => tracing::warn!(%peer, error = %e, "refusing connection"),
                }
            }
        }
        // One read per ready connection per turn, so a busy peer cannot starve the others.
        for (id, r) in ids.into_iter().zip(revents) {
            // Input, a hang-up or an error (POLLOUT alone is for `pump`).
            let Some(c) = conns.get_mut(&id).filter(|_| !(r - PollFlags::POLLOUT).is_empty()) else { continue };
            match c.stream.read(&mut rbuf) {
                Ok(n @ 1..) if c.live => server.handle_input(id, rbuf.get(..n).unwrap_or_default(), now),
                Ok(1..) => {}
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::Interrupted) => {}
                // End of stream or an error: the peer is gone, and so is what was queued for it.
                Ok(0) | Err(_) => {
                    if conns.remove(&id).is_some_and(|c| c.live) {
                        server.handle_closed(id, now);
                    }
                }
            }
        }
        if server.poll_timeout().is_some_and(|t| t <= now) {
            server.handle_timeout(now);
        }
        pump(&mut server, &mut conns, now);
        record.after_turn(&mut server, now);
        if signalled {
            tracing::info!("shutting down");
            record.flush(&mut server);
            return Ok(());
        }
    }
}

/// Hands the core's outputs to the connections, writes, and closes the
/// connections that are done.
fn pump(server: &mut Driver, conns: &mut BTreeMap<ConnId, Conn>, now: Instant) {
    loop {
        while let Some(output) = server.poll_output() {
            match output {
                Output::Transmit { conn, data } => {
                    if let Some(c) = conns.get_mut(&conn) {
                        c.out.push_back(data);
                    }
                }
                Output::Close { conn } => conns.get_mut(&conn).into_iter().for_each(|c| c.live = false),
                // Storage runs inline: memory never blocks, a local disk only briefly. For slow storage, run
                // `req.run()` on a worker thread and pass the completion back through a pipe poll watches.
                Output::Io(req) => server.handle_io(req.run(), Instant::now()),
            }
        }
        // Write; a connection that fails is closed, which can produce output for others (lease breaks).
        let Some((id, e)) = conns.iter_mut().find_map(|(id, c)| c.flush().err().map(|e| (*id, e))) else { break };
        tracing::info!(conn = id.0, error = %e, "write failed");
        if conns.remove(&id).is_some_and(|c| c.live) {
            server.handle_closed(id, now);
        }
    }
    // The core is done and all is sent: shut our side, then drain input until the peer closes or LINGER passes.
    conns.retain(|_, c| {
        if !c.live && c.out.is_empty() && c.linger.is_none() {
            let _ = c.stream.shutdown(Shutdown::Write);
            c.linger = Some(now + LINGER);
        }
        c.linger.is_none_or(|t| t > now)
    });
}
