//! LeaseTable micro-benchmarks: the share-mode check every CREATE makes
//! (MS-FSA 2.1.5.1.2.1), and the open/close bookkeeping around it.
//!
//! `cargo bench -p polyshare-core --bench lease_table`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use polyshare_core::ConnId;
use polyshare_core::lease::{LeaseTable, access, share};

const BREAK_TIMEOUT: Duration = Duration::from_secs(35);
const RW: u32 = access::FILE_READ_DATA | access::FILE_WRITE_DATA;
const SHARE_ALL: u32 = share::READ | share::WRITE | share::DELETE;

/// A table with `files` files, each with `per_file` read/write opens that
/// share everything, spread over 8 connections.
fn populated(files: u64, per_file: u64) -> LeaseTable {
    let mut t = LeaseTable::new(BREAK_TIMEOUT);
    for f in 0..files {
        for i in 0..per_file {
            t.add_open(f, RW, SHARE_ALL, ConnId(i % 8));
        }
    }
    t
}

fn share_modes(c: &mut Criterion) {
    let mut g = c.benchmark_group("lease_table_share");
    g.throughput(Throughput::Elements(1));
    let t = populated(10_000, 4);
    g.bench_function("check_share_ok_4_opens_of_10k_files", |b| {
        b.iter(|| t.check_share(black_box(5_000), RW, SHARE_ALL))
    });
    g.bench_function("check_share_violation_4_opens", |b| {
        b.iter(|| t.check_share(black_box(5_000), access::FILE_WRITE_DATA, share::READ))
    });
    g.bench_function("check_share_untouched_file", |b| b.iter(|| t.check_share(black_box(99_999), RW, 0)));
    g.finish();

    // 64 CREATE + CLOSE cycles on a busy table: check, add, remove.
    let mut g = c.benchmark_group("lease_table_open_close");
    g.throughput(Throughput::Elements(64));
    g.bench_function("open_close_cycle_10k_files", |b| {
        b.iter_batched_ref(
            || populated(10_000, 1),
            |t| {
                for f in 0..64u64 {
                    let file = black_box(f * 97 % 10_000);
                    if t.check_share(file, RW, SHARE_ALL).is_ok() {
                        let id = t.add_open(file, RW, SHARE_ALL, ConnId(1));
                        t.remove_open(id);
                    }
                }
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(50)
}

criterion_group! {
    name = benches;
    config = config();
    targets = share_modes
}
criterion_main!(benches);
