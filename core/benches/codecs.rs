//! Codec micro-benchmarks: the hot decoders and encoders on the request path.
//! Groups: `smb_create_context` (a Windows-style request chain decoded, a
//! response chain encoded), `smb2` (header and CREATE request decode),
//! `nfs_read` / `nfs_write` (RPC call + READ3args / WRITE3args decode, reply
//! encode at 64 KiB and 1 MiB), `smb_signing` (a signed 1 MiB and 8 MiB
//! WRITE verified with each signing algorithm, as a worker does before the
//! data is stored), `smb_encryption` (a 1 MiB and 8 MiB message sealed and
//! unsealed in place with each cipher, as a worker seals a READ reply).
//!
//! `cargo bench -p polyshare-core --bench codecs`; under `cargo test
//! --all-targets` each benchmark runs once as a smoke test.

use std::hint::black_box;
use std::time::Duration;

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use polyshare_core::nfs::nfs3::args::{Nfs3Args, StableHow};
use polyshare_core::nfs::nfs3::attrs::{WccAttr, encode_post_op, encode_wcc};
use polyshare_core::nfs::nfs3::fh::FhBytes;
use polyshare_core::nfs::nfs3::proc_;
use polyshare_core::nfs::rpc::{self, AcceptStat, AuthSys, CallHeader, Credentials};
use polyshare_core::nfs::xdr::{XdrReader, XdrWriter};
use polyshare_core::smb::wire::create::CreateRequest;
use polyshare_core::smb::wire::create_context::{
    CreateContext, LeaseContext, LeaseV2, ResponseContext, SMB2_LEASE_HANDLE_CACHING, SMB2_LEASE_READ_CACHING,
    SMB2_LEASE_WRITE_CACHING, decode_create_contexts, encode_create_contexts, encode_request_contexts,
};
use polyshare_core::smb::wire::header::Header;
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
    let mut out = Vec::new();
    encode_request_contexts(&ctxs, &mut out);
    Bytes::from(out)
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
    let mut out = Vec::with_capacity(512);
    g.bench_function("encode_response_chain_mxac_qfid_rqls2_dh2q", |b| {
        b.iter(|| {
            out.clear();
            black_box(encode_create_contexts(black_box(&resp), &mut out))
        })
    });
    g.finish();
}

/// A 64-byte SMB2 sync header (MS-SMB2 2.2.1.2) for `command`, signed, as a
/// Windows client sends after SESSION_SETUP.
fn smb2_header(command: u16, message_id: u64) -> Vec<u8> {
    let mut h = Vec::with_capacity(64);
    h.extend_from_slice(b"\xfeSMB");
    h.extend_from_slice(&64u16.to_le_bytes()); // StructureSize
    h.extend_from_slice(&1u16.to_le_bytes()); // CreditCharge
    h.extend_from_slice(&0u32.to_le_bytes()); // ChannelSequence/Reserved
    h.extend_from_slice(&command.to_le_bytes());
    h.extend_from_slice(&33u16.to_le_bytes()); // CreditRequest
    h.extend_from_slice(&0x8u32.to_le_bytes()); // Flags: SIGNED
    h.extend_from_slice(&0u32.to_le_bytes()); // NextCommand
    h.extend_from_slice(&message_id.to_le_bytes());
    h.extend_from_slice(&0xfeffu32.to_le_bytes()); // Reserved (process id)
    h.extend_from_slice(&5u32.to_le_bytes()); // TreeId
    h.extend_from_slice(&0x0000_4000_0000_0011u64.to_le_bytes()); // SessionId
    h.extend_from_slice(&[0x5a; 16]); // Signature
    h
}

/// A CREATE request (MS-SMB2 2.2.13) opening `name` with the request chain
/// above: a Windows Explorer style open of a document.
fn smb2_create(name: &str) -> Vec<u8> {
    let mut m = smb2_header(5, 42);
    let name16: Vec<u8> = name.encode_utf16().flat_map(u16::to_le_bytes).collect();
    let chain = request_chain();
    let name_off = 64 + 56;
    let ctx_off = (name_off + name16.len()).next_multiple_of(8);
    m.extend_from_slice(&57u16.to_le_bytes()); // StructureSize
    m.push(0); // SecurityFlags
    m.push(0xff); // RequestedOplockLevel: LEASE
    m.extend_from_slice(&2u32.to_le_bytes()); // ImpersonationLevel
    m.extend_from_slice(&[0; 16]); // SmbCreateFlags, Reserved
    m.extend_from_slice(&0x0012_019fu32.to_le_bytes()); // DesiredAccess
    m.extend_from_slice(&0x80u32.to_le_bytes()); // FileAttributes: NORMAL
    m.extend_from_slice(&7u32.to_le_bytes()); // ShareAccess
    m.extend_from_slice(&3u32.to_le_bytes()); // CreateDisposition: OPEN_IF
    m.extend_from_slice(&0x0020_0040u32.to_le_bytes()); // CreateOptions
    m.extend_from_slice(&(name_off as u16).to_le_bytes());
    m.extend_from_slice(&(name16.len() as u16).to_le_bytes());
    m.extend_from_slice(&(ctx_off as u32).to_le_bytes());
    m.extend_from_slice(&(chain.len() as u32).to_le_bytes());
    m.extend_from_slice(&name16);
    m.resize(ctx_off, 0);
    m.extend_from_slice(&chain);
    m
}

fn smb2_messages(c: &mut Criterion) {
    let read = smb2_header(8, 7);
    assert!(Header::decode(&read).is_ok());
    let create = smb2_create("Projects\\2026\\Quarterly report (final).docx");
    let decoded = CreateRequest::decode(&create);
    assert!(decoded.as_ref().is_ok_and(|r| r.contexts.len() == request_chain().len()), "{decoded:?}");
    let mut g = c.benchmark_group("smb2");
    g.throughput(Throughput::Elements(1));
    g.bench_function("decode_header", |b| b.iter(|| Header::decode(black_box(&read))));
    g.bench_function("decode_create_request", |b| b.iter(|| CreateRequest::decode(black_box(&create))));
    g.bench_function("decode_create_request_and_contexts", |b| {
        b.iter(|| {
            let r = CreateRequest::decode(black_box(&create)).ok()?;
            decode_create_contexts(&r.contexts).ok()
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
        dos: None,
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
            data: vec![0xa5; size].into(),
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

fn smb_signing(c: &mut Criterion) {
    use polyshare_core::smb::signing::{SigningAlgorithm, sign, verify};
    let key = [0x5a; 16];
    let mut g = c.benchmark_group("smb_signing");
    for size in [1usize << 20, 8 << 20] {
        let mut message = smb2_header(0x0009, 41);
        message.resize(64 + 48 + size, 0x77);
        g.throughput(Throughput::Bytes(message.len() as u64));
        for algo in [SigningAlgorithm::HmacSha256, SigningAlgorithm::AesCmac, SigningAlgorithm::AesGmac] {
            sign(algo, &key, &mut message);
            g.bench_function(format!("verify_{algo:?}_{}MiB", size >> 20), |b| {
                b.iter(|| assert!(verify(algo, &key, black_box(&message))))
            });
        }
    }
    g.finish();
}

fn smb_encryption(c: &mut Criterion) {
    use polyshare_core::smb::cipher::{Cipher, CipherKey, seal, unseal};
    use polyshare_core::smb::wire::transform::TRANSFORM_HEADER_LEN;
    let mut g = c.benchmark_group("smb_encryption");
    for size in [1usize << 20, 8 << 20] {
        let mut message = smb2_header(0x0008, 41);
        message.resize(64 + 16 + size, 0x77);
        g.throughput(Throughput::Bytes(message.len() as u64));
        for cipher in Cipher::ALL {
            let key = CipherKey::new(cipher, &[0x5a; 32][..cipher.key_len()]).expect("key length");
            let mut nonce = [0u8; 16];
            nonce[0] = 1;
            // Sealing works in place: the same buffer is sealed again and again.
            let mut buf = message.clone();
            g.bench_function(format!("seal_{cipher:?}_{}MiB", size >> 20), |b| {
                b.iter(|| seal(&key, nonce, 1, black_box(&mut buf)).expect("seals"))
            });
            let mut frame = seal(&key, nonce, 1, &mut message.clone()).expect("seals").to_vec();
            let mut body = message.clone();
            seal(&key, nonce, 1, &mut body).expect("seals");
            frame.extend_from_slice(&body);
            let mut work = frame.clone();
            g.bench_function(format!("unseal_{cipher:?}_{}MiB", size >> 20), |b| {
                b.iter(|| {
                    work.copy_from_slice(&frame);
                    assert!(unseal(&key, black_box(&mut work)).is_ok());
                    assert_eq!(work.len(), TRANSFORM_HEADER_LEN + message.len());
                })
            });
        }
    }
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
    targets = create_contexts, smb2_messages, nfs_read, nfs_write, smb_signing, smb_encryption
}
criterion_main!(benches);
