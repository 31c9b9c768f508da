//! The control socket of `polyshare serve` and its client, `polyshare
//! status`: a Unix stream socket, owner-only (mode 0600, and a peer whose
//! uid is neither the server's nor root's is refused). One request per
//! connection, a line naming it (`status`); the answer is one JSON document.

use std::io;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::Path;

use polyshare_core::snapshot::Snapshot;
use polyshare_tokio::{Control, Inspect};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{mpsc, oneshot};

/// Longest request line read.
const MAX_REQUEST: u64 = 256;

/// Binds `path` owner-only, replacing a stale socket left there (never
/// another kind of file).
pub fn bind(path: &Path) -> io::Result<UnixListener> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_socket() => std::fs::remove_file(path)?,
        Ok(_) => {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("{}: exists and is not a socket", path.display()),
            ));
        }
        Err(_) => {}
    }
    let listener =
        UnixListener::bind(path).map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    Ok(listener)
}

/// Answers requests on `listener` until the task is dropped.
pub async fn serve(listener: UnixListener, control: mpsc::Sender<Control>) {
    let me = nix::unistd::geteuid().as_raw();
    loop {
        let stream = match listener.accept().await {
            Ok((s, _)) => s,
            Err(e) => {
                tracing::warn!(error = %e, "control socket accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
        };
        match stream.peer_cred() {
            Ok(c) if c.uid() == me || c.uid() == 0 => {}
            other => {
                tracing::warn!(peer = ?other.map(|c| c.uid()), "control socket: peer refused");
                continue;
            }
        }
        tokio::spawn(answer(stream, control.clone()));
    }
}

async fn answer(stream: UnixStream, control: mpsc::Sender<Control>) {
    let (read, mut write) = stream.into_split();
    let mut line = String::new();
    let mut reader = tokio::io::AsyncReadExt::take(BufReader::new(read), MAX_REQUEST);
    if reader.read_line(&mut line).await.is_err() {
        return;
    }
    let reply = match line.trim() {
        "status" => {
            let (tx, rx) = oneshot::channel();
            let ask = Control::Inspect(Inspect(Box::new(move |s| {
                let _ = tx.send(s.snapshot());
            })));
            match control.send(ask).await {
                Ok(()) => match rx.await {
                    Ok(snap) => to_json(&snap),
                    Err(_) => json!({ "error": "the server is stopping" }),
                },
                Err(_) => json!({ "error": "the server is stopping" }),
            }
        }
        other => json!({ "error": format!("unknown request {other:?}") }),
    };
    let _ = write.write_all(format!("{reply}\n").as_bytes()).await;
    let _ = write.shutdown().await;
}

/// The snapshot as JSON: the core's plain structs, field for field.
pub fn to_json(s: &Snapshot) -> Value {
    json!({
        "sessions": s.sessions.iter().map(|v| json!({
            "conn": v.conn,
            "client": v.client.to_string(),
            "session_id": format!("{:#x}", v.session_id),
            "user": v.user,
            "dialect": v.dialect,
            "signing": v.signing,
            "signing_required": v.signing_required,
            "channels": v.channels.iter().map(|c| json!({
                "conn": c.conn,
                "client": c.client.to_string(),
                "bound": c.bound,
            })).collect::<Vec<_>>(),
            "encryption": v.encryption,
            "cipher": v.cipher,
            "trees": v.trees.iter().map(|t| json!({ "tree_id": t.tree_id, "share": t.share })).collect::<Vec<_>>(),
            "opens": v.opens.iter().map(|o| json!({
                "file_id": o.file_id,
                "tree_id": o.tree_id,
                "object": o.object,
                "share": o.share,
                "path": o.path,
                "access": format!("{:#x}", o.access),
                "lease": o.lease,
                "oplock": o.oplock,
                "breaking": o.breaking,
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "nfs_clients": s.nfs_clients.iter().map(|c| json!({
            "conn": c.conn,
            "client": c.client.to_string(),
            "parked": c.parked,
        })).collect::<Vec<_>>(),
        "parked": s.parked.iter().map(|p| json!({
            "conn": p.conn,
            "client": p.client.to_string(),
            "xid": p.xid,
            "procedure": p.procedure,
            "waits_on": p.waits_on.iter().map(|w| json!({
                "holder": w.holder,
                "holds": w.holds,
                "must_lose": w.must_lose,
                "breaking": w.breaking,
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    })
}

/// `polyshare status`: asks the server at `path` and returns its JSON.
pub fn request_status(path: &Path) -> io::Result<Value> {
    use std::io::{BufRead, Write};
    let mut s = std::os::unix::net::UnixStream::connect(path)
        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e} (is the server running?)", path.display())))?;
    s.write_all(b"status\n")?;
    let mut line = String::new();
    std::io::BufReader::new(s).read_line(&mut line)?;
    let v: Value = serde_json::from_str(&line).map_err(|e| io::Error::other(format!("bad answer: {e}")))?;
    match v.get("error").and_then(Value::as_str) {
        Some(e) => Err(io::Error::other(e.to_owned())),
        None => Ok(v),
    }
}

/// The JSON of [`to_json`] as text for a terminal, like `smbstatus`.
pub fn describe(v: &Value) -> String {
    let mut o = String::new();
    let s = |v: &Value, k: &str| match &v[k] {
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        other => other.to_string(),
    };
    let list = |v: &Value, k: &str| v[k].as_array().cloned().unwrap_or_default();
    o.push_str("SMB sessions:\n");
    for x in list(v, "sessions") {
        o.push_str(&format!(
            "  {} user={} client={} dialect={} signing={} encryption={} cipher={}\n",
            s(&x, "session_id"),
            s(&x, "user"),
            s(&x, "client"),
            s(&x, "dialect"),
            s(&x, "signing"),
            s(&x, "encryption"),
            s(&x, "cipher")
        ));
        for c in list(&x, "channels") {
            o.push_str(&format!(
                "    channel conn={} client={} bound={}\n",
                s(&c, "conn"),
                s(&c, "client"),
                s(&c, "bound")
            ));
        }
        for t in list(&x, "trees") {
            o.push_str(&format!("    tree {} share={}\n", s(&t, "tree_id"), s(&t, "share")));
        }
        for f in list(&x, "opens") {
            o.push_str(&format!(
                "    open {} {}\\{} tree={} object={} lease={} oplock={} breaking={}\n",
                s(&f, "file_id"),
                s(&f, "share"),
                s(&f, "path"),
                s(&f, "tree_id"),
                s(&f, "object"),
                s(&f, "lease"),
                s(&f, "oplock"),
                s(&f, "breaking")
            ));
        }
    }
    o.push_str("NFS clients:\n");
    for c in list(v, "nfs_clients") {
        o.push_str(&format!("  {} parked={}\n", s(&c, "client"), s(&c, "parked")));
    }
    o.push_str("Parked NFS calls:\n");
    for p in list(v, "parked") {
        o.push_str(&format!("  {} xid={} {}\n", s(&p, "client"), s(&p, "xid"), s(&p, "procedure")));
        for w in list(&p, "waits_on") {
            o.push_str(&format!(
                "    waits on {} holding {} to lose {} (breaking={})\n",
                s(&w, "holder"),
                s(&w, "holds"),
                s(&w, "must_lose"),
                s(&w, "breaking")
            ));
        }
    }
    o
}
