//! LeaseTable micro-benchmarks: the share-mode check every CREATE makes
//! (MS-FSA 2.1.5.1.2.1), lease grants on SMB CREATE (MS-SMB2 3.3.5.9.8), and
//! break planning for a conflicting NFS WRITE through to the SMB ack that
//! wakes it (MS-FSA 2.1.4.12, MS-SMB2 3.3.5.22.2).
//!
//! The `lease_table_1m` group runs on a table of a million leases and prints
//! the memory a lease costs.
//!
//! `cargo bench -p polyshare-core --bench lease_table`; under `cargo test
//! --all-targets` each benchmark runs once as a smoke test.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use polyshare_core::ConnId;
use polyshare_core::WaitToken;
use polyshare_core::lease::{
    BreakNotification, BreakTarget, Caller, ClientGuid, Decision, Grant, GrantRequest, LeaseEvent, LeaseKey,
    LeaseState, LeaseTable, LeaseVersion, Operation, access, share,
};

/// Drains the table's events: break notifications, and operations woken.
fn events(t: &mut LeaseTable) -> (Vec<BreakNotification>, Vec<WaitToken>) {
    let (mut notes, mut woken) = (Vec::new(), Vec::new());
    while let Some(e) = t.poll_event() {
        match e {
            LeaseEvent::Break { notification, .. } => notes.push(notification),
            LeaseEvent::Wake(token) => woken.push(token),
        }
    }
    (notes, woken)
}

const BREAK_TIMEOUT: Duration = Duration::from_secs(35);
const RW: u32 = access::FILE_READ_DATA | access::FILE_WRITE_DATA;
const SHARE_ALL: u32 = share::READ | share::WRITE | share::DELETE;
/// Files in the table besides the one a benchmark works on.
const FILES: u64 = 10_000;
const HOT: u64 = FILES + 1;

/// The core takes time as an argument; a benchmark makes one base instant.
#[allow(clippy::disallowed_methods)]
fn base_instant() -> Instant {
    Instant::now()
}

fn key(n: u64) -> LeaseKey {
    let mut k = [0u8; 16];
    k[..8].copy_from_slice(&n.to_le_bytes());
    LeaseKey(k)
}

fn guid(n: u64) -> ClientGuid {
    let mut g = [0xc1u8; 16];
    g[..8].copy_from_slice(&n.to_le_bytes());
    ClientGuid(g)
}

fn lease_request(client: u64, k: u64, state: LeaseState) -> GrantRequest {
    GrantRequest::Lease {
        client_guid: guid(client),
        key: key(k),
        requested: state,
        version: LeaseVersion::V2,
        epoch: 0,
        parent_key: None,
        is_directory: false,
    }
}

/// A table with `FILES` files, each with `per_file` read/write opens that
/// share everything under RWH leases of distinct keys, over 8 connections.
fn populated(per_file: u64, now: Instant) -> LeaseTable {
    let mut t = LeaseTable::new(BREAK_TIMEOUT);
    for f in 0..FILES {
        for i in 0..per_file {
            let id = t.add_open(f, RW, SHARE_ALL, ConnId(i % 8));
            let g = t.grant(f, id, lease_request(i, f * per_file + i, LeaseState::RWH), now);
            assert!(matches!(g, Ok(Grant::Lease { .. })), "{g:?}");
        }
    }
    t
}

fn share_modes(c: &mut Criterion) {
    let now = base_instant();
    let mut g = c.benchmark_group("lease_table_share");
    g.throughput(Throughput::Elements(1));
    let t = populated(4, now);
    g.bench_function("check_share_ok_4_opens", |b| b.iter(|| t.check_share(black_box(5_000), RW, SHARE_ALL)));
    g.bench_function("check_share_violation_4_opens", |b| {
        b.iter(|| t.check_share(black_box(5_000), access::FILE_WRITE_DATA, share::READ))
    });
    g.bench_function("check_share_untouched_file", |b| b.iter(|| t.check_share(black_box(HOT), RW, 0)));
    g.finish();
}

/// SMB CREATE with an RWH lease on an uncontended file, then CLOSE, on a
/// table holding 10k leased files: check, begin(Open), add_open, grant, close.
fn open_grant_close(c: &mut Criterion) {
    let now = base_instant();
    let mut g = c.benchmark_group("lease_table_open");
    g.throughput(Throughput::Elements(1));
    let mut t = populated(1, now);
    let mut op = 0u64;
    g.bench_function("create_rwh_lease_and_close_10k_files", |b| {
        b.iter(|| {
            op += 1;
            let token = WaitToken { conn: ConnId(1), op };
            let caller = Caller::Lease(guid(1), key(u64::MAX));
            let open = Operation::Open { access: RW, share: SHARE_ALL, truncate: false };
            assert_eq!(t.check_share(HOT, RW, SHARE_ALL), Ok(()));
            assert_eq!(t.begin(HOT, open, caller, token, now), Decision::Proceed);
            let id = t.add_open(HOT, RW, SHARE_ALL, ConnId(1));
            let grant = t.grant(HOT, id, lease_request(1, u64::MAX, LeaseState::RWH), now);
            t.close_open(id, now);
            black_box(grant)
        })
    });
    g.finish();
}

/// The cross-protocol path in the table: SMB clients cache a file, an NFS
/// call arrives (begin parks it and queues the breaks), the clients ack, the
/// call wakes. Then the opens close.
fn break_cycle(c: &mut Criterion) {
    let now = base_instant();
    let mut g = c.benchmark_group("lease_table_break");
    g.throughput(Throughput::Elements(1));
    let cases = [("nfs_write_breaks_1_rwh_lease_ack_wake", 1u64), ("nfs_remove_breaks_4_rh_leases_ack_wake", 4)];
    for (name, per_file) in cases {
        // One writer caches RWH and an NFS WRITE waits for its W; four
        // readers share RH and an NFS REMOVE waits for their H.
        let (state, op) =
            if per_file == 1 { (LeaseState::RWH, Operation::Write) } else { (LeaseState::RH, Operation::Delete) };
        g.bench_function(name, |b| {
            b.iter_batched_ref(
                || {
                    let mut t = LeaseTable::new(BREAK_TIMEOUT);
                    let opens: Vec<_> = (0..per_file)
                        .map(|i| {
                            let id = t.add_open(HOT, RW, SHARE_ALL, ConnId(i));
                            t.grant(HOT, id, lease_request(i, i, state), now).map(|_| id)
                        })
                        .collect();
                    (t, opens)
                },
                |(t, opens)| {
                    let token = WaitToken { conn: ConnId(100), op: 1 };
                    assert_eq!(t.begin(HOT, op, Caller::Nobody, token, now), Decision::Wait);
                    let mut breaks = 0;
                    let (notes, _) = events(t);
                    for n in notes {
                        if let BreakTarget::Lease { client_guid, key, .. } = n.target
                            && n.ack_required
                        {
                            let acked = t.ack_lease(client_guid, key, n.new, now);
                            assert!(acked.is_ok(), "{acked:?}");
                        }
                        breaks += 1;
                    }
                    assert_eq!(breaks, per_file);
                    assert_eq!(events(t).1, vec![token]);
                    for id in opens.iter().flatten() {
                        t.close_open(*id, now);
                    }
                },
                BatchSize::SmallInput,
            )
        });
    }
    g.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(50)
}

/// Resident set size of this process in KiB (Linux), to price a lease.
fn rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Grant, conflict check and break planning on a table that already holds a
/// million leases (one RWH lease per file, each its own client and key), and
/// what a lease costs in memory: the growth of the resident set while the
/// table is built, divided by the leases. `cargo bench` builds 1,000,000;
/// the smoke run under `cargo test` builds 10,000.
fn million_leases(c: &mut Criterion) {
    let n: u64 = if std::env::args().any(|a| a == "--bench") { 1_000_000 } else { 10_000 };
    let now = base_instant();
    let target = n / 2;
    let before = rss_kib();
    let mut t = LeaseTable::new(BREAK_TIMEOUT);
    let mut target_open = None;
    for f in 0..n {
        let id = t.add_open(f, RW, SHARE_ALL, ConnId(f % 8));
        let g = t.grant(f, id, lease_request(f, f, LeaseState::RWH), now);
        assert!(matches!(g, Ok(Grant::Lease { state: LeaseState::RWH, .. })), "{g:?}");
        if f == target {
            target_open = Some(id);
        }
    }
    if let (Some(b), Some(a)) = (before, rss_kib()) {
        let bytes = a.saturating_sub(b) * 1024;
        println!("lease_table_1m: {n} leases built; RSS grew {} KiB, {} bytes per lease", bytes / 1024, bytes / n);
    }
    let Some(target_open) = target_open else { return };
    let mut g = c.benchmark_group("lease_table_1m");
    g.throughput(Throughput::Elements(1));
    let mut op = 0u64;
    g.bench_function("grant_rwh_on_a_new_file_and_close", |b| {
        b.iter(|| {
            op += 1;
            let file = n + 1;
            let id = t.add_open(file, RW, SHARE_ALL, ConnId(1));
            let grant = t.grant(file, id, lease_request(n + 1, n + 1, LeaseState::RWH), now);
            t.close_open(id, now);
            black_box(grant)
        })
    });
    g.bench_function("conflict_check_on_a_leased_file", |b| {
        b.iter(|| black_box(t.check_share(black_box(target), access::FILE_WRITE_DATA, share::READ)))
    });
    // An NFS WRITE meets the RWH lease: the break is planned and queued, the
    // call parks; the ack wakes it; the client's next open upgrades back.
    g.bench_function("break_plan_ack_wake_regrant", |b| {
        b.iter(|| {
            op += 1;
            let token = WaitToken { conn: ConnId(100), op };
            let d = t.begin(target, Operation::Write, Caller::Nobody, token, now);
            assert_eq!(d, Decision::Wait);
            let (notes, _) = events(&mut t);
            assert!(notes.first().is_some_and(|n| n.new == LeaseState::NONE));
            assert!(t.ack_lease(guid(target), key(target), LeaseState::NONE, now).is_ok());
            assert_eq!(events(&mut t).1, vec![token]);
            let g = t.grant(target, target_open, lease_request(target, target, LeaseState::RWH), now);
            assert!(matches!(g, Ok(Grant::Lease { state: LeaseState::RWH, .. })), "{g:?}");
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = config();
    targets = million_leases, share_modes, open_grant_close, break_cycle
}
criterion_main!(benches);
