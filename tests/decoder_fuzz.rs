//! Property tests: every decoder facing the network or the disk returns a value or
//! an error on arbitrary bytes, never panics, and never allocates by a length it
//! has not seen the bytes for.

use bytes::{BufMut, BytesMut};
use ferrokeeper::proto::connect::{ConnectRequest, ConnectResponse};
use ferrokeeper::proto::frame::FrameCodec;
use ferrokeeper::proto::header::{ReplyHeader, RequestHeader};
use ferrokeeper::proto::jute::Record;
use ferrokeeper::proto::multi::{MultiRequest, MultiResponse};
use ferrokeeper::proto::opcode::OpCode;
use ferrokeeper::proto::request::Request;
use ferrokeeper::proto::response::Response;
use ferrokeeper::proto::txn::decode_txn_body;
use proptest::prelude::*;
use tokio_util::codec::Decoder;

/// Every value `OpCode::from_i32` knows, plus a few it does not.
fn op_types() -> Vec<i32> {
    (-20..120).collect()
}

/// Arbitrary bytes biased towards small lengths and the multi header shape, so
/// decoders get past their first field often.
fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..64),
        proptest::collection::vec(
            prop_oneof![Just(0u8), Just(1), Just(0xff), any::<u8>()],
            0..256
        ),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn request_decode_never_panics(bytes in body()) {
        for op in op_types() {
            let _ = Request::decode_raw(op, &bytes);
            if let Some(op) = OpCode::from_i32(op) {
                let _ = Response::decode(op, &bytes);
            }
        }
        let _ = MultiRequest::decode(&bytes);
        let _ = MultiResponse::decode(&bytes);
    }

    #[test]
    fn connect_and_headers_never_panic(bytes in body()) {
        let _ = ConnectRequest::decode(&bytes);
        let _ = ConnectResponse::decode(&bytes);
        let _ = RequestHeader::decode(&bytes);
        let _ = ReplyHeader::decode(&bytes);
    }

    #[test]
    fn txn_decode_never_panics(bytes in body()) {
        for op in op_types() {
            let _ = decode_txn_body(op, &bytes);
        }
    }

    #[test]
    fn frame_codec_never_panics(chunks in proptest::collection::vec(body(), 0..8), max in 0usize..512) {
        let mut codec = FrameCodec::new(max);
        let mut src = BytesMut::new();
        'outer: for chunk in chunks {
            src.put_slice(&chunk);
            loop {
                match codec.decode(&mut src) {
                    Ok(Some(frame)) => prop_assert!(frame.len() <= max),
                    Ok(None) => break,
                    Err(_) => break 'outer,
                }
            }
        }
    }

    /// Re-encoding a successfully decoded request and decoding it again is stable.
    #[test]
    fn decoded_requests_reencode_stably(bytes in body(), op in prop::sample::select(op_types())) {
        if let Ok(req) = Request::decode_raw(op, &bytes) {
            let mut out = BytesMut::new();
            req.encode(&mut out);
            prop_assert_eq!(Request::decode(req.op_code(), &out).unwrap(), req);
        }
    }
}
