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

# --- record_decode: PSREC2 recordings (magic, seed, wall anchor secs i64 + nanos u32) (core/src/record.rs) -------------------
def ev(tag, t, body): return bytes([tag]) + le64(t) + body


peer = b"127.0.0.1:700"
anchor = le64(1_767_225_600) + le32(0)
rec = b"PSREC2\0\0" + le64(42) + anchor
rec += ev(1, 0, bytes([1]) + le64(1) + le16(len(peer)) + peer)
rec += ev(2, 1000, le64(1) + le32(4) + b"\x80\0\0\0")
rec += ev(4, 36_000_000_000, b"")
rec += ev(3, 37_000_000_000, le64(1))
put("record_decode", "nfs", rec)
peer6 = b"[::1]:445"
put("record_decode", "smb-v6", b"PSREC2\0\0" + le64(7) + anchor + ev(1, 5, bytes([0]) + le64(9) + le16(len(peer6)) + peer6) + ev(3, 6, le64(9)))

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
