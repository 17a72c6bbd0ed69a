//! Field-level glue for records: the [`Wire`] trait maps a Rust field type to its
//! jute primitive, and [`jute_record!`] declares a struct whose wire form is its
//! fields in declaration order (exactly how jute's generated Java classes serialize).
//!
//! Used by the record families in `header`, `requests`, `responses`, `watches`,
//! `auth` and `txn`; the few records with quirks (`ConnectRequest`, multi) are
//! written by hand.

use super::data::{acl_list, put_acl_list, Acl, ClientInfo, Stat};
use super::jute::*;
use bytes::BytesMut;

/// A field type with a fixed jute encoding.
pub trait Wire: Sized {
    fn read(input: &[u8]) -> Decoded<'_, Self>;
    fn write(&self, out: &mut BytesMut);
}

impl Wire for i32 {
    fn read(input: &[u8]) -> Decoded<'_, Self> {
        int(input)
    }
    fn write(&self, out: &mut BytesMut) {
        put_int(out, *self)
    }
}

impl Wire for i64 {
    fn read(input: &[u8]) -> Decoded<'_, Self> {
        long(input)
    }
    fn write(&self, out: &mut BytesMut) {
        put_long(out, *self)
    }
}

impl Wire for bool {
    fn read(input: &[u8]) -> Decoded<'_, Self> {
        boolean(input)
    }
    fn write(&self, out: &mut BytesMut) {
        put_bool(out, *self)
    }
}

/// `ustring` (null reads as empty, so it re-encodes as length 0).
/// A record's string field. Null (-1) is bad bytes: Java's server dereferences
/// these fields (a null path throws in `PrepRequestProcessor`), and answers
/// MarshallingError.
impl Wire for String {
    fn read(input: &[u8]) -> Decoded<'_, Self> {
        non_null_ustring(input)
    }
    fn write(&self, out: &mut BytesMut) {
        put_ustring(out, self)
    }
}

/// `buffer` keeping null (-1) apart from empty.
impl Wire for Option<Vec<u8>> {
    fn read(input: &[u8]) -> Decoded<'_, Self> {
        buffer(input)
    }
    fn write(&self, out: &mut BytesMut) {
        put_buffer(out, self.as_deref())
    }
}

/// `buffer` where null reads as empty.
impl Wire for Vec<u8> {
    fn read(input: &[u8]) -> Decoded<'_, Self> {
        buffer_or_empty(input)
    }
    fn write(&self, out: &mut BytesMut) {
        put_buffer(out, Some(self))
    }
}

/// `vector<ustring>`.
impl Wire for Vec<String> {
    fn read(input: &[u8]) -> Decoded<'_, Self> {
        vector(input, ustring)
    }
    fn write(&self, out: &mut BytesMut) {
        put_vector(out, self, |out, s| put_ustring(out, s))
    }
}

/// `vector<org.apache.zookeeper.data.ACL>`.
impl Wire for Vec<Acl> {
    fn read(input: &[u8]) -> Decoded<'_, Self> {
        acl_list(input)
    }
    fn write(&self, out: &mut BytesMut) {
        put_acl_list(out, self)
    }
}

/// `vector<org.apache.zookeeper.data.ClientInfo>`.
impl Wire for Vec<ClientInfo> {
    fn read(input: &[u8]) -> Decoded<'_, Self> {
        vector(input, ClientInfo::decode)
    }
    fn write(&self, out: &mut BytesMut) {
        put_vector(out, self, |out, c| c.encode(out))
    }
}

impl Wire for Stat {
    fn read(input: &[u8]) -> Decoded<'_, Self> {
        Stat::decode(input)
    }
    fn write(&self, out: &mut BytesMut) {
        self.encode(out)
    }
}

/// Declares `pub struct $name { pub fields... }` and its [`Record`] impl: fields are
/// read and written in declaration order, each with its [`Wire`] encoding.
macro_rules! jute_record {
    ($(#[$m:meta])* $name:ident { $($(#[$fm:meta])* $field:ident : $ty:ty),* $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Eq, Default)]
        pub struct $name {
            $($(#[$fm])* pub $field: $ty,)*
        }

        $crate::proto::wire::impl_record!($name { $($field),* });
    };
}

/// Implements [`Record`] for an existing struct whose fields all implement [`Wire`],
/// in the order listed (which must be the jute order).
macro_rules! impl_record {
    ($name:ident { $($field:ident),* $(,)? }) => {
        impl $crate::proto::jute::Record for $name {
            fn decode(input: &[u8]) -> $crate::proto::jute::Decoded<'_, Self> {
                $(let (input, $field) = $crate::proto::wire::Wire::read(input)?;)*
                Ok((input, $name { $($field),* }))
            }
            fn encode(&self, out: &mut bytes::BytesMut) {
                $($crate::proto::wire::Wire::write(&self.$field, out);)*
                let _ = out;
            }
        }
    };
}

pub(crate) use impl_record;
pub(crate) use jute_record;
