//! The NFS side's peer-byte decoders: ONC RPC record marking through
//! `framing::Framer` (RFC 5531 11), the call header (`rpc::CallHeader`,
//! credentials incl. AUTH_SYS), then the arguments of the program and
//! procedure it names: NFSv3 (`nfs3::args::Nfs3Args`, all 22 procedures,
//! RFC 1813 3.3; file handles through `NfsFh3::parse`), MOUNT v3 dirpath
//! (`mount::dirpath`, `export::find_export`) and portmap v2 mappings
//! (`portmap::Mapping`). Replies (`rpc::decode_reply`) are decoded too.
//!
//! Input: byte 0 `sel`, bytes 1..4 chunk sizes (cycled; 0 means 1), the rest
//! is the stream. `sel & 1 == 0`: the stream is record-marked and fed to a
//! Framer (limit `Limits::default().max_frame`) whole and in the chunks;
//! `sel & 1 == 1`: the stream is one record as it is.
//!
//! Checks beyond "no panic": the same records (and error) whole and
//! chunked; a call header re-encoded with `encode_call` decodes to the same
//! header and credentials; arguments re-encode to as many bytes as they
//! were decoded from and decode back the same; a parsed file handle
//! re-encodes to its bytes.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use polyshare_core::config::{Limits, NfsConfig};
use polyshare_core::framing::{FrameError, Framer, Transport};
use polyshare_core::nfs::nfs3::args::Nfs3Args;
use polyshare_core::nfs::nfs3::export::find_export;
use polyshare_core::nfs::nfs3::fh::{FhBytes, NfsFh3};
use polyshare_core::nfs::portmap::{self, Mapping};
use polyshare_core::nfs::rpc::{self, AUTH_NONE, CallHeader, Credentials};
use polyshare_core::nfs::xdr::{XdrReader, XdrWriter};
use polyshare_core::nfs::{PROG_MOUNT, PROG_NFS, PROG_PORTMAP, mount};

fn frames(f: &mut Framer, out: &mut Vec<Bytes>, err: &mut Option<FrameError>) {
    loop {
        match f.next_frame() {
            Ok(Some(b)) => out.push(b),
            Ok(None) => return,
            Err(e) => {
                *err = Some(e);
                return;
            }
        }
    }
}

fn handle(fh: &FhBytes) {
    if let Ok(p) = NfsFh3::parse(&fh.0) {
        assert_eq!(&p.to_bytes()[..], &fh.0[..], "file handle does not round trip");
        let mut w = XdrWriter::new();
        p.encode(&mut w);
        assert_eq!(FhBytes::decode(&mut XdrReader::new(w.as_slice())).as_ref(), Ok(fh));
    }
}

fn handles(a: &Nfs3Args) -> Vec<&FhBytes> {
    match a {
        Nfs3Args::Null => vec![],
        Nfs3Args::Getattr(fh)
        | Nfs3Args::Readlink(fh)
        | Nfs3Args::Fsstat(fh)
        | Nfs3Args::Fsinfo(fh)
        | Nfs3Args::Pathconf(fh)
        | Nfs3Args::Setattr { fh, .. }
        | Nfs3Args::Access { fh, .. }
        | Nfs3Args::Read { fh, .. }
        | Nfs3Args::Write { fh, .. }
        | Nfs3Args::Readdir { fh, .. }
        | Nfs3Args::Readdirplus { fh, .. }
        | Nfs3Args::Commit { fh, .. } => vec![fh],
        Nfs3Args::Lookup(w) | Nfs3Args::Remove(w) | Nfs3Args::Rmdir(w) => vec![&w.dir],
        Nfs3Args::Create { where_, .. }
        | Nfs3Args::Mkdir { where_, .. }
        | Nfs3Args::Symlink { where_, .. }
        | Nfs3Args::Mknod { where_, .. } => vec![&where_.dir],
        Nfs3Args::Rename { from, to } => vec![&from.dir, &to.dir],
        Nfs3Args::Link { fh, link } => vec![fh, &link.dir],
    }
}

/// NFSv3 arguments: they decode back the same after encoding, and the
/// encoding has the length they were decoded from (the bytes may differ:
/// XDR padding is not checked on decode and nanoseconds clamp).
fn nfs_args(proc_: u32, r: &mut XdrReader<'_>) {
    let start = r.rest();
    let mut r = XdrReader::new(start);
    let Ok(a) = Nfs3Args::decode(proc_, &mut r) else { return };
    assert_eq!(a.proc_no(), proc_);
    let used = start.len() - r.remaining();
    for fh in handles(&a) {
        handle(fh);
    }
    let mut w = XdrWriter::new();
    a.encode(&mut w);
    let mut again = XdrReader::new(w.as_slice());
    assert_eq!(Nfs3Args::decode(proc_, &mut again), Ok(a.clone()), "NFSv3 arguments do not round trip");
    assert!(again.is_empty());
    assert_eq!(w.len(), used, "NFSv3 arguments re-encode to another length");
}

fn call(record: &[u8]) {
    let _ = rpc::decode_reply(&mut XdrReader::new(record));
    let mut r = XdrReader::new(record);
    let Ok(hdr) = CallHeader::decode(&mut r) else { return };
    assert!(hdr.cred_body.len() <= rpc::MAX_AUTH_BYTES as usize);
    let cred = hdr.credentials();
    if let (Ok(c), AUTH_NONE) = (&cred, hdr.verf_flavor) {
        let mut w = XdrWriter::new();
        rpc::encode_call(&mut w, hdr.xid, hdr.prog, hdr.vers, hdr.proc_, c);
        let mut again = XdrReader::new(w.as_slice());
        let h2 = CallHeader::decode(&mut again).expect("encode_call output decodes");
        assert!(again.is_empty());
        assert_eq!(
            (h2.xid, h2.prog, h2.vers, h2.proc_, h2.cred_flavor, h2.verf_flavor),
            (hdr.xid, hdr.prog, hdr.vers, hdr.proc_, hdr.cred_flavor, hdr.verf_flavor)
        );
        assert_eq!(h2.rpcvers, rpc::RPC_VERSION);
        assert_eq!(h2.credentials().as_ref(), Ok(c), "credentials do not round trip");
        if let Credentials::Sys(s) = c {
            assert!(s.machinename.len() <= rpc::MAX_MACHINE_NAME as usize);
            assert!(s.gids.len() <= rpc::MAX_GIDS as usize);
        }
    }
    match (hdr.prog, hdr.proc_) {
        (PROG_NFS, p) => nfs_args(p, &mut r),
        (PROG_MOUNT, mount::MOUNTPROC3_MNT | mount::MOUNTPROC3_UMNT) => {
            if let Ok(path) = mount::dirpath(&mut r) {
                assert!(path.len() <= mount::MNTPATHLEN as usize);
                let mut w = XdrWriter::new();
                w.opaque(path);
                assert_eq!(mount::dirpath(&mut XdrReader::new(w.as_slice())), Ok(path));
                if let Ok(p) = std::str::from_utf8(path)
                    && let Some((i, sub)) = find_export(&NfsConfig::default(), &Default::default(), p)
                {
                    assert_eq!(i, 0);
                    assert!(sub.len() <= p.len());
                }
            }
        }
        (PROG_PORTMAP, portmap::PMAPPROC_SET | portmap::PMAPPROC_UNSET | portmap::PMAPPROC_GETPORT) => {
            if let Ok(m) = Mapping::decode(&mut r) {
                let mut w = XdrWriter::new();
                m.encode(&mut w);
                assert_eq!(w.len(), 16);
                assert_eq!(Mapping::decode(&mut XdrReader::new(w.as_slice())), Ok(m));
            }
        }
        _ => {}
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&[sel, c0, c1, c2], stream)) = data.split_first_chunk::<4>() else { return };
    if sel & 1 == 1 {
        return call(stream);
    }
    let max = Limits::default().max_frame;
    let (mut whole, mut whole_err) = (Vec::new(), None);
    let mut f = Framer::new(Transport::RpcRecordMarking, max);
    f.push(stream);
    frames(&mut f, &mut whole, &mut whole_err);

    let chunks = [c0, c1, c2].map(|c| usize::from(c.max(1)));
    let (mut chunked, mut chunked_err) = (Vec::new(), None);
    let mut f = Framer::new(Transport::RpcRecordMarking, max);
    let mut rest = stream;
    let mut i = 0;
    while !rest.is_empty() && chunked_err.is_none() {
        let (c, r) = rest.split_at(chunks[i % 3].min(rest.len()));
        i += 1;
        rest = r;
        f.push(c);
        frames(&mut f, &mut chunked, &mut chunked_err);
    }
    assert_eq!(whole, chunked, "records depend on chunking");
    assert_eq!(whole_err, chunked_err, "error depends on chunking");
    for rec in &whole {
        call(rec);
    }
});
