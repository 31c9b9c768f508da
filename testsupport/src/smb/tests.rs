//! The client against a scripted server on loopback: message ids, credit
//! charges, interim responses and unsolicited breaks.

use std::net::TcpListener;
use std::thread;

use super::wire::{HEADER_LEN, u16_at, u64_at};
use super::*;

/// One scripted answer: status, credits granted, body; `interim` first sends
/// a STATUS_PENDING interim response, `unsolicited` an oplock break.
struct Answer {
    status: u32,
    credits: u16,
    body: Vec<u8>,
    interim: bool,
    unsolicited: bool,
}

fn answer(status: u32, body: Vec<u8>) -> Answer {
    Answer { status, credits: 32, body, interim: false, unsolicited: false }
}

fn response(command: u16, message_id: u64, status: u32, credits: u16, flags: u32, body: &[u8]) -> Vec<u8> {
    let mut m = vec![0u8; 4 + HEADER_LEN];
    m[4..8].copy_from_slice(b"\xfeSMB");
    m[8] = 64;
    m[12..16].copy_from_slice(&status.to_le_bytes());
    m[16..18].copy_from_slice(&command.to_le_bytes());
    m[18..20].copy_from_slice(&credits.to_le_bytes());
    m[20..24].copy_from_slice(&flags.to_le_bytes());
    m[28..36].copy_from_slice(&message_id.to_le_bytes());
    m[40..44].copy_from_slice(&0x77u32.to_le_bytes()); // TreeId
    m[44..52].copy_from_slice(&0x99u64.to_le_bytes()); // SessionId
    m.extend_from_slice(body);
    let len = (m.len() - 4) as u32;
    m[..4].copy_from_slice(&len.to_be_bytes());
    m
}

/// Returns, per request: (command, CreditCharge, MessageId, TreeId, SessionId, body).
type Seen = (u16, u16, u64, u32, u64, Vec<u8>);

fn scripted(answers: Vec<Answer>) -> (SocketAddr, thread::JoinHandle<Vec<Seen>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let handle = thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut seen = Vec::new();
        for a in answers {
            let mut nbss = [0u8; 4];
            s.read_exact(&mut nbss).unwrap();
            let mut m = vec![0u8; u32::from_be_bytes(nbss) as usize];
            s.read_exact(&mut m).unwrap();
            let cmd = u16_at(&m, 12).unwrap();
            let mid = u64_at(&m, 24).unwrap();
            let tree = wire::u32_at(&m, 36).unwrap();
            seen.push((cmd, u16_at(&m, 6).unwrap(), mid, tree, u64_at(&m, 40).unwrap(), m[HEADER_LEN..].to_vec()));
            if a.unsolicited {
                let brk = response(command::OPLOCK_BREAK, u64::MAX, 0, 0, 1, &[0; 24]);
                s.write_all(&brk).unwrap();
            }
            let mut flags = 1;
            if a.interim {
                let pending = response(cmd, mid, status::PENDING, 1, 3, &[9, 0, 0, 0, 0, 0, 0, 0, 0]);
                s.write_all(&pending).unwrap();
                flags = 3;
            }
            s.write_all(&response(cmd, mid, a.status, a.credits, flags, &a.body)).unwrap();
        }
        seen
    });
    (addr, handle)
}

fn negotiate_body(dialect: u16) -> Vec<u8> {
    let mut b = vec![0u8; 64];
    b[0] = 65;
    b[4..6].copy_from_slice(&dialect.to_le_bytes());
    b[32..36].copy_from_slice(&(1u32 << 20).to_le_bytes());
    b[36..40].copy_from_slice(&(1u32 << 20).to_le_bytes());
    b
}

fn session_body(flags: u16, token: &[u8]) -> Vec<u8> {
    let mut b = vec![9, 0];
    b.extend(flags.to_le_bytes());
    b.extend(72u16.to_le_bytes());
    b.extend((token.len() as u16).to_le_bytes());
    b.extend_from_slice(token);
    b
}

#[test]
fn login_and_io_sequence() {
    let mut create = vec![0u8; 88];
    create[0] = 89;
    create[64..80].copy_from_slice(&[0xCD; 16]);
    let mut read = vec![17, 0, 80, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    read.extend(b"hi");
    let answers = vec![
        answer(0, negotiate_body(DIALECT_3_0_2)),
        answer(status::MORE_PROCESSING_REQUIRED, session_body(0, b"\xa1\x00NTLMSSP\0\x02\0\0\0")),
        answer(0, session_body(SESSION_FLAG_IS_GUEST, &[])),
        answer(0, vec![16, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
        Answer { interim: true, unsolicited: true, ..answer(0, create) },
        answer(0, vec![17, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
        answer(0, read),
        answer(status::END_OF_FILE, vec![9, 0, 0, 0, 0, 0, 0, 0, 0]),
        answer(0, vec![2, 0]),
        answer(0xC000_0022, vec![9, 0, 0, 0, 0, 0, 0, 0, 0]),
    ];
    let (addr, server) = scripted(answers);
    let mut c = SmbClient::login(addr, Duration::from_secs(5), &[DIALECT_2_1, DIALECT_3_0_2], "share").unwrap();
    assert_eq!(c.dialect(), DIALECT_3_0_2);
    let open = c.open_rw("f.bin", wire::FILE_OPEN_IF).unwrap();
    assert_eq!(open.file_id, FileId([0xCD; 16]));
    assert_eq!(c.write(open.file_id, 0, &vec![7u8; 131072]).unwrap(), 131072);
    assert_eq!(c.read(open.file_id, 0, 2).unwrap(), b"hi");
    assert_eq!(c.read(open.file_id, 9, 2).unwrap(), b"");
    c.set_end_of_file(open.file_id, 1).unwrap();
    assert!(matches!(c.close(open.file_id), Err(Error::Smb { command: "CLOSE", status: 0xC000_0022 })));

    let seen = server.join().unwrap();
    let cmds: Vec<u16> = seen.iter().map(|s| s.0).collect();
    assert_eq!(cmds, [0, 1, 1, 3, 5, 9, 8, 8, 0x11, 6]);
    // The 128 KiB WRITE is charged 2 credits and consumes 2 MessageIds.
    let charges: Vec<(u16, u64)> = seen.iter().map(|s| (s.1, s.2)).collect();
    assert_eq!(charges, [(0, 0), (1, 1), (1, 2), (1, 3), (1, 4), (2, 5), (1, 7), (1, 8), (1, 9), (1, 10)]);
    // ClientGuid: a prefix, the process id, the local port.
    assert_eq!(seen[0].5[12..20], *b"polyshar");
    assert_eq!(seen[0].5[20..24], std::process::id().to_le_bytes());
    // The second SESSION_SETUP carries the session id the first response gave.
    assert_eq!((seen[1].4, seen[2].4), (0, 0x99));
    // TREE_CONNECT has TreeId 0; later requests carry the granted one.
    assert_eq!((seen[3].3, seen[4].3), (0, 0x77));
    assert_eq!(seen[3].5[8..], *"\\\\127.0.0.1\\share".encode_utf16().flat_map(u16::to_le_bytes).collect::<Vec<_>>());
    // First token is a GSS-API NegTokenInit, second a NegTokenResp.
    assert_eq!(seen[1].5[24], 0x60);
    assert_eq!(seen[2].5[24], 0xa1);
}

#[test]
fn running_out_of_credits_is_an_error() {
    let mut answers = vec![Answer { credits: 1, ..answer(0, negotiate_body(DIALECT_2_1)) }];
    answers.push(Answer {
        credits: 1,
        ..answer(status::MORE_PROCESSING_REQUIRED, session_body(0, b"NTLMSSP\0\x02\0\0\0"))
    });
    answers.push(Answer { credits: 0, ..answer(0, session_body(SESSION_FLAG_IS_GUEST, &[])) });
    let (addr, server) = scripted(answers);
    let mut c = SmbClient::connect(addr, Duration::from_secs(5)).unwrap();
    c.negotiate(&[DIALECT_2_1], [0; 16]).unwrap();
    assert_eq!(c.session_setup_guest("").unwrap(), SESSION_FLAG_IS_GUEST);
    assert_eq!(c.credits(), 0);
    assert!(matches!(c.tree_connect("\\\\x\\y"), Err(Error::Credits { have: 0, need: 1 })));
    server.join().unwrap();
}

#[test]
fn mismatched_message_id_is_an_error() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut buf = [0u8; 256];
        let _ = s.read(&mut buf).unwrap();
        s.write_all(&response(command::NEGOTIATE, 5, 0, 1, 1, &negotiate_body(DIALECT_2_1))).unwrap();
    });
    let mut c = SmbClient::connect(addr, Duration::from_secs(5)).unwrap();
    assert!(matches!(c.negotiate(&[DIALECT_2_1], [0; 16]), Err(Error::Unexpected(_))));
    server.join().unwrap();
}
