//! The flags of `polyshare serve`, which the example servers (one per
//! runtime) take too; `tests/example_servers.rs` rebuilds a server from
//! them. Given with `--config`, they override the file's settings.

use std::io::{self, IsTerminal, Write};
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use polyshare_core::config::{Export, Limits, NfsBreakPolicy, Share, User};
use polyshare_core::{Config, LocalFs, MemoryFs, Protocol, Seed, Setup, Vfs};
use polyshare_runtime::{BoundAddrs, ServerOptions};

use crate::config_file::Deployment;
use crate::storage::MountTable;

/// Serve one file tree over SMB2/3 and NFSv3.
#[derive(Debug, Clone, Parser)]
#[command(version)]
pub struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub listen: IpAddr,
    /// SMB port (0: any free port).
    #[arg(long, default_value_t = 4445)]
    pub smb_port: u16,
    /// NFS, MOUNT and portmapper port (0: any free port).
    #[arg(long, default_value_t = 20490)]
    pub nfs_port: u16,
    /// A second port speaking ONC RPC, for clients that ask the portmapper
    /// on a port of its own (111 needs root).
    #[arg(long)]
    pub portmap_port: Option<u16>,
    /// Serve this directory; an in-memory tree otherwise.
    #[arg(long)]
    pub root: Option<PathBuf>,
    /// An SMB user, NAME:PASSWORD[:UID:GID[,GID...]] (repeatable). The user
    /// acts as Unix uid UID, primary group GID and the further GIDs as
    /// supplementary groups (65534 for both when left out). The ids are
    /// recognised only as the last two fields and only when both are
    /// numeric (GID a comma-separated list), so a password may contain ':';
    /// one ending in ':NUMBER:NUMBER' must be followed by the ids.
    #[arg(long = "user", value_name = "NAME:PASSWORD[:UID:GID[,GID...]]", value_parser = parse_user)]
    pub users: Vec<User>,
    /// The Unix uid guest and anonymous SMB sessions act as (and own what
    /// they create).
    #[arg(long, value_name = "UID", default_value_t = 65534)]
    pub guest_uid: u32,
    /// The Unix gid guest and anonymous SMB sessions act as.
    #[arg(long, value_name = "GID", default_value_t = 65534)]
    pub guest_gid: u32,
    /// Serve the share and the export read-only: SMB opens for writing get
    /// STATUS_ACCESS_DENIED, NFS writes NFS3ERR_ROFS.
    #[arg(long)]
    pub read_only: bool,
    /// Guest and anonymous SMB sessions get read access only; users keep
    /// what file modes grant them.
    #[arg(long)]
    pub guest_read_only: bool,
    /// Mode (octal) of files created over SMB.
    #[arg(long, value_name = "OCTAL", default_value = "664", value_parser = parse_mode)]
    pub create_mask: u32,
    /// Mode (octal) of directories created over SMB.
    #[arg(long, value_name = "OCTAL", default_value = "775", value_parser = parse_mode)]
    pub directory_mask: u32,
    /// Allow guest and anonymous SMB sessions (the default).
    #[arg(long, overrides_with = "no_guest")]
    pub guest: bool,
    /// Refuse guest and anonymous SMB sessions.
    #[arg(long, overrides_with = "guest")]
    pub no_guest: bool,
    /// Require SMB signing, as Windows' RequireSecuritySignature: unsigned
    /// requests on a session are refused, and so are guest and anonymous
    /// logons (they have no key to sign with).
    #[arg(long)]
    pub require_signing: bool,
    /// Require SMB 3 encryption on every session (smbd's `server smb
    /// encrypt = required`): clients that cannot encrypt are refused at
    /// SESSION_SETUP, and so are guest and anonymous logons.
    #[arg(long)]
    pub require_encryption: bool,
    /// Require SMB 3 encryption on the share only (smbd's per-share
    /// `smb encrypt = required`): other clients are refused at
    /// TREE_CONNECT.
    #[arg(long)]
    pub encrypt_share: bool,
    /// The SMB share name; the NFS export is "/NAME".
    #[arg(long, default_value = "share")]
    pub share: String,
    /// How NFS operations wait for SMB lease breaks.
    #[arg(long, value_enum, default_value_t = Policy::Wait)]
    pub nfs_policy: Policy,
    /// Seconds a lease break may stay unacknowledged (fractions allowed).
    #[arg(long, value_name = "SECS", default_value = "35", value_parser = parse_secs)]
    pub break_timeout: Duration,
    /// Seconds an NFS connection may stay idle (nothing received, no call
    /// waiting) before the server closes it; 0: never. Default: 6 minutes,
    /// as Linux nfsd.
    #[arg(long, value_name = "SECS", default_value = "360", value_parser = parse_secs)]
    pub nfs_idle_timeout: Duration,
    /// NFS connections open at once; more are refused (closed at once).
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_nfs_connections)]
    pub max_nfs_connections: usize,
    /// SMB connections open at once, counted apart from NFS ones.
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_smb_connections)]
    pub max_smb_connections: usize,
    /// Threads that run storage requests (reads, writes, flushes, large
    /// signature checks and decryptions) off the event loop; bulk work runs
    /// on all of them but one. At least 1.
    #[arg(long, value_name = "N", default_value_t = ServerOptions::default().io_workers)]
    pub io_workers: usize,
    /// Storage requests handed out at once; more wait their turn in the
    /// core (never dropped). At least 1.
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_io_in_flight)]
    pub max_io_in_flight: usize,
    /// Refuse NFS clients calling from a port >= 1024 (knfsd's `secure`);
    /// off by default, since userspace clients such as libnfs use high ports.
    #[arg(long)]
    pub nfs_secure: bool,
    /// Record every input to FILE, for replay through the core.
    #[arg(long, value_name = "FILE")]
    pub record: Option<PathBuf>,
    /// Log filter (tracing-subscriber env-filter syntax); default: RUST_LOG,
    /// else "info".
    #[arg(long, value_name = "LEVEL")]
    pub log: Option<String>,
    /// For tests only: append the id and keys of every encrypted SMB
    /// session to FILE, one line each in the form of tshark's
    /// `smb2_seskey_list` (SessionId as on the wire, SessionKey,
    /// server-to-client and client-to-server keys, in hex). Whoever reads
    /// FILE can decrypt those sessions; never set by default.
    #[arg(long, value_name = "FILE")]
    pub session_key_log: Option<PathBuf>,
    /// For tests only: a fixed seed, making NTLM challenges and session ids
    /// predictable to anyone who knows it (default: 32 bytes of OS entropy).
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Policy {
    /// Park the NFS call until the break resolves.
    Wait,
    /// Answer NFS3ERR_JUKEBOX at once; the client retries.
    Jukebox,
}

/// NAME:PASSWORD[:UID:GID[,GID...]]: the ids are the last two fields when
/// both are numeric and a password field remains before them; otherwise
/// everything after the first ':' is the password.
pub fn parse_user(s: &str) -> Result<User, String> {
    let Some((name, rest)) = s.split_once(':').filter(|(n, _)| !n.is_empty()) else {
        return Err("expected NAME:PASSWORD[:UID:GID[,GID...]]".into());
    };
    let ids = rest.rsplitn(3, ':').collect::<Vec<_>>();
    if let [gids, uid, password] = ids[..] {
        let uid = uid.parse::<u32>();
        let gids = gids.split(',').map(str::parse::<u32>).collect::<Result<Vec<_>, _>>();
        if let (Ok(uid), Ok(gids)) = (uid, gids) {
            if let Some((&gid, groups)) = gids.split_first() {
                return Ok(User::new(name, password).with_ids(uid, gid, groups.to_vec()));
            }
        }
    }
    Ok(User::new(name, rest))
}

fn parse_mode(s: &str) -> Result<u32, String> {
    u32::from_str_radix(s, 8).ok().filter(|m| *m <= 0o7777).ok_or_else(|| format!("{s:?} is not an octal mode"))
}

fn parse_secs(s: &str) -> Result<Duration, String> {
    let secs: f64 = s.parse().map_err(|e| format!("{e}"))?;
    Duration::try_from_secs_f64(secs).map_err(|e| format!("{e}"))
}

/// The hook behind `--session-key-log`: one line per session, appended.
fn session_key_log(path: PathBuf) -> polyshare_core::config::SessionKeyExport {
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    polyshare_core::config::SessionKeyExport(std::sync::Arc::new(move |k| {
        let line = format!(
            "{},{},{},{}\n",
            hex(&k.session_id.to_le_bytes()),
            hex(k.session_key),
            hex(k.server_to_client),
            hex(k.client_to_server)
        );
        let file = std::fs::OpenOptions::new().create(true).append(true).open(&path);
        if let Err(e) = file.and_then(|mut f| f.write_all(line.as_bytes())) {
            eprintln!("session key log {}: {e}", path.display());
        }
    }))
}

impl Args {
    /// Logs to stderr (stdout carries the LISTENING line).
    pub fn init_logging(&self) {
        init_logging(self.log.as_deref());
    }

    pub fn options(&self) -> ServerOptions {
        let at = |port| Some(SocketAddr::new(self.listen, port));
        ServerOptions {
            smb: at(self.smb_port),
            nfs: at(self.nfs_port),
            portmap: self.portmap_port.and_then(at),
            record: self.record.clone(),
            io_workers: self.io_workers.max(1),
            ..ServerOptions::default()
        }
    }

    pub fn config(&self) -> Config {
        let mut config = Config::default();
        let guest = !self.no_guest;
        config.break_timeout = self.break_timeout;
        config.smb.guest = guest;
        config.smb.users = self.users.clone();
        config.smb.require_signing = self.require_signing;
        config.smb.require_encryption = self.require_encryption;
        config.smb.session_key_export = self.session_key_log.clone().map(session_key_log);
        config.smb.guest_uid = self.guest_uid;
        config.smb.guest_gid = self.guest_gid;
        config.smb.shares = vec![Share {
            read_only: self.read_only,
            guest_ok: guest,
            guest_read_only: self.guest_read_only,
            create_mask: self.create_mask,
            directory_mask: self.directory_mask,
            encrypt: self.encrypt_share,
            ..Share::new(self.share.clone(), "/")
        }];
        config.nfs.exports = vec![Export {
            name: format!("/{}", self.share),
            policy: self.nfs_policy.into(),
            secure: self.nfs_secure,
            read_only: self.read_only,
            ..Export::default()
        }];
        config.limits.nfs_idle_timeout = Some(self.nfs_idle_timeout).filter(|d| !d.is_zero());
        config.limits.max_nfs_connections = self.max_nfs_connections;
        config.limits.max_smb_connections = self.max_smb_connections;
        config.limits.max_io_in_flight = self.max_io_in_flight.max(1);
        // The overall ceiling never binds before the two caps.
        config.limits.max_connections = self.max_nfs_connections.saturating_add(self.max_smb_connections);
        config
    }

    /// What these flags alone serve: one share of the whole tree.
    pub fn deployment(&self) -> Deployment {
        Deployment {
            options: self.options(),
            config: self.config(),
            root: self.root.clone(),
            storage: Vec::new(),
            users_file: None,
            log: self.log.clone(),
            seed: self.seed.map(Seed::Fixed),
            control_socket: None,
            metrics: None,
        }
    }

    pub fn setup(&self) -> io::Result<Setup> {
        self.deployment().setup()
    }

    /// Overrides the settings of `d` (from a configuration file) with the
    /// flags for which `given` is true (those on the command line). Flags
    /// about "the share" apply to every share. `--root` does not apply to a
    /// file whose shares name their own storage.
    pub fn override_deployment(&self, d: &mut Deployment, given: impl Fn(&str) -> bool) -> Result<(), String> {
        let set_ip = |a: &mut Option<SocketAddr>| {
            if let Some(a) = a {
                a.set_ip(self.listen);
            }
        };
        if given("listen") {
            // One address for everything, as without a file.
            set_ip(&mut d.options.smb);
            set_ip(&mut d.options.nfs);
            set_ip(&mut d.options.portmap);
            d.options.also.clear();
        }
        let ip = d.options.smb.or(d.options.nfs).map_or(self.listen, |a| a.ip());
        // A port given moves every listener of its protocol.
        for (flag, port, primary, protocol) in [
            ("smb_port", self.smb_port, &mut d.options.smb, Protocol::Smb),
            ("nfs_port", self.nfs_port, &mut d.options.nfs, Protocol::Nfs),
        ] {
            if given(flag) {
                *primary = Some(SocketAddr::new(primary.map_or(ip, |a| a.ip()), port));
                d.options.also.iter_mut().filter(|(_, p)| *p == protocol).for_each(|(a, _)| a.set_port(port));
            }
        }
        if given("portmap_port") {
            d.options.portmap = self.portmap_port.map(|p| SocketAddr::new(ip, p));
        }
        if given("record") {
            d.options.record = self.record.clone();
        }
        if given("io_workers") {
            d.options.io_workers = self.io_workers.max(1);
        }
        if given("root") {
            if !d.storage.is_empty() {
                return Err("--root: the configuration file gives each share its own `path` or `memory`".into());
            }
            d.root = self.root.clone();
        }
        if given("log") {
            d.log = self.log.clone();
        }
        if given("seed") {
            d.seed = self.seed.map(Seed::Fixed);
        }
        let c = &mut d.config;
        if given("users") {
            c.smb.users.extend(self.users.iter().cloned());
        }
        if given("guest") || given("no_guest") {
            c.smb.guest = !self.no_guest;
            c.smb.shares.iter_mut().for_each(|s| s.guest_ok = !self.no_guest);
        }
        if given("require_signing") {
            c.smb.require_signing = self.require_signing;
        }
        if given("guest_uid") {
            c.smb.guest_uid = self.guest_uid;
        }
        if given("guest_gid") {
            c.smb.guest_gid = self.guest_gid;
        }
        for s in &mut c.smb.shares {
            if given("read_only") {
                s.read_only = self.read_only;
            }
            if given("guest_read_only") {
                s.guest_read_only = self.guest_read_only;
            }
            if given("create_mask") {
                s.create_mask = self.create_mask;
            }
            if given("directory_mask") {
                s.directory_mask = self.directory_mask;
            }
        }
        if given("share") {
            if let ([s], [e]) = (&mut c.smb.shares[..], &mut c.nfs.exports[..]) {
                s.name = self.share.clone();
                e.name = format!("/{}", self.share);
            }
        }
        for e in &mut c.nfs.exports {
            if given("read_only") {
                e.read_only = self.read_only;
            }
            if given("nfs_policy") {
                e.policy = self.nfs_policy.into();
            }
            if given("nfs_secure") {
                e.secure = self.nfs_secure;
            }
        }
        if given("break_timeout") {
            c.break_timeout = self.break_timeout;
        }
        if given("nfs_idle_timeout") {
            c.limits.nfs_idle_timeout = Some(self.nfs_idle_timeout).filter(|d| !d.is_zero());
        }
        if given("max_nfs_connections") {
            c.limits.max_nfs_connections = self.max_nfs_connections;
        }
        if given("max_smb_connections") {
            c.limits.max_smb_connections = self.max_smb_connections;
        }
        if given("max_io_in_flight") {
            c.limits.max_io_in_flight = self.max_io_in_flight.max(1);
        }
        c.limits.max_connections = c.limits.max_nfs_connections.saturating_add(c.limits.max_smb_connections);
        Ok(())
    }

    /// Prints how to connect and the machine-readable line
    /// `LISTENING smb=PORT nfs=PORT [portmap=PORT]`.
    pub fn announce(&self, addrs: &BoundAddrs) -> io::Result<()> {
        announce(self.listen, &self.share, addrs)
    }
}

impl From<Policy> for NfsBreakPolicy {
    fn from(p: Policy) -> Self {
        match p {
            Policy::Wait => NfsBreakPolicy::Wait,
            Policy::Jukebox => NfsBreakPolicy::Jukebox,
        }
    }
}

impl Deployment {
    /// The core's start-up input: the configuration and the storage
    /// ([`Deployment::root`] or an in-memory tree).
    pub fn setup(&self) -> io::Result<Setup> {
        self.start().map(|(setup, _)| setup)
    }

    /// The core's start-up input and, when the shares name their own
    /// storage ([`Deployment::storage`]), the mount table that holds it
    /// (a reload places the new shares in it).
    pub fn start(&self) -> io::Result<(Setup, Option<MountTable>)> {
        if !self.storage.is_empty() {
            let mut table = MountTable::new();
            let mut config = self.config.clone();
            table.place(&mut config, &self.storage)?;
            return Ok((Setup { config, vfs: table.vfs(), seed: self.seed }, Some(table)));
        }
        let vfs: Box<dyn Vfs> = match &self.root {
            Some(dir) => {
                if !dir.is_dir() {
                    return Err(io::Error::new(
                        io::ErrorKind::NotFound,
                        format!("{} is not a directory", dir.display()),
                    ));
                }
                Box::new(LocalFs::new(dir).map_err(|e| io::Error::other(format!("{}: {e}", dir.display())))?)
            }
            None => Box::<MemoryFs>::default(),
        };
        Ok((Setup { config: self.config.clone(), vfs, seed: self.seed }, None))
    }
}

/// Logs to stderr at `level` (tracing-subscriber env-filter syntax; default:
/// RUST_LOG, else "info").
pub fn init_logging(level: Option<&str>) {
    let wanted = level.map(str::to_owned).or_else(|| std::env::var("RUST_LOG").ok()).unwrap_or_else(|| "info".into());
    let filter = tracing_subscriber::EnvFilter::try_new(&wanted).unwrap_or_else(|e| {
        eprintln!("bad log filter {wanted:?} ({e}); using info");
        tracing_subscriber::EnvFilter::new("info")
    });
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(io::stderr)
        .with_ansi(io::stderr().is_terminal())
        .init();
}

/// Prints how to reach `share` on `listen` and the machine-readable line
/// `LISTENING smb=PORT nfs=PORT [portmap=PORT]` that tests and scripts read.
pub fn announce(listen: IpAddr, share: &str, addrs: &BoundAddrs) -> io::Result<()> {
    let mut out = io::stdout().lock();
    let host = match listen {
        IpAddr::V4(a) => a.to_string(),
        IpAddr::V6(a) => format!("[{a}]"),
    };
    let port = |a: Option<SocketAddr>| a.map_or(0, |a| a.port());
    let (smb, nfs) = (port(addrs.smb), port(addrs.nfs));
    writeln!(out, "SMB: smbclient //{host}/{share} -p {smb} -N")?;
    writeln!(out, "NFS: nfs-ls 'nfs://{host}/{share}?nfsport={nfs}&mountport={nfs}'")?;
    writeln!(
        out,
        "     mount -t nfs -o vers=3,tcp,port={nfs},mountport={nfs},mountproto=tcp,nolock {host}:/{share} /mnt"
    )?;
    match addrs.portmap {
        Some(p) => writeln!(out, "LISTENING smb={smb} nfs={nfs} portmap={}", p.port())?,
        None => writeln!(out, "LISTENING smb={smb} nfs={nfs}")?,
    }
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_given_override_the_file_and_others_do_not() {
        let mut d = crate::config_file::parse(
            std::path::Path::new("t.toml"),
            "[server]\nlisten = \"10.0.0.1\"\nsmb_port = 445\nnfs_port = 2049\nbreak_timeout = 5\n\
             [[share]]\nname = \"a\"\nmemory = true\n[[share]]\nname = \"b\"\nmemory = true\nnfs_policy = \"jukebox\"\n",
        )
        .unwrap();
        let args = Args::parse_from(["x", "--smb-port", "0", "--nfs-policy", "wait", "--break-timeout", "35"]);
        let given = ["smb_port", "nfs_policy"];
        args.override_deployment(&mut d, |id| given.contains(&id)).unwrap();
        assert_eq!(d.options.smb, Some("10.0.0.1:0".parse().unwrap()));
        assert_eq!(d.options.nfs, Some("10.0.0.1:2049".parse().unwrap()));
        assert!(d.config.nfs.exports.iter().all(|e| e.policy == NfsBreakPolicy::Wait));
        assert_eq!(d.config.break_timeout, Duration::from_secs(5), "not given: the file's value stays");
        assert_eq!(d.config.smb.shares.len(), 2);
    }
}
