#!/usr/bin/env python3
"""Writes the hand-made seed inputs of fuzz/corpus/<target>/seed-*.

Run from anywhere: python3 fuzz/seeds.py. Idempotent: it only (re)writes the
seed-* files; inputs libFuzzer found and crash regressions (other names) are
left alone. Layouts follow the specs cited next to each seed and the input
formats documented at the top of each fuzz target.
"""
import os
import struct

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def put(target, name, data):
    d = os.path.join(ROOT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(bytes(data))


def le16(v): return struct.pack("<H", v)
def le32(v): return struct.pack("<I", v)
def le64(v): return struct.pack("<Q", v)
def be32(v): return struct.pack(">I", v)


# --- framing: [sel, chunk0, chunk1, chunk2] + stream -------------------------
def smb_frame(body): return be32(len(body)) + body
def rpc_last(body): return be32(0x8000_0000 | len(body)) + body


put("framing", "smb-three-frames", [0x04, 1, 3, 7] + list(smb_frame(b"hello") + smb_frame(b"") + smb_frame(b"world!")))
put("framing", "rpc-multi-fragment", [0x05, 2, 5, 1] + list(be32(3) + b"abc" + rpc_last(b"de") + rpc_last(b"z")))
put("framing", "smb-too-large", [0x02, 4, 4, 4] + list(be32(17) + b"x" * 17))
put("framing", "smb-bad-header", [0x06, 1, 1, 1, 0x85, 0, 0, 0])

# --- smb_create_context: chains as MS-SMB2 2.2.13.2 lays them out -----------
KEY = bytes(range(1, 17))
PARENT = bytes(range(0xA0, 0xB0))


def chain(elems):
    """elems: (name, data); NameOffset 16, data 8-aligned, elements 8-aligned."""
    out = b""
    for i, (name, data) in enumerate(elems):
        data_off = (16 + len(name) + 7) // 8 * 8 if data else 0
        body = name + b"\0" * ((data_off - 16 - len(name)) if data else 0) + data
        elem = le32(0) + le16(16) + le16(len(name)) + le16(0) + le16(data_off) + le32(len(data)) + body
        if i + 1 < len(elems):
            elem += b"\0" * (-len(elem) % 8)
            elem = le32(len(elem)) + elem[4:]
        out += elem
    return out


lease_v1 = KEY + le32(7) + le32(0) + le64(0)
lease_v2 = KEY + le32(3) + le32(4) + le64(0) + PARENT + le16(1) + le16(0)
put("smb_create_context", "lease-v1", chain([(b"RqLs", lease_v1)]))
put("smb_create_context", "lease-v2", chain([(b"RqLs", lease_v2)]))
put("smb_create_context", "windows-open", chain([
    (b"DH2Q", le32(0) + le32(0) + le64(0) + bytes(range(0x10, 0x20))),
    (b"MxAc", b""),
    (b"QFid", b""),
    (b"RqLs", lease_v2),
    (bytes.fromhex("45BCA66AEFA7F74A9008FA462E144D74"), le16(20) + le16(0) + bytes(range(16))),
]))
put("smb_create_context", "misc", chain([
    (b"DHnQ", bytes(16)), (b"AlSi", le64(1 << 20)), (b"TWrp", le64(0x01D9_0000_0000_0000)),
    (b"ExtA", le32(0) + bytes([0, 4]) + le16(1) + b"user\0" + b"v"), (b"DHnC", bytes(range(16))),
]))
put("smb_create_context", "response", chain([
    (b"MxAc", le32(0) + le32(0x001F01FF)), (b"QFid", le64(42) + le64(7) + bytes(16)),
    (b"RqLs", lease_v2), (b"DH2Q", le32(60000) + le32(0)),
]))

# --- smb_break_ack: MS-SMB2 2.2.24.1, 2.2.24.2, 2.2.23.2 --------------------
put("smb_break_ack", "lease-ack", le16(36) + le16(0) + le32(0) + KEY + le32(1) + le64(0))
put("smb_break_ack", "oplock-ack", le16(24) + bytes([1, 0]) + le32(0) + bytes(range(16)))
put("smb_break_ack", "lease-notification",
    le16(44) + le16(2) + le32(1) + KEY + le32(7) + le32(1) + le32(0) * 3)

# --- smb_security_descriptor: a self-relative SD (MS-DTYP 2.4.6) ------------
# Owner S-1-22-1-1000, DACL of one deny ACE for it and one allow for Everyone.
owner = bytes([1, 2, 0, 0, 0, 0, 0, 22]) + le32(1) + le32(1000)
everyone = bytes([1, 1, 0, 0, 0, 0, 0, 1]) + le32(0)
aces = bytes([1, 0]) + (8 + len(owner)).to_bytes(2, "little") + le32(2) + owner
aces += bytes([0, 3]) + (8 + len(everyone)).to_bytes(2, "little") + le32(0x1F01FF) + everyone
acl = bytes([2, 0]) + (8 + len(aces)).to_bytes(2, "little") + (2).to_bytes(2, "little") + bytes(2) + aces
put("smb_security_descriptor", "deny", list(bytes([1, 0, 4, 0x80]) + le32(20) + le32(0) + le32(0) + le32(20 + len(owner)) + owner + acl))
put("smb_security_descriptor", "null-dacl", list(bytes([1, 0, 4, 0x80]) + bytes(16)))

# --- smb_set_info: class byte + buffer (MS-FSCC 2.4) ------------------------
def utf16(s): return s.encode("utf-16-le")


put("smb_set_info", "basic", [4] + list(le64(0x01D9_0000_0000_0000) + le64(0) + le64(2**64 - 1) + le64(2**64 - 2) + le32(0x20) + le32(0)))
put("smb_set_info", "eof", [20] + list(le64(4096)))
put("smb_set_info", "disposition", [13, 1])
put("smb_set_info", "disposition-ex", [64] + list(le32(0x3)))
put("smb_set_info", "mode", [16] + list(le32(0x2)))
name = utf16("dir\\new name.txt")
put("smb_set_info", "rename", [10] + list(bytes([1]) + bytes(7) + le64(0) + le32(len(name)) + name))
put("smb_set_info", "link", [11] + list(bytes(8) + le64(0) + le32(len(name)) + name))
ea1 = bytes([0, 4]) + le16(3) + b"user\0" + b"abc"
ea1 = le32(12 + 4) + ea1 + b"\0" * (16 - len(ea1) - 4)
ea2 = le32(0) + bytes([0x80, 2]) + le16(0) + b"xy\0"
put("smb_set_info", "full-ea", [15] + list(ea1 + ea2))

# --- smb_name_matches: pattern \0 name ---------------------------------------
for i, (p, n) in enumerate([("*.txt", "Report.TXT"), ("<.doc", "a.b.doc"), ("a?c", "abc"),
                            ('foo">', "foo"), ("*", "."), ("\u00c9t\u00c9", "\u00e9t\u00e9"), ("a*b*c", "aXXbYY")]):
    put("smb_name_matches", f"{i}", (p + "\0" + n).encode())

# --- record_decode: PSREC3 recordings (magic, seed kind + 32 bytes, wall anchor secs i64 + nanos u32) (core/src/record.rs) ---
def ev(tag, t, body): return bytes([tag]) + le64(t) + body


def fixed_seed(n): return bytes([0]) + le64(n) + bytes(24)


peer = b"127.0.0.1:700"
anchor = le64(1_767_225_600) + le32(0)
rec = b"PSREC3\0\0" + fixed_seed(42) + anchor
rec += ev(1, 0, bytes([1]) + le64(1) + le16(len(peer)) + peer)
rec += ev(2, 1000, le64(1) + le32(4) + b"\x80\0\0\0")
rec += ev(4, 36_000_000_000, b"")
rec += ev(3, 37_000_000_000, le64(1))
put("record_decode", "nfs", rec)
peer6 = b"[::1]:445"
put("record_decode", "smb-v6", b"PSREC3\0\0" + fixed_seed(7) + anchor + ev(1, 5, bytes([0]) + le64(9) + le16(len(peer6)) + peer6) + ev(3, 6, le64(9)))


# PSREC4 adds tag 7, a reload (core/src/record/reconfigure.rs): one share,
# one export allowing 10.0.0.0/8, one user.
def s16(b): return le16(len(b)) + b


reload = le16(1) + s16(b"data") + s16(b"/") + bytes([0, 1])
reload += le16(1) + s16(b"/data") + s16(b"/") + bytes([0]) + le16(1) + bytes([4, 10, 0, 0, 0, 8])
reload += bytes([0, 0]) + le32(65534) + le32(65534) + bytes([0])
reload += le16(1) + s16(b"alice") + bytes(range(16)) + le32(1000) + le32(1000) + le16(1) + le32(27)
rec4 = b"PSREC4\0\0" + fixed_seed(5) + anchor + ev(1, 0, bytes([1]) + le64(1) + le16(len(peer)) + peer)
rec4 += ev(7, 10, le32(len(reload)) + reload) + ev(3, 20, le64(1))
put("record_decode", "reload", rec4)

# --- server: op scripts (fuzz_targets/server.rs) ------------------------------
def rpc_call(xid, prog, vers, proc, cred=(0, b""), args=b""):
    c = be32(xid) + be32(0) + be32(2) + be32(prog) + be32(vers) + be32(proc)
    c += be32(cred[0]) + be32(len(cred[1])) + cred[1] + be32(0) + be32(0)
    return rpc_last(c + args)


def xdr_string(s): return be32(len(s)) + s + b"\0" * (-len(s) % 4)


auth_sys = (1, be32(0) + xdr_string(b"fuzz") + be32(1000) + be32(1000) + be32(1) + be32(1000))


def feed(slot, data): return bytes([slot << 2]) + le16(len(data)) + data


NFS = 2  # slots 2 and 3 speak NFS when fed first
put("server", "nfs-null", feed(NFS, rpc_call(1, 100003, 3, 0)))
put("server", "mount-null-mnt", feed(NFS, rpc_call(1, 100005, 3, 0)) + feed(NFS, rpc_call(2, 100005, 3, 1, auth_sys, xdr_string(b"/share"))))
put("server", "portmap-getport", feed(3, rpc_call(7, 100000, 2, 3, args=be32(100003) + be32(3) + be32(6) + be32(0))))
put("server", "nfs-fsinfo-bad-fh", feed(NFS, rpc_call(3, 100003, 3, 19, auth_sys, be32(8) + bytes(8))))


def smb2(cmd, body, msg_id=0, session=0, tree=0, credits=1):
    hdr = b"\xfeSMB" + le16(64) + le16(0) + le32(0) + le16(cmd) + le16(credits) + le32(0) + le32(0)
    hdr += le64(msg_id) + le32(0) + le32(tree) + le64(session) + bytes(16)
    return smb_frame(hdr + body)


def negotiate(dialects, contexts=b"", ctx_count=0):
    fixed = 36 + 2 * len(dialects)
    ctx_off = 0
    pad = b""
    if ctx_count:
        pad = b"\0" * (-(64 + fixed) % 8)
        ctx_off = 64 + fixed + len(pad)
    body = le16(36) + le16(len(dialects)) + le16(1) + le16(0) + le32(0x7F) + bytes(range(0x30, 0x40))
    body += le32(ctx_off) + le16(ctx_count) + le16(0)
    body += b"".join(le16(d) for d in dialects) + pad + contexts
    return smb2(0, body)


def neg_ctx(ctype, data): return le16(ctype) + le16(len(data)) + le32(0) + data + b"\0" * (-len(data) % 8)


ctxs = neg_ctx(1, le16(1) + le16(32) + le16(1) + bytes(range(32))) + neg_ctx(2, le16(2) + le16(2) + le16(1))
ntlm_negotiate = b"NTLMSSP\0" + le32(1) + le32(0xE2088297) + bytes(16)
session_setup = le16(25) + bytes([0, 1]) + le32(0) + le32(0) + le16(88) + le16(len(ntlm_negotiate)) + le64(0) + ntlm_negotiate
put("server", "smb2-negotiate-311", feed(0, negotiate([0x0202, 0x0210, 0x0300, 0x0302, 0x0311], ctxs, 2)))
put("server", "smb2-negotiate-session-setup",
    feed(0, negotiate([0x0202, 0x0210, 0x0300, 0x0302])) + feed(0, smb2(1, session_setup, msg_id=1)))
smb1 = b"\xffSMB" + bytes([0x72]) + bytes(4) + bytes([0x18]) + le16(0xC853) + bytes(12) + le16(0) + le16(0xFEFF) + le16(0) + le16(0)
dialects = b"\x02NT LM 0.12\0\x02SMB 2.002\0\x02SMB 2.???\0"
smb1 += bytes([0]) + le16(len(dialects)) + dialects
put("server", "smb1-negotiate", feed(1, smb_frame(smb1)))
# Two protocols at once, a clock jump to the next deadline, a disconnect,
# an explicit NFS accept from an unprivileged port and a late close.
put("server", "mixed",
    feed(0, negotiate([0x0202, 0x0210])) + feed(NFS, rpc_call(1, 100003, 3, 0)) + bytes([0x01, 0x00])
    + bytes([0x01, 0xFF]) + bytes([0x02]) + bytes([0x03 | (3 << 2) | 0x10]) + feed(3, rpc_call(9, 100003, 3, 0))
    + bytes([0x02]))

# --- smb_command: sel byte + body behind a synthetic header, or a whole message (fuzz_targets/smb_command.rs)
def hdr64(cmd, flags=0, next_command=0, msg_id=0, async_id=None, tree=1, session=1):
    h = b"\xfeSMB" + le16(64) + le16(1) + le32(0) + le16(cmd) + le16(1) + le32(flags) + le32(next_command) + le64(msg_id)
    h += le64(async_id) if async_id is not None else le32(0) + le32(tree)
    return h + le64(session) + bytes(16)


FID = le64(0x11) + le64(0x22)
neg_body = negotiate([0x0202, 0x0210, 0x0300, 0x0302, 0x0311], ctxs + neg_ctx(8, le16(2) + le16(2) + le16(1)), 3)[4 + 64:]
create_name = utf16("dir\\file.txt:stream")
create_ctx = chain([(b"RqLs", lease_v2), (b"MxAc", b"")])
create_fixed = (le16(57) + bytes([0, 9]) + le32(2) + le64(0) + le64(0) + le32(0x0012019F) + le32(0x80) + le32(7)
                + le32(3) + le32(0x40) + le16(120) + le16(len(create_name)))
create_pad = b"\0" * (-(120 + len(create_name)) % 8)
create_body = (create_fixed + le32(120 + len(create_name) + len(create_pad)) + le32(len(create_ctx)) + create_name
               + create_pad + create_ctx)
tree_path = utf16("\\\\server\\share")
vni = le32(0x7F) + bytes(range(0x30, 0x40)) + le16(1) + le16(4) + le16(0x0202) + le16(0x0210) + le16(0x0300) + le16(0x0302)
pattern = utf16("*.txt")
bodies = {
    0: neg_body,
    1: session_setup,
    2: le16(4) + le16(0),
    3: le16(9) + le16(0) + le16(72) + le16(len(tree_path)) + tree_path,
    4: le16(4) + le16(0),
    5: create_body,
    6: le16(24) + le16(1) + le32(0) + FID,
    7: le16(24) + le16(0) + le32(0) + FID,
    8: le16(49) + bytes([0, 0]) + le32(4096) + le64(0) + FID + le32(1) + le32(0) + le32(0) + le16(0) + le16(0) + b"\0",
    9: le16(49) + le16(112) + le32(5) + le64(4096) + FID + le32(0) + le32(0) + le16(0) + le16(0) + le32(0) + b"hello",
    10: le16(48) + le16(2) + le32(0) + FID + le64(0) + le64(10) + le32(0x12) + le32(0) + le64(10) + le64(5) + le32(1) + le32(0),
    11: le16(57) + le16(0) + le32(0x00140204) + le64(2**64 - 1) * 2 + le32(120) + le32(len(vni)) + le32(0) + le32(0) + le32(0)
        + le32(24) + le32(1) + le32(0) + vni,
    12: le16(4) + le16(0),
    13: le16(4) + le16(0),
    14: le16(33) + bytes([37, 1]) + le32(0) + FID + le16(96) + le16(len(pattern)) + le32(65536) + pattern,
    15: le16(32) + le16(1) + le32(4096) + FID + le32(0x17) + le32(0),
    16: le16(41) + bytes([1, 18]) + le32(65536) + le16(0) + le16(0) + le32(0) + le32(0) + le32(0) + FID + b"\0",
    17: le16(33) + bytes([1, 20]) + le32(8) + le16(96) + le16(0) + le32(0) + FID + le64(4096),
    18: le16(36) + le16(0) + le32(0) + KEY + le32(1) + le64(0),
}
for c, body in bodies.items():
    put("smb_command", f"cmd-{c:02x}", bytes([c]) + body)
put("smb_command", "oplock-ack", bytes([18]) + le16(24) + bytes([1, 0]) + le32(0) + FID)
put("smb_command", "smb1-negotiate", bytes([0x13]) + smb1)
put("smb_command", "preauth", bytes([0x14]) + le16(1) + le16(32) + le16(1) + bytes(range(32)))
put("smb_command", "signing-algs", bytes([0x15]) + le16(3) + le16(2) + le16(1) + le16(0))
put("smb_command", "validate-negotiate", bytes([0x16]) + vni)
put("smb_command", "path", bytes([0x17]) + "dir\\sub\\name.txt:ads:$DATA".encode())


def compound(elems):
    """elems: (cmd, body, flags); 8-aligned, NextCommand chained."""
    out = b""
    for i, (cmd, body, flags) in enumerate(elems):
        last = i + 1 == len(elems)
        size = 64 + len(body)
        if not last:
            size += -size % 8
        m = hdr64(cmd, flags=flags, next_command=0 if last else size, msg_id=i) + body
        out += m + b"\0" * (size - len(m))
    return out


put("smb_command", "compound-create-query-close", bytes([0x80]) + compound([
    (5, create_body, 0),
    (16, bodies[16][:32] + le64(2**64 - 1) * 2 + b"\0", 4),
    (6, le16(24) + le16(1) + le32(0) + le64(2**64 - 1) * 2, 4),
]))
put("smb_command", "message-async-cancel", bytes([0x80]) + hdr64(12, flags=2, async_id=7) + le16(4) + le16(0))
put("smb_command", "message-smb1", bytes([0x80]) + smb1)


# --- smb_auth_tokens: sel % 4 + token (fuzz_targets/smb_auth_tokens.rs) ------
def tlv(tag, value):
    n = len(value)
    if n < 0x80:
        ln = bytes([n])
    elif n <= 0xFF:
        ln = bytes([0x81, n])
    else:
        ln = bytes([0x82, n >> 8, n & 0xFF])
    return bytes([tag]) + ln + value


OID_SPNEGO = bytes([0x2b, 0x06, 0x01, 0x05, 0x05, 0x02])
OID_NTLM = bytes([0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x0a])
OID_KRB = bytes([0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02])


def neg_token_init(mechs, token=None):
    fields = tlv(0xa0, tlv(0x30, b"".join(tlv(0x06, m) for m in mechs)))
    if token is not None:
        fields += tlv(0xa2, tlv(0x04, token))
    return tlv(0x60, tlv(0x06, OID_SPNEGO) + tlv(0xa0, tlv(0x30, fields)))


def neg_token_resp(token=None, mic=None, state=1):
    fields = tlv(0xa0, tlv(0x0a, bytes([state])))
    if token is not None:
        fields += tlv(0xa2, tlv(0x04, token))
    if mic is not None:
        fields += tlv(0xa3, tlv(0x04, mic))
    return tlv(0xa1, tlv(0x30, fields))


def authenticate(user, domain="WORKGROUP", ws="WS", nt=b"", lm=b"", key=b"", flags=0xE2088295):
    fields = [lm, nt, utf16(domain), utf16(user), utf16(ws), key]
    off = 88
    head = b"NTLMSSP\0" + le32(3)
    payload = b""
    for f in fields:
        head += le16(len(f)) + le16(len(f)) + le32(off + len(payload))
        payload += f
    return head + le32(flags) + bytes([10, 0, 0x7c, 0x4f, 0, 0, 0, 0x0f]) + bytes(16) + payload


av_pairs = le16(2) + le16(len(utf16("WORKGROUP"))) + utf16("WORKGROUP") + le16(6) + le16(4) + le32(2) + le16(7) + le16(8) + le64(1) + le16(0) + le16(0)
ntv2 = bytes(range(16)) + bytes([1, 1]) + bytes(6) + le64(0x01D9_0000_0000_0000) + bytes(range(8)) + le32(0) + av_pairs + le32(0)
auth_alice = authenticate("alice", nt=ntv2, lm=bytes(24), key=bytes(range(16)))
auth_anon = authenticate("", ws="", domain="", lm=b"\0")
put("smb_auth_tokens", "der-init", bytes([0]) + neg_token_init([OID_KRB, OID_NTLM], ntlm_negotiate))
put("smb_auth_tokens", "spnego-init", bytes([1]) + neg_token_init([OID_NTLM], ntlm_negotiate))
put("smb_auth_tokens", "spnego-init-krb-first", bytes([1]) + neg_token_init([OID_KRB, OID_NTLM], b"\x60\x00"))
put("smb_auth_tokens", "spnego-resp", bytes([1]) + neg_token_resp(auth_alice, mic=bytes(16)))
put("smb_auth_tokens", "ntlm-negotiate", bytes([2]) + ntlm_negotiate)
put("smb_auth_tokens", "ntlm-authenticate", bytes([2]) + auth_alice)
put("smb_auth_tokens", "challenge-params", bytes([2]) + le32(0xE2888215) + bytes(range(8)) + le64(1) + b"DOM\0HOST\0dom.example\0host.dom.example")


def tokens(*ts): return b"".join(le16(len(t)) + t for t in ts)


put("smb_auth_tokens", "exchange-raw-anonymous", bytes([3]) + tokens(ntlm_negotiate, auth_anon))
put("smb_auth_tokens", "exchange-spnego-alice", bytes([3]) + tokens(
    neg_token_init([OID_NTLM], ntlm_negotiate), neg_token_resp(auth_alice, mic=bytes(16))))
put("smb_auth_tokens", "exchange-spnego-select", bytes([3]) + tokens(
    neg_token_init([OID_KRB, OID_NTLM], b"\x60\x00"), neg_token_resp(ntlm_negotiate),
    neg_token_resp(authenticate("bob", nt=ntv2))))


# --- rpc_call: [sel, chunk0, chunk1, chunk2] + stream (fuzz_targets/rpc_call.rs)
FH = be32(20) + b"PS\x01\x00" + struct.pack(">Q", 1) + struct.pack(">Q", 1)
sattr = be32(1) + be32(0o644) + be32(0) + be32(0) + be32(1) + struct.pack(">Q", 0) + be32(1) + be32(2) + be32(5) + be32(7)
dirop = FH + xdr_string(b"name.txt")
u64be = lambda v: struct.pack(">Q", v)
nfs_args = {
    0: b"", 1: FH, 2: FH + sattr + be32(1) + be32(100) + be32(0), 3: dirop, 4: FH + be32(0x3f), 5: FH,
    6: FH + u64be(0) + be32(4096), 7: FH + u64be(0) + be32(5) + be32(2) + xdr_string(b"hello"),
    8: dirop + be32(2) + bytes(range(8)), 9: dirop + sattr, 10: dirop + sattr + xdr_string(b"../target"),
    11: dirop + be32(3) + sattr + be32(8) + be32(1), 12: dirop, 13: dirop, 14: dirop + FH + xdr_string(b"new"),
    15: FH + dirop, 16: FH + u64be(0) + bytes(8) + be32(4096), 17: FH + u64be(0) + bytes(8) + be32(1024) + be32(8192),
    18: FH, 19: FH, 20: FH, 21: FH + u64be(0) + be32(0),
}


def rpc_body(xid, prog, vers, proc, cred=(0, b""), args=b""):
    c = be32(xid) + be32(0) + be32(2) + be32(prog) + be32(vers) + be32(proc)
    return c + be32(cred[0]) + be32(len(cred[1])) + cred[1] + be32(0) + be32(0) + args


for p, a in nfs_args.items():
    put("rpc_call", f"nfs-{p:02}", bytes([1, 0, 0, 0]) + rpc_body(p + 1, 100003, 3, p, auth_sys, a))
put("rpc_call", "framed-mount-portmap", bytes([0, 3, 17, 1])
    + rpc_last(rpc_body(1, 100005, 3, 1, auth_sys, xdr_string(b"/export/sub")))
    + rpc_last(rpc_body(2, 100000, 2, 3, args=be32(100003) + be32(3) + be32(6) + be32(0)))
    + rpc_last(rpc_body(3, 100005, 3, 3, args=xdr_string(b"/"))))
body = rpc_body(9, 100003, 3, 7, auth_sys, nfs_args[7])
put("rpc_call", "framed-fragments", bytes([0, 5, 2, 9]) + be32(12) + body[:12] + rpc_last(body[12:]))
put("rpc_call", "reply", bytes([1, 0, 0, 0]) + be32(5) + be32(1) + be32(0) + be32(0) + be32(0) + be32(2) + be32(3) + be32(3))


# --- smb_unseal: [cipher selector] + 32 bytes of key + TRANSFORM frame -------
# (MS-SMB2 2.2.41; sealed with Python's `cryptography`, nonce counter 1.)
def sealed_seed():
    from cryptography.hazmat.primitives.ciphers.aead import AESCCM, AESGCM
    key = bytes(range(32))
    echo = b"\xfeSMB" + le16(64) + le16(0) + le32(0) + le16(0x0D) + le16(1) + le32(0) + le32(0) \
        + le64(3) + le32(0) + le32(0) + le64(0x11) + bytes(16) + le16(4) + le16(0)
    for sel, (klen, nlen, gcm) in enumerate([(16, 11, False), (16, 12, True), (32, 11, False), (32, 12, True)]):
        nonce = le64(1) + bytes(8)
        aad = nonce + le32(len(echo)) + le16(0) + le16(1) + le64(0x11)
        k = key[:klen]
        ct = AESGCM(k).encrypt(nonce[:nlen], echo, aad) if gcm else AESCCM(k, 16).encrypt(nonce[:nlen], echo, aad)
        frame = b"\xfdSMB" + ct[-16:] + aad + ct[:-16]
        put("smb_unseal", "echo-cipher-%d" % (sel + 1), bytes([sel]) + key + frame)


sealed_seed()
