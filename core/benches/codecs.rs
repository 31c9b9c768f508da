//! Codec micro-benchmarks: the hot decoders and encoders on the request path.
//!
//! `cargo bench -p polyshare-core --bench codecs`; under `cargo test
//! --all-targets` each benchmark runs once as a smoke test.

use std::hint::black_box;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use polyshare_core::nfs::nfs3::args::{Nfs3Args, StableHow};
use polyshare_core::nfs::nfs3::attrs::{WccAttr, encode_post_op, encode_wcc};
use polyshare_core::nfs::nfs3::fh::FhBytes;
use polyshare_core::nfs::nfs3::proc_;
use polyshare_core::nfs::rpc::{self, AcceptStat, AuthSys, CallHeader, Credentials};
use polyshare_core::nfs::xdr::{XdrReader, XdrWriter};
use polyshare_core::smb::wire::create_context::{
    CreateContext, LeaseContext, LeaseV2, ResponseContext, SMB2_LEASE_HANDLE_CACHING, SMB2_LEASE_READ_CACHING,
    SMB2_LEASE_WRITE_CACHING, decode_create_contexts, encode_create_contexts, encode_request_contexts,
};
use polyshare_core::time::Timespec;
use polyshare_core::vfs::{FileAttr, FileType};

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

const NFS_PROGRAM: u32 = 100_003;
/// The transfer sizes a Linux client uses: 64 KiB and the usual 1 MiB rsize/wsize.
const NFS_SIZES: [usize; 2] = [64 << 10, 1 << 20];

fn nfs_fh() -> FhBytes {
    FhBytes((0u8..32).collect())
}

fn auth_sys() -> Credentials {
    Credentials::Sys(AuthSys {
        stamp: 1,
        machinename: b"client.example".to_vec(),
        uid: 1000,
        gid: 1000,
        gids: vec![1000],
    })
}

/// One RPC record body (no record mark): call header + NFSv3 arguments.
fn nfs_call(proc_no: u32, args: &Nfs3Args) -> Vec<u8> {
    let mut w = XdrWriter::new();
    rpc::encode_call(&mut w, 0x1234_5678, NFS_PROGRAM, 3, proc_no, &auth_sys());
    args.encode(&mut w);
    w.into_vec()
}

fn decode_call(record: &[u8]) -> Option<Nfs3Args> {
    let mut r = XdrReader::new(record);
    let h = CallHeader::decode(&mut r).ok()?;
    Nfs3Args::decode(h.proc_, &mut r).ok()
}

fn file_attr(size: u64) -> FileAttr {
    let t = Timespec { secs: 1_700_000_000, nanos: 123_456_789 };
    FileAttr {
        id: 42,
        generation: 1,
        kind: FileType::Regular,
        mode: 0o644,
        nlink: 1,
        uid: 1000,
        gid: 1000,
        size,
        used: size,
        atime: t,
        mtime: t,
        ctime: t,
        btime: t,
        parent_file: None,
    }
}

/// READ: decode the call (RFC 1813 3.3.6), encode a READ3resok reply with
/// `size` bytes of data.
fn nfs_read(c: &mut Criterion) {
    let call = nfs_call(proc_::READ, &Nfs3Args::Read { fh: nfs_fh(), offset: 1 << 30, count: 1 << 20 });
    assert!(matches!(decode_call(&call), Some(Nfs3Args::Read { .. })));
    let mut g = c.benchmark_group("nfs_read");
    g.throughput(Throughput::Elements(1));
    g.bench_function("decode_call_read3args", |b| b.iter(|| decode_call(black_box(&call))));
    let attr = file_attr(4 << 30);
    for size in NFS_SIZES {
        let data = vec![0x5au8; size];
        g.throughput(Throughput::Bytes(size as u64));
        g.bench_function(format!("encode_reply_read3resok_{}k", size >> 10), |b| {
            b.iter(|| {
                let mut w = rpc::accepted(0x1234_5678, AcceptStat::Success);
                w.u32(0); // NFS3_OK
                encode_post_op(&mut w, Some(&attr));
                w.u32(data.len() as u32).bool(false).opaque(black_box(&data));
                black_box(w.len())
            })
        });
    }
    g.finish();
}

/// WRITE: decode the call with its payload (RFC 1813 3.3.7), encode a
/// WRITE3resok reply.
fn nfs_write(c: &mut Criterion) {
    let mut g = c.benchmark_group("nfs_write");
    for size in NFS_SIZES {
        let args = Nfs3Args::Write {
            fh: nfs_fh(),
            offset: 1 << 30,
            count: size as u32,
            stable: StableHow::Unstable,
            data: vec![0xa5; size],
        };
        let call = nfs_call(proc_::WRITE, &args);
        assert_eq!(decode_call(&call).as_ref(), Some(&args));
        g.throughput(Throughput::Bytes(size as u64));
        g.bench_function(format!("decode_call_write3args_{}k", size >> 10), |b| {
            b.iter(|| decode_call(black_box(&call)))
        });
    }
    let post = file_attr(4 << 30);
    let pre = WccAttr::from(&post);
    g.throughput(Throughput::Elements(1));
    g.bench_function("encode_reply_write3resok", |b| {
        b.iter(|| {
            let mut w = rpc::accepted(0x1234_5678, AcceptStat::Success);
            w.u32(0); // NFS3_OK
            encode_wcc(&mut w, Some(&pre), Some(black_box(&post)));
            w.u32(1 << 20).u32(StableHow::Unstable as u32).fixed(&[7u8; 8]);
            black_box(w.len())
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
    targets = create_contexts, nfs_read, nfs_write
}
criterion_main!(benches);
