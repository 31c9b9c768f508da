//! Codec micro-benchmarks: the hot decoders and encoders on the request path.
//!
//! `cargo bench -p polyshare-core --bench codecs`; under `cargo test
//! --all-targets` each benchmark runs once as a smoke test.

use std::hint::black_box;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use polyshare_core::smb::wire::create_context::{
    CreateContext, LeaseContext, LeaseV2, ResponseContext, SMB2_LEASE_HANDLE_CACHING, SMB2_LEASE_READ_CACHING,
    SMB2_LEASE_WRITE_CACHING, decode_create_contexts, encode_create_contexts, encode_request_contexts,
};

const RWH: u32 = SMB2_LEASE_READ_CACHING | SMB2_LEASE_WRITE_CACHING | SMB2_LEASE_HANDLE_CACHING;

fn lease_v2() -> LeaseContext {
    LeaseContext {
        key: *b"\x11\x22\x33\x44\x55\x66\x77\x88\x99\xaa\xbb\xcc\xdd\xee\xff\x00",
        state: RWH,
        flags: 0,
        duration: 0,
        v2: Some(LeaseV2 { parent_key: [0; 16], epoch: 1 }),
    }
}

/// What a Windows 10+ client sends on a plain file open: DH2Q, MxAc, QFid,
/// RqLs v2 (MS-SMB2 2.2.13.2).
fn request_chain() -> Bytes {
    let ctxs = [
        CreateContext::DurableRequestV2 { timeout: 0, flags: 0, create_guid: *b"0123456789abcdef" },
        CreateContext::MaximalAccess { timestamp: None },
        CreateContext::QueryOnDiskId,
        CreateContext::Lease(lease_v2()),
    ];
    let mut out = BytesMut::new();
    encode_request_contexts(&ctxs, &mut out);
    out.freeze()
}

/// The matching response chain (MS-SMB2 2.2.14.2).
fn response_contexts() -> [ResponseContext; 4] {
    [
        ResponseContext::MaximalAccess { query_status: 0, maximal_access: 0x001f_01ff },
        ResponseContext::QueryOnDiskId { disk_file_id: 0x1234_5678, volume_id: 0x42 },
        ResponseContext::Lease(LeaseContext { flags: 0, ..lease_v2() }),
        ResponseContext::DurableV2 { timeout: 60_000, flags: 0 },
    ]
}

fn create_contexts(c: &mut Criterion) {
    let chain = request_chain();
    assert_eq!(decode_create_contexts(&chain).map(|v| v.len()), Ok(4));
    let mut g = c.benchmark_group("smb_create_context");
    g.throughput(Throughput::Elements(1));
    g.bench_function("decode_request_chain_dh2q_mxac_qfid_rqls2", |b| {
        b.iter(|| decode_create_contexts(black_box(&chain)))
    });
    let resp = response_contexts();
    let mut out = BytesMut::with_capacity(512);
    g.bench_function("encode_response_chain_mxac_qfid_rqls2_dh2q", |b| {
        b.iter(|| {
            out.clear();
            black_box(encode_create_contexts(black_box(&resp), &mut out))
        })
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
    targets = create_contexts
}
criterion_main!(benches);
