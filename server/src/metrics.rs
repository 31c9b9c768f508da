//! The optional Prometheus endpoint (`[metrics] listen`): `GET /metrics`
//! answers the server's counters in the text exposition format (version
//! 0.0.4). A small HTTP/1.0-style responder: one request per connection,
//! its head bounded, then the connection closes.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::time::Duration;

use polyshare_core::{Histogram, NFS3_PROCEDURES, SMB_COMMANDS, Server, WAIT_BUCKETS};
use polyshare_tokio::{Control, Inspect};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};

/// Largest request head read.
const MAX_HEAD: usize = 8192;
/// A client has this long to send its request head.
const HEAD_TIMEOUT: Duration = Duration::from_secs(10);

const PROTOCOLS: [&str; 2] = ["smb", "nfs"];

/// The counters of `server` in the text exposition format.
pub fn render(server: &Server) -> String {
    let s = server.stats();
    let mut o = String::new();
    let mut family = |name: &str, kind: &str, help: &str, samples: &[(String, u64)]| {
        let _ = writeln!(o, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for (labels, v) in samples {
            let _ = writeln!(o, "{name}{labels} {v}");
        }
    };
    let by_protocol = |v: [u64; 2]| -> Vec<(String, u64)> {
        PROTOCOLS.iter().zip(v).map(|(p, n)| (format!("{{protocol=\"{p}\"}}"), n)).collect()
    };
    let one = |v: u64| vec![(String::new(), v)];
    let mut requests: Vec<(String, u64)> = SMB_COMMANDS
        .iter()
        .zip(s.smb_requests)
        .map(|(c, n)| (format!("{{protocol=\"smb\",command=\"{c}\"}}"), n))
        .collect();
    requests.extend(
        NFS3_PROCEDURES.iter().zip(s.nfs_calls).map(|(c, n)| (format!("{{protocol=\"nfs\",command=\"{c}\"}}"), n)),
    );
    family("polyshare_requests_total", "counter", "Requests received, by protocol and command.", &requests);
    family(
        "polyshare_received_bytes_total",
        "counter",
        "Bytes of whole messages received.",
        &by_protocol(s.bytes_received),
    );
    family("polyshare_sent_bytes_total", "counter", "Bytes sent, framing included.", &by_protocol(s.bytes_sent));
    family(
        "polyshare_connections_accepted_total",
        "counter",
        "Connections accepted.",
        &by_protocol(s.connections_accepted),
    );
    let open = server.connections_open();
    family("polyshare_connections", "gauge", "Connections open now.", &by_protocol([open[0] as u64, open[1] as u64]));
    family("polyshare_leases_granted_total", "counter", "Opens granted a lease or an oplock.", &one(s.leases_granted));
    family("polyshare_lease_breaks_total", "counter", "Lease and oplock breaks sent.", &one(s.breaks_sent));
    family("polyshare_lease_breaks_acked_total", "counter", "Breaks acknowledged.", &one(s.breaks_acked));
    family("polyshare_lease_breaks_timed_out_total", "counter", "Breaks that timed out.", &one(s.breaks_timed_out));
    family("polyshare_parked_total", "counter", "Operations parked behind a break.", &one(s.ops_parked));
    family("polyshare_parked", "gauge", "Operations parked now.", &one(server.parked_now() as u64));
    family("polyshare_nfs_jukebox_total", "counter", "NFS calls answered JUKEBOX for a break.", &one(s.nfs_jukebox));
    family("polyshare_durable_preserved_total", "counter", "Durable opens kept.", &one(s.durable_preserved));
    histogram_head(&mut o, BREAK_WAIT, "How long each operation parked behind a lease break (or a lock) waited.");
    histogram(&mut o, BREAK_WAIT, "", &s.break_wait);
    histogram_head(
        &mut o,
        REQUEST_DURATION,
        "Time from reading a request to queuing its final reply, by protocol and command \
         (commands seen so far).",
    );
    let smb = SMB_COMMANDS.iter().zip(&s.smb_latency).map(|(c, h)| ("smb", c, h));
    let nfs = NFS3_PROCEDURES.iter().zip(&s.nfs_latency).map(|(c, h)| ("nfs", c, h));
    for (protocol, command, h) in smb.chain(nfs).filter(|(_, _, h)| h.count() > 0) {
        histogram(&mut o, REQUEST_DURATION, &format!("protocol=\"{protocol}\",command=\"{command}\","), h);
    }
    let _ = writeln!(
        o,
        "# HELP polyshare_parked_seconds_total Time operations waited behind breaks.\n\
         # TYPE polyshare_parked_seconds_total counter\npolyshare_parked_seconds_total {}",
        s.time_parked.as_secs_f64()
    );
    o
}

const BREAK_WAIT: &str = "polyshare_break_wait_seconds";
const REQUEST_DURATION: &str = "polyshare_request_duration_seconds";

/// The HELP and TYPE lines of a histogram family.
fn histogram_head(o: &mut String, name: &str, help: &str) {
    let _ = writeln!(o, "# HELP {name} {help}\n# TYPE {name} histogram");
}

/// One histogram of a family in the text format: cumulative
/// `_bucket{le=...}` lines ending with `+Inf`, then `_sum` and `_count`;
/// `labels` is empty or `name="value",` pairs each ending with a comma.
fn histogram(o: &mut String, name: &str, labels: &str, h: &Histogram) {
    let mut below = 0;
    for (bound, n) in WAIT_BUCKETS.iter().zip(h.counts) {
        below += n;
        let _ = writeln!(o, "{name}_bucket{{{labels}le=\"{bound}\"}} {below}");
    }
    let _ = writeln!(o, "{name}_bucket{{{labels}le=\"+Inf\"}} {}", h.count());
    let braced = match labels.strip_suffix(',') {
        Some(l) => format!("{{{l}}}"),
        None => String::new(),
    };
    let _ = writeln!(o, "{name}_sum{braced} {}\n{name}_count{braced} {}", h.sum.as_secs_f64(), h.count());
}

/// Binds `addr` (before the server announces itself, so a bad address
/// fails the start).
pub async fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr).await.map_err(|e| std::io::Error::new(e.kind(), format!("metrics {addr}: {e}")))
}

/// Answers scrapes on `listener` until the task is dropped.
pub async fn serve(listener: TcpListener, control: mpsc::Sender<Control>) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                tokio::spawn(answer(stream, control.clone()));
            }
            Err(e) => {
                tracing::warn!(error = %e, "metrics accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

async fn answer(mut stream: TcpStream, control: mpsc::Sender<Control>) {
    let mut head = Vec::new();
    let read = async {
        let mut buf = [0u8; 1024];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < MAX_HEAD {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return false,
                Ok(n) => head.extend_from_slice(&buf[..n]),
            }
        }
        true
    };
    if !matches!(tokio::time::timeout(HEAD_TIMEOUT, read).await, Ok(true)) {
        return;
    }
    let line = head.split(|b| *b == b'\r').next().unwrap_or_default();
    let (status, body) = if line.starts_with(b"GET /metrics ") || line == b"GET /metrics" {
        let (tx, rx) = oneshot::channel();
        let ask = Control::Inspect(Inspect(Box::new(move |s| {
            let _ = tx.send(render(s));
        })));
        match control.send(ask).await {
            Ok(()) => match rx.await {
                Ok(text) => ("200 OK", text),
                Err(_) => ("503 Service Unavailable", "stopping\n".into()),
            },
            Err(_) => ("503 Service Unavailable", "stopping\n".into()),
        }
    } else {
        ("404 Not Found", "GET /metrics\n".into())
    };
    let reply = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(reply.as_bytes()).await;
    let _ = stream.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_histogram_is_cumulative_and_ends_with_inf_sum_and_count() {
        let mut h = Histogram::default();
        for ms in [0, 3, 3, 700, 90_000] {
            h.observe(Duration::from_millis(ms));
        }
        let mut o = String::new();
        histogram_head(&mut o, "w", "help");
        histogram(&mut o, "w", "", &h);
        let value = |line: &str| o.lines().find_map(|l| l.strip_prefix(line)).map(|v| v.trim().to_owned());
        assert_eq!(value("# TYPE w").as_deref(), Some("histogram"));
        assert_eq!(value("w_bucket{le=\"0.0005\"}").as_deref(), Some("1"));
        assert_eq!(value("w_bucket{le=\"0.005\"}").as_deref(), Some("3"));
        assert_eq!(value("w_bucket{le=\"1\"}").as_deref(), Some("4"));
        assert_eq!(value("w_bucket{le=\"60\"}").as_deref(), Some("4"));
        assert_eq!(value("w_bucket{le=\"+Inf\"}").as_deref(), Some("5"));
        assert_eq!(value("w_count").as_deref(), Some("5"));
        assert_eq!(value("w_sum").as_deref(), Some("90.706"));
    }

    #[test]
    fn a_labelled_histogram_puts_le_last_and_labels_sum_and_count() {
        let mut h = Histogram::default();
        h.observe(Duration::from_micros(200));
        let mut o = String::new();
        histogram(&mut o, "r", "protocol=\"smb\",command=\"READ\",", &h);
        let lines: Vec<&str> = o.lines().collect();
        assert!(lines.contains(&"r_bucket{protocol=\"smb\",command=\"READ\",le=\"0.0001\"} 0"), "{o}");
        assert!(lines.contains(&"r_bucket{protocol=\"smb\",command=\"READ\",le=\"0.00025\"} 1"), "{o}");
        assert!(lines.contains(&"r_bucket{protocol=\"smb\",command=\"READ\",le=\"+Inf\"} 1"), "{o}");
        assert!(lines.contains(&"r_sum{protocol=\"smb\",command=\"READ\"} 0.0002"), "{o}");
        assert!(lines.contains(&"r_count{protocol=\"smb\",command=\"READ\"} 1"), "{o}");
    }
}
