//! Records of jute module `org.apache.zookeeper.data`: `Id`, `ACL`, `Stat`, `StatPersisted`, `ClientInfo`.

use super::jute::*;
use bytes::BytesMut;

/// An identity: scheme (`world`, `auth`, `digest`, `ip`, `super`, ...) and id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Id {
    pub scheme: String,
    pub id: String,
}

/// Permission bits (`ZooDefs.Perms`).
pub mod perms {
    pub const READ: i32 = 1;
    pub const WRITE: i32 = 2;
    pub const CREATE: i32 = 4;
    pub const DELETE: i32 = 8;
    pub const ADMIN: i32 = 16;
    pub const ALL: i32 = READ | WRITE | CREATE | DELETE | ADMIN;
}

/// One access-control entry.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Acl {
    pub perms: i32,
    pub id: Id,
}

impl Acl {
    /// `ZooDefs.Ids.OPEN_ACL_UNSAFE`: world:anyone with every permission.
    pub fn open_unsafe() -> Vec<Acl> {
        vec![Acl {
            perms: perms::ALL,
            id: Id {
                scheme: "world".into(),
                id: "anyone".into(),
            },
        }]
    }

    /// `ZooDefs.Ids.READ_ACL_UNSAFE`: world:anyone may read.
    pub fn read_unsafe() -> Vec<Acl> {
        vec![Acl {
            perms: perms::READ,
            id: Id {
                scheme: "world".into(),
                id: "anyone".into(),
            },
        }]
    }
}

/// The metadata of a znode as clients see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stat {
    pub czxid: i64,
    pub mzxid: i64,
    pub ctime: i64,
    pub mtime: i64,
    pub version: i32,
    pub cversion: i32,
    pub aversion: i32,
    pub ephemeral_owner: i64,
    pub data_length: i32,
    pub num_children: i32,
    pub pzxid: i64,
}

/// The metadata of a znode as snapshots store it (no dataLength / numChildren).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StatPersisted {
    pub czxid: i64,
    pub mzxid: i64,
    pub ctime: i64,
    pub mtime: i64,
    pub version: i32,
    pub cversion: i32,
    pub aversion: i32,
    pub ephemeral_owner: i64,
    pub pzxid: i64,
}

/// One authenticated identity of a session, as `whoAmI` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClientInfo {
    pub auth_scheme: String,
    pub user: String,
}

impl Record for Id {
    fn decode(input: &[u8]) -> Decoded<'_, Self> {
        let (input, scheme) = ustring(input)?;
        let (input, id) = ustring(input)?;
        Ok((input, Id { scheme, id }))
    }
    fn encode(&self, out: &mut BytesMut) {
        put_ustring(out, &self.scheme);
        put_ustring(out, &self.id);
    }
}

impl Record for Acl {
    fn decode(input: &[u8]) -> Decoded<'_, Self> {
        let (input, perms) = int(input)?;
        let (input, id) = Id::decode(input)?;
        Ok((input, Acl { perms, id }))
    }
    fn encode(&self, out: &mut BytesMut) {
        put_int(out, self.perms);
        self.id.encode(out);
    }
}

/// Decodes a `vector<ACL>`.
pub fn acl_list(input: &[u8]) -> Decoded<'_, Vec<Acl>> {
    vector(input, Acl::decode)
}

/// Encodes a `vector<ACL>`.
pub fn put_acl_list(out: &mut BytesMut, acl: &[Acl]) {
    put_vector(out, acl, |out, a| a.encode(out));
}

impl Record for Stat {
    fn decode(input: &[u8]) -> Decoded<'_, Self> {
        let (input, czxid) = long(input)?;
        let (input, mzxid) = long(input)?;
        let (input, ctime) = long(input)?;
        let (input, mtime) = long(input)?;
        let (input, version) = int(input)?;
        let (input, cversion) = int(input)?;
        let (input, aversion) = int(input)?;
        let (input, ephemeral_owner) = long(input)?;
        let (input, data_length) = int(input)?;
        let (input, num_children) = int(input)?;
        let (input, pzxid) = long(input)?;
        Ok((
            input,
            Stat {
                czxid,
                mzxid,
                ctime,
                mtime,
                version,
                cversion,
                aversion,
                ephemeral_owner,
                data_length,
                num_children,
                pzxid,
            },
        ))
    }
    fn encode(&self, out: &mut BytesMut) {
        put_long(out, self.czxid);
        put_long(out, self.mzxid);
        put_long(out, self.ctime);
        put_long(out, self.mtime);
        put_int(out, self.version);
        put_int(out, self.cversion);
        put_int(out, self.aversion);
        put_long(out, self.ephemeral_owner);
        put_int(out, self.data_length);
        put_int(out, self.num_children);
        put_long(out, self.pzxid);
    }
}

impl Record for StatPersisted {
    fn decode(input: &[u8]) -> Decoded<'_, Self> {
        let (input, czxid) = long(input)?;
        let (input, mzxid) = long(input)?;
        let (input, ctime) = long(input)?;
        let (input, mtime) = long(input)?;
        let (input, version) = int(input)?;
        let (input, cversion) = int(input)?;
        let (input, aversion) = int(input)?;
        let (input, ephemeral_owner) = long(input)?;
        let (input, pzxid) = long(input)?;
        Ok((
            input,
            StatPersisted {
                czxid,
                mzxid,
                ctime,
                mtime,
                version,
                cversion,
                aversion,
                ephemeral_owner,
                pzxid,
            },
        ))
    }
    fn encode(&self, out: &mut BytesMut) {
        put_long(out, self.czxid);
        put_long(out, self.mzxid);
        put_long(out, self.ctime);
        put_long(out, self.mtime);
        put_int(out, self.version);
        put_int(out, self.cversion);
        put_int(out, self.aversion);
        put_long(out, self.ephemeral_owner);
        put_long(out, self.pzxid);
    }
}

impl Record for ClientInfo {
    fn decode(input: &[u8]) -> Decoded<'_, Self> {
        let (input, auth_scheme) = ustring(input)?;
        let (input, user) = ustring(input)?;
        Ok((input, ClientInfo { auth_scheme, user }))
    }
    fn encode(&self, out: &mut BytesMut) {
        put_ustring(out, &self.auth_scheme);
        put_ustring(out, &self.user);
    }
}
