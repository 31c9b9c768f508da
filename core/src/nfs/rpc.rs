//! ONC RPC v2 messages (RFC 5531): the call header with its AUTH_NONE or
//! AUTH_SYS credentials, and the reply headers the server sends.

use super::xdr::{XdrError, XdrReader, XdrResult, XdrWriter};

/// RFC 5531 9: msg_type.
pub const CALL: u32 = 0;
pub const REPLY: u32 = 1;
pub const RPC_VERSION: u32 = 2;

/// RFC 5531 8.2: auth_flavor.
pub const AUTH_NONE: u32 = 0;
pub const AUTH_SYS: u32 = 1;

/// RFC 5531 8.1: the body of an opaque_auth is at most 400 bytes.
pub const MAX_AUTH_BYTES: u32 = 400;
/// RFC 5531 A.1: machinename<255>, gids<16>.
pub const MAX_MACHINE_NAME: u32 = 255;
pub const MAX_GIDS: u32 = 16;

/// RFC 5531 9: accept_stat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AcceptStat {
    Success,
    ProgUnavail,
    ProgMismatch { low: u32, high: u32 },
    ProcUnavail,
    GarbageArgs,
    SystemErr,
}

/// RFC 5531 9: auth_stat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum AuthStat {
    Ok = 0,
    BadCred = 1,
    RejectedCred = 2,
    BadVerf = 3,
    RejectedVerf = 4,
    TooWeak = 5,
}

/// RFC 5531 9: the reasons a call is rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectStat {
    RpcMismatch { low: u32, high: u32 },
    AuthError(AuthStat),
}

/// RFC 5531 A.1: the AUTH_SYS credential body.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuthSys {
    pub stamp: u32,
    pub machinename: Vec<u8>,
    pub uid: u32,
    pub gid: u32,
    pub gids: Vec<u32>,
}

impl AuthSys {
    pub fn decode(r: &mut XdrReader<'_>) -> XdrResult<Self> {
        let stamp = r.u32()?;
        let machinename = r.string(MAX_MACHINE_NAME)?.to_vec();
        let uid = r.u32()?;
        let gid = r.u32()?;
        let n = r.array_len(MAX_GIDS, 4)?;
        let mut gids = Vec::with_capacity(n);
        for _ in 0..n {
            gids.push(r.u32()?);
        }
        Ok(Self { stamp, machinename, uid, gid, gids })
    }

    pub fn encode(&self, w: &mut XdrWriter) {
        w.u32(self.stamp).opaque(&self.machinename).u32(self.uid).u32(self.gid).u32(self.gids.len() as u32);
        for g in &self.gids {
            w.u32(*g);
        }
    }
}

/// The caller's credentials as the call presented them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credentials {
    None,
    Sys(AuthSys),
}

/// A decoded call header (RFC 5531 9 call_body) and where its arguments start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallHeader {
    pub xid: u32,
    pub rpcvers: u32,
    pub prog: u32,
    pub vers: u32,
    pub proc_: u32,
    pub cred_flavor: u32,
    pub cred_body: Vec<u8>,
    pub verf_flavor: u32,
}

/// Why a record is not a call the server can answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    /// Not even an xid and a msg_type, or a REPLY: dropped without answer.
    #[error("not an RPC call")]
    NotACall,
    /// An xid and CALL but the rest of the header is malformed: dropped.
    #[error("malformed call header: {0}")]
    Malformed(XdrError),
}

impl CallHeader {
    /// Decodes the header and leaves `r` at the procedure arguments.
    pub fn decode(r: &mut XdrReader<'_>) -> Result<Self, HeaderError> {
        let xid = r.u32().map_err(|_| HeaderError::NotACall)?;
        if r.u32().map_err(|_| HeaderError::NotACall)? != CALL {
            return Err(HeaderError::NotACall);
        }
        let m = HeaderError::Malformed;
        let rpcvers = r.u32().map_err(m)?;
        let prog = r.u32().map_err(m)?;
        let vers = r.u32().map_err(m)?;
        let proc_ = r.u32().map_err(m)?;
        let cred_flavor = r.u32().map_err(m)?;
        let cred_body = r.opaque(MAX_AUTH_BYTES).map_err(m)?.to_vec();
        let verf_flavor = r.u32().map_err(m)?;
        r.opaque(MAX_AUTH_BYTES).map_err(m)?;
        Ok(Self { xid, rpcvers, prog, vers, proc_, cred_flavor, cred_body, verf_flavor })
    }

    /// The credentials, or the auth_stat to reject the call with.
    pub fn credentials(&self) -> Result<Credentials, AuthStat> {
        match self.cred_flavor {
            AUTH_NONE => Ok(Credentials::None),
            AUTH_SYS => {
                let mut r = XdrReader::new(&self.cred_body);
                let sys = AuthSys::decode(&mut r).map_err(|_| AuthStat::BadCred)?;
                if !r.is_empty() {
                    return Err(AuthStat::BadCred);
                }
                Ok(Credentials::Sys(sys))
            }
            _ => Err(AuthStat::BadCred),
        }
    }
}

/// Encodes a call header (used by tests and by anything that wants to play
/// client): xid, CALL, RPC version 2, program, version, procedure, the
/// credential and an AUTH_NONE verifier.
pub fn encode_call(w: &mut XdrWriter, xid: u32, prog: u32, vers: u32, proc_: u32, cred: &Credentials) {
    w.u32(xid).u32(CALL).u32(RPC_VERSION).u32(prog).u32(vers).u32(proc_);
    match cred {
        Credentials::None => {
            w.u32(AUTH_NONE).u32(0);
        }
        Credentials::Sys(sys) => {
            let mut body = XdrWriter::new();
            sys.encode(&mut body);
            w.u32(AUTH_SYS).opaque(body.as_slice());
        }
    }
    w.u32(AUTH_NONE).u32(0);
}

/// RFC 5531 9: an accepted reply header with an AUTH_NONE verifier; for
/// SUCCESS the procedure results follow.
pub fn accepted(xid: u32, stat: AcceptStat) -> XdrWriter {
    let mut w = XdrWriter::with_capacity(128);
    w.u32(xid).u32(REPLY).u32(0).u32(AUTH_NONE).u32(0);
    match stat {
        AcceptStat::Success => w.u32(0),
        AcceptStat::ProgUnavail => w.u32(1),
        AcceptStat::ProgMismatch { low, high } => w.u32(2).u32(low).u32(high),
        AcceptStat::ProcUnavail => w.u32(3),
        AcceptStat::GarbageArgs => w.u32(4),
        AcceptStat::SystemErr => w.u32(5),
    };
    w
}

/// RFC 5531 9: a denied reply.
pub fn denied(xid: u32, stat: RejectStat) -> XdrWriter {
    let mut w = XdrWriter::with_capacity(24);
    w.u32(xid).u32(REPLY).u32(1);
    match stat {
        RejectStat::RpcMismatch { low, high } => w.u32(0).u32(low).u32(high),
        RejectStat::AuthError(s) => w.u32(1).u32(s as u32),
    };
    w
}

/// A decoded reply, for tests and clients.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplyHeader {
    Accepted(AcceptStat),
    Denied(RejectStat),
}

/// Decodes a reply header; `r` is left at the results of a SUCCESS.
pub fn decode_reply(r: &mut XdrReader<'_>) -> XdrResult<(u32, ReplyHeader)> {
    let xid = r.u32()?;
    let t = r.u32()?;
    if t != REPLY {
        return Err(XdrError::BadValue(t));
    }
    match r.u32()? {
        0 => {
            r.u32()?;
            r.opaque(MAX_AUTH_BYTES)?;
            let stat = match r.u32()? {
                0 => AcceptStat::Success,
                1 => AcceptStat::ProgUnavail,
                2 => AcceptStat::ProgMismatch { low: r.u32()?, high: r.u32()? },
                3 => AcceptStat::ProcUnavail,
                4 => AcceptStat::GarbageArgs,
                5 => AcceptStat::SystemErr,
                v => return Err(XdrError::BadValue(v)),
            };
            Ok((xid, ReplyHeader::Accepted(stat)))
        }
        1 => {
            let stat = match r.u32()? {
                0 => RejectStat::RpcMismatch { low: r.u32()?, high: r.u32()? },
                1 => RejectStat::AuthError(match r.u32()? {
                    0 => AuthStat::Ok,
                    1 => AuthStat::BadCred,
                    2 => AuthStat::RejectedCred,
                    3 => AuthStat::BadVerf,
                    4 => AuthStat::RejectedVerf,
                    5 => AuthStat::TooWeak,
                    v => return Err(XdrError::BadValue(v)),
                }),
                v => return Err(XdrError::BadValue(v)),
            };
            Ok((xid, ReplyHeader::Denied(stat)))
        }
        v => Err(XdrError::BadValue(v)),
    }
}

/// RFC 1833, RFC 1813: program numbers.
pub const PROG_PORTMAP: u32 = 100_000;
pub const PROG_NFS: u32 = 100_003;
pub const PROG_MOUNT: u32 = 100_005;

#[cfg(test)]
mod tests {
    use super::*;
    use quickcheck::quickcheck;

    /// RFC 5531 9 and A.1, laid out by hand.
    const CALL_AUTH_SYS: [u8; 80] = [
        0x12, 0x34, 0x56, 0x78, // xid
        0, 0, 0, 0, // msg_type CALL
        0, 0, 0, 2, // rpcvers 2
        0, 1, 0x86, 0xa3, // prog 100003 (NFS)
        0, 0, 0, 3, // vers 3
        0, 0, 0, 1, // proc 1 (GETATTR)
        0, 0, 0, 1, // cred flavor AUTH_SYS
        0, 0, 0, 36, // cred body length
        0, 0, 0, 42, // stamp
        0, 0, 0, 5, b'h', b'o', b's', b't', b'1', 0, 0, 0, // machinename "host1" + 3 pad
        0, 0, 0x03, 0xe8, // uid 1000
        0, 0, 0x00, 0x64, // gid 100
        0, 0, 0, 2, // 2 gids
        0, 0, 0, 10, // gid 10
        0, 0, 0, 20, // gid 20
        0, 0, 0, 0, // verf flavor AUTH_NONE
        0, 0, 0, 0, // verf length 0
        0, 0, 0, 0, // (start of the arguments)
    ];

    fn sys() -> AuthSys {
        AuthSys { stamp: 42, machinename: b"host1".to_vec(), uid: 1000, gid: 100, gids: vec![10, 20] }
    }

    #[test]
    fn call_header_golden_bytes() {
        let mut r = XdrReader::new(&CALL_AUTH_SYS);
        let h = CallHeader::decode(&mut r).unwrap();
        assert_eq!((h.xid, h.rpcvers, h.prog, h.vers, h.proc_), (0x1234_5678, 2, 100_003, 3, 1));
        assert_eq!(h.credentials(), Ok(Credentials::Sys(sys())));
        assert_eq!(r.remaining(), 4);

        let mut w = XdrWriter::new();
        encode_call(&mut w, 0x1234_5678, 100_003, 3, 1, &Credentials::Sys(sys()));
        assert_eq!(w.as_slice(), &CALL_AUTH_SYS[..76]);
    }

    #[test]
    fn reply_golden_bytes() {
        // RFC 5531 9: xid, REPLY, MSG_ACCEPTED, verf AUTH_NONE (flavor, length 0), PROG_MISMATCH 3..3.
        let w = accepted(7, AcceptStat::ProgMismatch { low: 3, high: 3 });
        let expect: [u8; 32] =
            [0, 0, 0, 7, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 3];
        assert_eq!(w.as_slice(), &expect);
        // xid, REPLY, MSG_DENIED, AUTH_ERROR, AUTH_TOOWEAK.
        let w = denied(7, RejectStat::AuthError(AuthStat::TooWeak));
        assert_eq!(w.as_slice(), &[0, 0, 0, 7, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 5]);
        let (xid, h) = decode_reply(&mut XdrReader::new(w.as_slice())).unwrap();
        assert_eq!((xid, h), (7, ReplyHeader::Denied(RejectStat::AuthError(AuthStat::TooWeak))));
    }

    #[test]
    fn bad_credentials_are_rejected() {
        let mut h = CallHeader::decode(&mut XdrReader::new(&CALL_AUTH_SYS)).unwrap();
        h.cred_body.truncate(20);
        assert_eq!(h.credentials(), Err(AuthStat::BadCred));
        h.cred_flavor = 6; // RPCSEC_GSS
        assert_eq!(h.credentials(), Err(AuthStat::BadCred));
        // 17 gids is over the limit of 16.
        let mut body = XdrWriter::new();
        body.u32(0).string("h").u32(0).u32(0).u32(17);
        for _ in 0..17 {
            body.u32(1);
        }
        h.cred_flavor = AUTH_SYS;
        h.cred_body = body.into_vec();
        assert_eq!(h.credentials(), Err(AuthStat::BadCred));
    }

    #[test]
    fn replies_and_short_input_are_not_calls() {
        assert_eq!(CallHeader::decode(&mut XdrReader::new(&[0, 0, 0, 1])), Err(HeaderError::NotACall));
        assert_eq!(CallHeader::decode(&mut XdrReader::new(&[0, 0, 0, 1, 0, 0, 0, 1])), Err(HeaderError::NotACall));
        assert!(matches!(
            CallHeader::decode(&mut XdrReader::new(&CALL_AUTH_SYS[..30])),
            Err(HeaderError::Malformed(_))
        ));
    }

    quickcheck! {
        fn header_decoder_never_panics(data: Vec<u8>) -> bool {
            if let Ok(h) = CallHeader::decode(&mut XdrReader::new(&data)) {
                let _ = h.credentials();
            }
            let _ = decode_reply(&mut XdrReader::new(&data));
            true
        }

        fn auth_sys_round_trip(stamp: u32, name: Vec<u8>, uid: u32, gid: u32, gids: Vec<u32>) -> bool {
            let mut name = name;
            name.truncate(255);
            let mut gids = gids;
            gids.truncate(16);
            let a = AuthSys { stamp, machinename: name, uid, gid, gids };
            let mut w = XdrWriter::new();
            encode_call(&mut w, 1, 2, 3, 4, &Credentials::Sys(a.clone()));
            let h = CallHeader::decode(&mut XdrReader::new(w.as_slice())).unwrap();
            h.credentials() == Ok(Credentials::Sys(a))
        }
    }
}
