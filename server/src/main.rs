//! `polyshare`: serve a file tree over SMB2/3 and NFSv3 (`serve`), check a
//! configuration file (`check-config`), keep the user database (`user`).

use std::io::{self, BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::parser::ValueSource;
use clap::{ArgMatches, CommandFactory, FromArgMatches, Parser, Subcommand};
use polyshare_core::config::Reconfigure;
use polyshare_core::config::{NtHash, User};
use polyshare_server::cli::{self, Args};
use polyshare_server::config_file::{self, Deployment};
use polyshare_server::storage::MountTable;
use polyshare_server::users::UserDb;
use polyshare_server::{control, metrics};
use polyshare_tokio::{Control, Inspect, Listeners, serve_controlled, shutdown_signal};

/// One file tree served over SMB2/3 and NFSv3, coherent across both.
#[derive(Debug, Parser)]
#[command(version)]
enum Command {
    /// Serve (the in-memory tree of the flags, or what --config says).
    Serve(Box<Serve>),
    /// Check a configuration file and print the effective configuration.
    CheckConfig {
        /// The configuration file.
        file: PathBuf,
    },
    /// Keep the user database (NT hashes, never passwords).
    User {
        #[command(subcommand)]
        cmd: UserCmd,
    },
    /// Show sessions, trees, opens with their leases, NFS clients and parked
    /// NFS calls of the running server (over its control socket).
    Status {
        /// The control socket.
        #[arg(long, value_name = "PATH", conflicts_with = "config")]
        socket: Option<PathBuf>,
        /// The configuration file naming the socket (`[server] control_socket`).
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// Print the JSON document.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, clap::Args)]
struct Serve {
    /// The configuration file; flags given as well override it.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The owner-only Unix socket `polyshare status` reads from.
    #[arg(long, value_name = "PATH")]
    control_socket: Option<PathBuf>,
    #[command(flatten)]
    flags: Args,
}

/// Where the user database is: `--db FILE`, or the `users` key of `--config
/// FILE`.
#[derive(Debug, Clone, clap::Args)]
struct DbPath {
    /// The user database file.
    #[arg(long, value_name = "FILE", conflicts_with = "config")]
    db: Option<PathBuf>,
    /// The configuration file naming the database (`[server] users`).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
enum UserCmd {
    /// Add an account; the password is prompted for (or read from stdin).
    Add {
        name: String,
        #[command(flatten)]
        db: DbPath,
        /// The Unix user the account acts as.
        #[arg(long, default_value_t = 65534)]
        uid: u32,
        /// Its primary group.
        #[arg(long, default_value_t = 65534)]
        gid: u32,
        /// Supplementary groups, comma-separated.
        #[arg(long, value_delimiter = ',')]
        groups: Vec<u32>,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        stdin: bool,
    },
    /// Change an account's password.
    Passwd {
        name: String,
        #[command(flatten)]
        db: DbPath,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        stdin: bool,
    },
    /// Remove an account (its sessions end at the server's next reload).
    Del {
        name: String,
        #[command(flatten)]
        db: DbPath,
    },
    /// List the accounts (names and ids, no hashes).
    List {
        #[command(flatten)]
        db: DbPath,
    },
}

fn main() -> ExitCode {
    let matches = Command::command().get_matches();
    let command = match Command::from_arg_matches(&matches) {
        Ok(c) => c,
        Err(e) => e.exit(),
    };
    let result = match command {
        Command::Serve(s) => run_serve(*s, matches.subcommand_matches("serve").expect("serve")),
        Command::CheckConfig { file } => config_file::load(&file).map_err(Into::into).and_then(|d| {
            let d = with_users(d)?;
            print!("{}", d.describe());
            Ok(())
        }),
        Command::User { cmd } => run_user(cmd),
        Command::Status { socket, config, json } => run_status(socket, config, json),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("polyshare: {e}");
            ExitCode::FAILURE
        }
    }
}

type Error = Box<dyn std::error::Error + Send + Sync>;

/// Adds the accounts of the deployment's user database to its users.
fn with_users(mut d: Deployment) -> Result<Deployment, Error> {
    if let Some(path) = &d.users_file {
        d.config.smb.users.extend(UserDb::load(path, false)?.users);
    }
    Ok(d)
}

/// The deployment `serve` runs: the configuration file (with its user
/// database) and the flags given, or the flags alone.
fn deployment(s: &Serve, given: &[String]) -> Result<Deployment, Error> {
    Ok(match &s.config {
        Some(file) => {
            let mut d = with_users(config_file::load(file)?)?;
            s.flags.override_deployment(&mut d, |id| given.iter().any(|g| g == id))?;
            d
        }
        None => s.flags.deployment(),
    })
    .map(|mut d| {
        if s.control_socket.is_some() {
            d.control_socket = s.control_socket.clone();
        }
        d
    })
}

fn run_status(socket: Option<PathBuf>, config: Option<PathBuf>, json: bool) -> Result<(), Error> {
    let path = match (socket, config) {
        (Some(p), _) => p,
        (None, Some(c)) => config_file::load(&c)?
            .control_socket
            .ok_or_else(|| format!("{}: no `control_socket` in [server]", c.display()))?,
        (None, None) => return Err("say where the server is: --socket PATH or --config FILE".into()),
    };
    let v = control::request_status(&path)?;
    match json {
        true => println!("{}", serde_json::to_string_pretty(&v)?),
        false => print!("{}", control::describe(&v)),
    }
    Ok(())
}

/// On each SIGHUP, reads the configuration again, mounts the storage of new
/// shares, and sends the shares, exports and accounts to the core; once the
/// core has them, the storage no share uses any more is unmounted. A bad
/// file is logged and the server goes on as it was. Listen addresses and
/// limits need a restart.
async fn reload_on_hangup(
    s: Serve,
    given: Vec<String>,
    control: tokio::sync::mpsc::Sender<Control>,
    mut table: Option<MountTable>,
) {
    use tokio::signal::unix::{SignalKind, signal};
    let mut hup = match signal(SignalKind::hangup()) {
        Ok(h) => h,
        Err(e) => return tracing::error!(error = %e, "cannot watch for SIGHUP: no reloads"),
    };
    while hup.recv().await.is_some() {
        if s.config.is_none() {
            tracing::warn!("SIGHUP: no configuration file to reload");
            continue;
        }
        let mut d = match deployment(&s, &given) {
            Ok(d) => d,
            Err(e) => {
                tracing::error!(error = %e, "SIGHUP: configuration not reloaded");
                continue;
            }
        };
        let unused = match &mut table {
            Some(t) => match t.place(&mut d.config, &d.storage) {
                Ok(unused) => unused,
                Err(e) => {
                    tracing::error!(error = %e, "SIGHUP: configuration not reloaded");
                    continue;
                }
            },
            None => Vec::new(),
        };
        let users = d.config.smb.users;
        let r = Reconfigure { shares: d.config.smb.shares, exports: d.config.nfs.exports, users };
        if control.send(Control::Reconfigure(r)).await.is_err() {
            return;
        }
        if let (Some(t), false) = (&mut table, unused.is_empty()) {
            // Commands run in order: when this answers, the core has closed
            // what the removed shares held.
            let (tx, rx) = tokio::sync::oneshot::channel();
            let ask = Control::Inspect(Inspect(Box::new(move |_| {
                let _ = tx.send(());
            })));
            if control.send(ask).await.is_err() || rx.await.is_err() {
                return;
            }
            t.unmount(&unused);
            tracing::info!(mounts = ?unused, "SIGHUP: storage no share uses is unmounted");
        }
    }
}

fn run_serve(s: Serve, matches: &ArgMatches) -> Result<(), Error> {
    let given: Vec<String> = matches
        .ids()
        .map(|id| id.as_str().to_owned())
        .filter(|id| matches.value_source(id) == Some(ValueSource::CommandLine))
        .collect();
    if given.iter().any(|g| g == "users") {
        // A password on the command line shows in `ps` and shell history.
        return Err("--user: `polyshare serve` takes accounts from its user database only \
                    (`polyshare user add NAME --db FILE`, then `[server] users = \"FILE\"`)"
            .into());
    }
    let deployment = deployment(&s, &given)?;
    cli::init_logging(deployment.log.as_deref());
    let runtime = polyshare_tokio::runtime_builder().worker_threads(2).build()?;
    // The core task runs on the workers beside the connections' readers, as
    // in the tokio_server example (see polyshare_tokio's crate documentation).
    runtime.block_on(async {
        let listeners = Listeners::bind(deployment.options.clone()).await?;
        let (setup, table) = deployment.start()?;
        // Everything is bound before the LISTENING line: a bad address
        // fails the start, not a later scrape.
        let (control, commands) = tokio::sync::mpsc::channel(4);
        let socket = match &deployment.control_socket {
            Some(path) => Some(tokio::spawn(control::serve(control::bind(path)?, control.clone()))),
            None => None,
        };
        let scrapes = match deployment.metrics {
            Some(addr) => Some(tokio::spawn(metrics::serve(metrics::bind(addr).await?, control.clone()))),
            None => None,
        };
        let ip = deployment.options.smb.or(deployment.options.nfs).map_or(s.flags.listen, |a| a.ip());
        let share = deployment.config.smb.shares.first().map_or("share", |s| s.name.as_str());
        cli::announce(ip, share, &listeners.local_addrs())?;
        let shutdown = async {
            match shutdown_signal().await {
                Ok(()) => tracing::info!("shutting down"),
                Err(e) => tracing::error!(error = %e, "cannot watch for signals; stopping"),
            }
        };
        let reloads = tokio::spawn(reload_on_hangup(s, given, control, table));
        let served = tokio::spawn(serve_controlled(listeners, setup, shutdown, commands))
            .await
            .unwrap_or_else(|e| Err(io::Error::other(e)));
        reloads.abort();
        for task in [socket, scrapes].into_iter().flatten() {
            task.abort();
        }
        if let Some(path) = &deployment.control_socket {
            let _ = std::fs::remove_file(path);
        }
        served
    })?;
    Ok(())
}

fn db_path(db: &DbPath) -> Result<PathBuf, Error> {
    match (&db.db, &db.config) {
        (Some(p), _) => Ok(p.clone()),
        (None, Some(c)) => {
            config_file::load(c)?.users_file.ok_or_else(|| format!("{}: no `users` in [server]", c.display()).into())
        }
        (None, None) => Err("say where the database is: --db FILE or --config FILE".into()),
    }
}

fn run_user(cmd: UserCmd) -> Result<(), Error> {
    match cmd {
        UserCmd::Add { name, db, uid, gid, groups, stdin } => {
            let path = db_path(&db)?;
            let mut users = UserDb::load(&path, true)?;
            let hash = read_password(stdin, true)?;
            users.add(User { name, nt_hash: hash, uid, gid, groups })?;
            users.save(&path)?;
        }
        UserCmd::Passwd { name, db, stdin } => {
            let path = db_path(&db)?;
            let mut users = UserDb::load(&path, false)?;
            users.passwd(&name, read_password(stdin, true)?)?;
            users.save(&path)?;
        }
        UserCmd::Del { name, db } => {
            let path = db_path(&db)?;
            let mut users = UserDb::load(&path, false)?;
            users.remove(&name)?;
            users.save(&path)?;
        }
        UserCmd::List { db } => {
            let users = UserDb::load(&db_path(&db)?, false)?;
            let mut out = io::stdout().lock();
            for u in &users.users {
                let groups: Vec<String> = u.groups.iter().map(u32::to_string).collect();
                writeln!(out, "{} uid={} gid={} groups={}", u.name, u.uid, u.gid, groups.join(","))?;
            }
        }
    }
    Ok(())
}

/// The password's NT hash: from the first line of stdin, or prompted for on
/// the terminal without echo (twice, when `confirm`). The password itself
/// goes no further than this function.
fn read_password(stdin: bool, confirm: bool) -> Result<NtHash, Error> {
    if stdin {
        let mut line = String::new();
        io::stdin().lock().read_line(&mut line)?;
        let password = line.strip_suffix('\n').map(|l| l.strip_suffix('\r').unwrap_or(l)).unwrap_or(&line);
        return Ok(NtHash::from_password(password));
    }
    if !io::stdin().is_terminal() {
        return Err("standard input is not a terminal: give --stdin to read the password from it".into());
    }
    let first = prompt("New password: ")?;
    if confirm && prompt("Retype new password: ")? != first {
        return Err("the passwords differ".into());
    }
    Ok(NtHash::from_password(&first))
}

/// Reads one line from the terminal with echo off (termios), restoring the
/// terminal's settings afterwards.
fn prompt(text: &str) -> Result<String, Error> {
    use nix::sys::termios::{LocalFlags, SetArg, tcgetattr, tcsetattr};
    eprint!("{text}");
    io::stderr().flush()?;
    let stdin = io::stdin();
    let saved = tcgetattr(&stdin)?;
    let mut quiet = saved.clone();
    quiet.local_flags.remove(LocalFlags::ECHO);
    quiet.local_flags.insert(LocalFlags::ECHONL);
    tcsetattr(&stdin, SetArg::TCSANOW, &quiet)?;
    let mut line = String::new();
    let read = stdin.lock().read_line(&mut line);
    tcsetattr(&stdin, SetArg::TCSANOW, &saved)?;
    read?;
    Ok(line.trim_end_matches(['\n', '\r']).to_owned())
}
