//! SMB2_CREATE_CONTEXT chains (MS-SMB2 2.2.13.2, 2.2.14.2): request and
//! response decoders never panic, and what decodes re-encodes to a chain
//! that decodes to the same contexts.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use polyshare_core::smb::wire::create_context::{
    MAX_CREATE_CONTEXTS, decode_create_contexts, decode_response_contexts, encode_create_contexts,
    encode_request_contexts, split_create_contexts,
};

fuzz_target!(|data: &[u8]| {
    let chain = Bytes::copy_from_slice(data);

    if let Ok(raw) = split_create_contexts(&chain) {
        assert!(raw.len() <= MAX_CREATE_CONTEXTS);
        for r in &raw {
            assert!(r.name.len() >= 4);
            assert!(r.offset < chain.len());
        }
    }

    if let Ok(ctxs) = decode_create_contexts(&chain) {
        assert!(ctxs.len() <= MAX_CREATE_CONTEXTS);
        let mut out = Vec::new();
        let n = encode_request_contexts(&ctxs, &mut out);
        assert_eq!(n, out.len());
        let again = decode_create_contexts(&Bytes::from(out));
        assert_eq!(again.as_ref(), Ok(&ctxs), "request contexts do not round trip");
    }

    if let Ok(ctxs) = decode_response_contexts(&chain) {
        let mut out = Vec::new();
        let n = encode_create_contexts(&ctxs, &mut out);
        assert_eq!(n, out.len());
        let again = decode_response_contexts(&Bytes::from(out));
        assert_eq!(again.as_ref(), Ok(&ctxs), "response contexts do not round trip");
    }
});
