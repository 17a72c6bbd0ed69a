//! Snapshots as `FileSnap.serialize` writes them: `dataDir/version-2/snapshot.<hex zxid>`
//! (plus `.gz` / `.snappy`), through a [`CheckedWriter`]:
//!
//! ```text
//! FileHeader { "ZKSN", 2, dbid -1 }
//! int count, then count x (long sessionId, int timeout)     SerializeUtils.serializeSnapshot
//! int count, then count x (long ref, vector<ACL>)            ReferenceCountedACLCache.serialize
//! per node in pre-order: ustring path, buffer data, long acl ref, StatPersisted
//! ustring "/"                                                end of nodes
//! long adler32, ustring "/"                                  SnapStream.sealStream
//! long zxid, int digestVersion, long digest                  DataTree.ZxidDigest (3.6+)
//! long adler32, ustring "/"                                  second seal
//! [long lastProcessedZxid, long adler32, ustring "/"]        3.9+, read but never written
//! ```
//!
//! Quirks: the root's path is written as "" (so "/" can end the list); ACL ref -1
//! means `OPEN_ACL_UNSAFE` and is not in the map; each seal's checksum covers
//! every byte before it, earlier seals included. A fuzzy snapshot may name an ACL
//! ref that is not in its map (the ACL was added after the map was written);
//! replaying the log after the snapshot fixes the node.
//!
//! The zxid in the name is the last txn applied when the snapshot *started*;
//! the tree may already hold later txns, which is fine because replay is idempotent.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use bytes::BytesMut;

use super::digest::ZxidDigest;
use super::entry::{FileHeader, SNAP_MAGIC};
use super::snapstream::{CheckedReader, CheckedWriter, Compression, SNAPPY_MAGIC};
use super::write_behind::WriteBehind;
use super::{
    io_err, list_files, snapshot_file_name, sync_dir, PersistError, Result, SNAPSHOT_PREFIX,
};
use crate::proto::data::{put_acl_list, Acl, Id, StatPersisted};
use crate::proto::jute::{put_buffer, put_int, put_long, put_ustring, Record};

/// `ReferenceCountedACLCache.OPEN_UNSAFE_ACL_ID`.
pub const OPEN_ACL_REF: i64 = -1;
/// How many snapshots `find_valid_snapshot` tries, newest first (`FileSnap.deserialize`).
pub const MAX_SNAPSHOTS_TRIED: usize = 100;

/// One znode of a snapshot. `path` is "/" for the root (written as "").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotNode {
    pub path: String,
    pub data: Option<Vec<u8>>,
    /// Key into [`Snapshot::acls`], or [`OPEN_ACL_REF`].
    pub acl: i64,
    pub stat: StatPersisted,
}

/// A snapshot's whole content.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Snapshot {
    /// The file it was read from (empty for one built in memory).
    pub path: PathBuf,
    /// The zxid in the file name.
    pub zxid: i64,
    /// (session id, timeout ms) of every live session.
    pub sessions: Vec<(i64, i32)>,
    pub acls: BTreeMap<i64, Vec<Acl>>,
    /// Pre-order: every parent before its children.
    pub nodes: Vec<SnapshotNode>,
    /// `None` when absent (pre-3.6) or empty (zxid 0).
    pub digest: Option<ZxidDigest>,
    /// 3.9+ `lastProcessedZxid` section, if present.
    pub last_processed_zxid: Option<i64>,
}

impl Snapshot {
    /// The ACL list behind a node's ref; `None` for a ref not in the map.
    pub fn acl(&self, acl_ref: i64) -> Option<Cow<'_, [Acl]>> {
        if acl_ref == OPEN_ACL_REF {
            return Some(Cow::Owned(Acl::open_unsafe()));
        }
        self.acls.get(&acl_ref).map(|v| Cow::Borrowed(v.as_slice()))
    }

    /// Writes this snapshot as `snap_dir/snapshot.<self.zxid>` (refs as they are).
    pub fn save(&self, snap_dir: &Path, compression: Compression, fsync: bool) -> Result<PathBuf> {
        let mut w = SnapshotWriter::create(snap_dir, self.zxid, compression, fsync)?;
        let tmp = w.tmp.clone();
        let r = (|| {
            w.sessions(&self.sessions)?;
            w.acl_map(self.acls.iter().map(|(k, v)| (*k, v.as_slice())))?;
            for n in &self.nodes {
                w.node(&n.path, n.data.as_deref(), n.acl, &n.stat)?;
            }
            Ok(())
        })();
        remove_on_error(r.and_then(|()| w.finish(self.digest)), &tmp)
    }
}

/// The callback [`SnapshotSource::for_each_node`] feeds: path, data, ACL, stat.
pub type NodeVisitor<'a> =
    dyn FnMut(&str, Option<&[u8]>, &[Acl], &StatPersisted) -> io::Result<()> + 'a;

/// What the data tree gives a snapshot. `for_each_node` is called twice (once
/// to collect the distinct ACL lists, once to write), and must see the same
/// nodes both times.
pub trait SnapshotSource {
    /// (session id, timeout ms) of every live session.
    fn sessions(&self) -> Vec<(i64, i32)>;
    /// Visits every node in pre-order (a parent before its children), the root
    /// "/" first, stopping at the first error `f` returns.
    fn for_each_node(&self, f: &mut NodeVisitor<'_>) -> io::Result<()>;
    /// The tree digest and the zxid it is for, if the tree keeps one.
    fn zxid_digest(&self) -> Option<ZxidDigest> {
        None
    }
}

/// Writes `source` as the snapshot for `zxid` into `snap_dir`. ACL lists are
/// numbered 1, 2, ... in order of first use; `OPEN_ACL_UNSAFE` gets -1.
pub fn save_snapshot(
    snap_dir: &Path,
    zxid: i64,
    compression: Compression,
    fsync: bool,
    source: &dyn SnapshotSource,
) -> Result<PathBuf> {
    let open = Acl::open_unsafe();
    let mut refs: HashMap<Vec<Acl>, i64> = HashMap::new();
    let mut order: Vec<Vec<Acl>> = Vec::new();
    let visit = source.for_each_node(&mut |_, _, acl, _| {
        if acl != open.as_slice() && !refs.contains_key(acl) {
            refs.insert(acl.to_vec(), order.len() as i64 + 1);
            order.push(acl.to_vec());
        }
        Ok(())
    });
    visit.map_err(io_err(snap_dir))?;
    let mut w = SnapshotWriter::create(snap_dir, zxid, compression, fsync)?;
    let tmp = w.tmp.clone();
    let r = write_source(&mut w, source, &refs, &order);
    remove_on_error(r.and_then(|()| w.finish(source.zxid_digest())), &tmp)
}

/// Deletes the temporary file of a snapshot that failed (a full disk, say).
fn remove_on_error(r: Result<PathBuf>, tmp: &Path) -> Result<PathBuf> {
    if r.is_err() {
        let _ = std::fs::remove_file(tmp);
    }
    r
}

fn write_source(
    w: &mut SnapshotWriter,
    source: &dyn SnapshotSource,
    refs: &HashMap<Vec<Acl>, i64>,
    order: &[Vec<Acl>],
) -> Result<()> {
    let open = Acl::open_unsafe();
    w.sessions(&source.sessions())?;
    w.acl_map(
        order
            .iter()
            .enumerate()
            .map(|(i, a)| (i as i64 + 1, a.as_slice())),
    )?;
    let mut err = None;
    let visit = source.for_each_node(&mut |path, data, acl, stat| {
        let r = if acl == open.as_slice() {
            OPEN_ACL_REF
        } else {
            *refs.get(acl).ok_or_else(|| {
                io::Error::other(format!("ACL of {path} changed during the snapshot"))
            })?
        };
        w.node(path, data, r, stat).map_err(|e| {
            let msg = e.to_string();
            err = Some(e);
            io::Error::other(msg)
        })
    });
    if let Some(e) = err {
        return Err(e);
    }
    visit.map_err(io_err(&w.tmp))
}

/// Encodes one record of the node list (`DataTree.serializeNode`) with the
/// path given as its parent's (`""` under the root) and the name, so a walk
/// of the tree need not build every path. The root is `("", "")`.
pub fn put_node(
    buf: &mut BytesMut,
    parent: &str,
    name: &str,
    data: Option<&[u8]>,
    acl: i64,
    stat: &StatPersisted,
) {
    if name.is_empty() {
        put_ustring(buf, "");
    } else {
        put_int(buf, (parent.len() + 1 + name.len()) as i32);
        buf.extend_from_slice(parent.as_bytes());
        buf.extend_from_slice(b"/");
        buf.extend_from_slice(name.as_bytes());
    }
    put_node_body(buf, data, acl, stat);
}

/// A node record after its path.
fn put_node_body(buf: &mut BytesMut, data: Option<&[u8]>, acl: i64, stat: &StatPersisted) {
    put_buffer(buf, data);
    put_long(buf, acl);
    stat.encode(buf);
}

/// Streams a snapshot to `<name>.tmp` and renames it into place on
/// [`finish`](Self::finish) (as `AtomicFileOutputStream`), so a crash never
/// leaves a half-written `snapshot.<zxid>`. Call in order: `sessions`,
/// `acl_map`, `node` for each node, `finish`.
pub struct SnapshotWriter {
    tmp: PathBuf,
    dest: PathBuf,
    dir: PathBuf,
    out: CheckedWriter,
    fsync: bool,
    /// With `fsync`, spreads the file's writeback over its writing.
    write_behind: Option<WriteBehind>,
    buf: BytesMut,
}

impl SnapshotWriter {
    pub fn create(
        snap_dir: &Path,
        zxid: i64,
        compression: Compression,
        fsync: bool,
    ) -> Result<SnapshotWriter> {
        std::fs::create_dir_all(snap_dir).map_err(io_err(snap_dir))?;
        let dest = snap_dir.join(snapshot_file_name(zxid, compression));
        let tmp = snap_dir.join(format!("{}.tmp", snapshot_file_name(zxid, compression)));
        let file = File::create(&tmp).map_err(io_err(&tmp))?;
        let pacing = WriteBehind::new(&file);
        let out = CheckedWriter::new(file, compression).map_err(io_err(&tmp))?;
        // Direct chunks reach the disk one synchronous write at a time:
        // only page-cache writes need pacing.
        let write_behind = (fsync && !out.is_direct()).then_some(pacing);
        let mut w = SnapshotWriter {
            tmp,
            dest,
            dir: snap_dir.to_path_buf(),
            out,
            fsync,
            write_behind,
            buf: BytesMut::with_capacity(64 * 1024),
        };
        FileHeader::snapshot().encode(&mut w.buf);
        w.flush_buf()?;
        Ok(w)
    }

    fn flush_buf(&mut self) -> Result<()> {
        let r = self.out.write_all(&self.buf);
        self.buf.clear();
        if let Some(w) = &mut self.write_behind {
            w.advance();
        }
        r.map_err(io_err(&self.tmp))
    }

    pub fn sessions(&mut self, sessions: &[(i64, i32)]) -> Result<()> {
        put_int(&mut self.buf, sessions.len() as i32);
        for (id, timeout) in sessions {
            put_long(&mut self.buf, *id);
            put_int(&mut self.buf, *timeout);
        }
        self.flush_buf()
    }

    pub fn acl_map<'a>(
        &mut self,
        acls: impl ExactSizeIterator<Item = (i64, &'a [Acl])>,
    ) -> Result<()> {
        put_int(&mut self.buf, acls.len() as i32);
        for (r, list) in acls {
            put_long(&mut self.buf, r);
            put_acl_list(&mut self.buf, list);
        }
        self.flush_buf()
    }

    pub fn node(
        &mut self,
        path: &str,
        data: Option<&[u8]>,
        acl: i64,
        stat: &StatPersisted,
    ) -> Result<()> {
        put_ustring(&mut self.buf, if path == "/" { "" } else { path });
        put_node_body(&mut self.buf, data, acl, stat);
        self.flush_if_full()
    }

    /// Node records encoded by [`put_node`].
    pub fn encoded_nodes(&mut self, records: &[u8]) -> Result<()> {
        self.buf.extend_from_slice(records);
        self.flush_if_full()
    }

    fn flush_if_full(&mut self) -> Result<()> {
        if self.buf.len() >= 60 * 1024 {
            self.flush_buf()?;
        }
        Ok(())
    }

    fn seal(&mut self) -> Result<()> {
        self.flush_buf()?;
        put_long(&mut self.buf, self.out.checksum());
        put_ustring(&mut self.buf, "/");
        self.flush_buf()
    }

    /// Ends the node list, seals, writes the digest section (empty if `None`)
    /// and seals again, then syncs (if asked) and renames into place.
    pub fn finish(mut self, digest: Option<ZxidDigest>) -> Result<PathBuf> {
        put_ustring(&mut self.buf, "/");
        self.seal()?;
        let d = digest.unwrap_or_else(ZxidDigest::empty);
        put_long(&mut self.buf, d.zxid);
        put_int(&mut self.buf, d.digest_version);
        put_long(&mut self.buf, d.digest);
        self.seal()?;
        let tmp = self.tmp.clone();
        let file = self.out.finish().map_err(io_err(&tmp))?;
        if self.fsync {
            file.sync_all().map_err(io_err(&tmp))?;
        }
        drop(file);
        std::fs::rename(&tmp, &self.dest).map_err(io_err(&self.dest))?;
        if self.fsync {
            sync_dir(&self.dir)?;
        }
        Ok(self.dest)
    }
}

/// Reads primitives off a [`CheckedReader`], turning failures into `Corrupt`.
struct Input {
    r: CheckedReader,
    path: PathBuf,
}

impl Input {
    fn corrupt(&self, reason: impl Into<String>) -> PersistError {
        PersistError::Corrupt {
            file: self.path.clone(),
            offset: self.r.offset(),
            reason: reason.into(),
        }
    }

    fn bytes<const N: usize>(&mut self) -> Result<[u8; N]> {
        match self
            .r
            .take(N)
            .map(|b| <[u8; N]>::try_from(b).expect("N bytes"))
        {
            Ok(b) => Ok(b),
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                Err(self.corrupt("unexpected end of snapshot"))
            }
            Err(e) => Err(self.corrupt(format!("read failed: {e}"))),
        }
    }

    fn int(&mut self) -> Result<i32> {
        Ok(i32::from_be_bytes(self.bytes()?))
    }

    fn long(&mut self) -> Result<i64> {
        Ok(i64::from_be_bytes(self.bytes()?))
    }

    fn buffer(&mut self) -> Result<Option<Vec<u8>>> {
        let len = self.int()?;
        if len == -1 {
            return Ok(None);
        }
        if !(0..=i32::MAX).contains(&len) || len > 1 << 30 {
            return Err(self.corrupt(format!("bad buffer length {len}")));
        }
        // Grow as bytes arrive rather than trusting the length up front.
        let mut left = len as usize;
        let mut v = Vec::with_capacity(left.min(CHUNK));
        while left > 0 {
            let n = left.min(CHUNK);
            match self.r.take(n) {
                Ok(b) => v.extend_from_slice(b),
                Err(_) => return Err(self.corrupt("unexpected end of snapshot")),
            }
            left -= n;
        }
        Ok(Some(v))
    }

    fn string(&mut self) -> Result<String> {
        let b = self.buffer()?.unwrap_or_default();
        Ok(String::from_utf8(b)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
    }

    fn acl(&mut self) -> Result<Acl> {
        let perms = self.int()?;
        let scheme = self.string()?;
        let id = self.string()?;
        Ok(Acl {
            perms,
            id: Id { scheme, id },
        })
    }

    fn stat(&mut self) -> Result<StatPersisted> {
        let Ok(b) = self.r.take(60) else {
            return self.stat_by_field(); // to fail at the field that is cut off
        };
        let long = |at: usize| i64::from_be_bytes(b[at..at + 8].try_into().expect("8 bytes"));
        let int = |at: usize| i32::from_be_bytes(b[at..at + 4].try_into().expect("4 bytes"));
        Ok(StatPersisted {
            czxid: long(0),
            mzxid: long(8),
            ctime: long(16),
            mtime: long(24),
            version: int(32),
            cversion: int(36),
            aversion: int(40),
            ephemeral_owner: long(44),
            pzxid: long(52),
        })
    }

    fn stat_by_field(&mut self) -> Result<StatPersisted> {
        Ok(StatPersisted {
            czxid: self.long()?,
            mzxid: self.long()?,
            ctime: self.long()?,
            mtime: self.long()?,
            version: self.int()?,
            cversion: self.int()?,
            aversion: self.int()?,
            ephemeral_owner: self.long()?,
            pzxid: self.long()?,
        })
    }

    fn count(&mut self, what: &str) -> Result<usize> {
        let n = self.int()?;
        if n < 0 {
            return Err(self.corrupt(format!("negative {what} count {n}")));
        }
        Ok(n as usize)
    }

    /// `SnapStream.checkSealIntegrity`.
    fn check_seal(&mut self) -> Result<()> {
        let expected = self.r.checksum();
        let val = self.long()?;
        let slash = self.string()?;
        if val != expected {
            return Err(self.corrupt(format!(
                "checksum mismatch: sealed {val:#x}, computed {expected:#x}"
            )));
        }
        if slash != "/" {
            return Err(self.corrupt("seal not followed by \"/\""));
        }
        Ok(())
    }

    fn at_eof(&mut self) -> Result<bool> {
        self.r
            .at_eof()
            .map_err(|e| self.corrupt(format!("read failed: {e}")))
    }
}

/// Buffers are read in pieces of this size, so a corrupt length cannot make
/// the reader allocate more than the file holds.
const CHUNK: usize = 8192;

/// Reads a snapshot a node at a time, so a loader can build its tree while
/// the file is read: [`open`](Self::open) reads up to the ACL map,
/// [`next_node`](Self::next_node) each node, [`finish`](Self::finish) the
/// seals and digest. Nothing read is valid until `finish` succeeds.
pub struct SnapshotReader {
    inp: Input,
    /// The zxid in the file name.
    pub zxid: i64,
    /// (session id, timeout ms) of every live session.
    pub sessions: Vec<(i64, i32)>,
    pub acls: BTreeMap<i64, Vec<Acl>>,
    /// The file's length on disk (for estimates; compressed if compressed).
    pub file_len: u64,
}

/// What follows the nodes of a snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SnapshotTrailer {
    /// `None` when absent (pre-3.6) or empty (zxid 0).
    pub digest: Option<ZxidDigest>,
    /// 3.9+ `lastProcessedZxid` section, if present.
    pub last_processed_zxid: Option<i64>,
}

impl SnapshotReader {
    /// Opens the snapshot at `path` (compression from its name) and reads its
    /// header, sessions and ACL map.
    pub fn open(path: &Path) -> Result<SnapshotReader> {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        let zxid = super::zxid_from_name(name, SNAPSHOT_PREFIX).ok_or_else(|| {
            PersistError::Invalid(format!("{} is not a snapshot file name", path.display()))
        })?;
        let file = File::open(path).map_err(io_err(path))?;
        let file_len = file.metadata().map_err(io_err(path))?.len();
        let r = CheckedReader::new(file, Compression::from_file_name(name)).map_err(|e| {
            PersistError::Corrupt {
                file: path.to_path_buf(),
                offset: 0,
                reason: e.to_string(),
            }
        })?;
        let mut inp = Input {
            r,
            path: path.to_path_buf(),
        };
        let magic = inp.int()?;
        if magic != SNAP_MAGIC {
            return Err(inp.corrupt(format!("invalid magic number {magic:#x}")));
        }
        let _version = inp.int()?;
        let _dbid = inp.long()?;
        let mut sessions = Vec::new();
        for _ in 0..inp.count("session")? {
            let id = inp.long()?;
            let timeout = inp.int()?;
            sessions.push((id, timeout));
        }
        let mut acls = BTreeMap::new();
        for _ in 0..inp.count("ACL cache")? {
            let r = inp.long()?;
            let n = inp.int()?;
            if n < 0 {
                return Err(inp.corrupt("missing acls"));
            }
            let mut list = Vec::new();
            for _ in 0..n {
                list.push(inp.acl()?);
            }
            acls.insert(r, list);
        }
        Ok(SnapshotReader {
            inp,
            zxid,
            sessions,
            acls,
            file_len,
        })
    }

    /// Uncompressed bytes read so far.
    pub fn offset(&self) -> u64 {
        self.inp.r.offset()
    }

    /// The next node in file order, `None` after the last one.
    pub fn next_node(&mut self) -> Result<Option<SnapshotNode>> {
        let path = self.inp.string()?;
        if path == "/" {
            return Ok(None);
        }
        let data = self.inp.buffer()?;
        let acl = self.inp.long()?;
        let stat = self.inp.stat()?;
        let path = if path.is_empty() {
            "/".to_string()
        } else {
            path
        };
        Ok(Some(SnapshotNode {
            path,
            data,
            acl,
            stat,
        }))
    }

    /// After `next_node` returned `None`: checks the seals and reads the
    /// digest (and 3.9+ lastProcessedZxid) sections.
    pub fn finish(mut self) -> Result<SnapshotTrailer> {
        let inp = &mut self.inp;
        let mut trailer = SnapshotTrailer::default();
        inp.check_seal()?;
        if inp.at_eof()? {
            return Ok(trailer);
        }
        let dz = inp.long()?;
        let version = inp.int()?;
        let digest = if version < 2 {
            // Digest versions before 2 stored the value as a hex string.
            let s = inp.string()?;
            i64::from_str_radix(&s, 16).unwrap_or(0)
        } else {
            inp.long()?
        };
        inp.check_seal()?;
        if dz > 0 {
            trailer.digest = Some(ZxidDigest {
                zxid: dz,
                digest_version: version,
                digest,
            });
        }
        if !inp.at_eof()? {
            trailer.last_processed_zxid = Some(inp.long()?);
            inp.check_seal()?;
        }
        Ok(trailer)
    }
}

/// Reads and verifies the snapshot at `path` (compression from its name).
pub fn read_snapshot(path: &Path) -> Result<Snapshot> {
    let mut r = SnapshotReader::open(path)?;
    let mut nodes = Vec::new();
    while let Some(n) = r.next_node()? {
        nodes.push(n);
    }
    let snap = Snapshot {
        path: path.to_path_buf(),
        zxid: r.zxid,
        sessions: std::mem::take(&mut r.sessions),
        acls: std::mem::take(&mut r.acls),
        nodes,
        digest: None,
        last_processed_zxid: None,
    };
    let trailer = r.finish()?;
    Ok(Snapshot {
        digest: trailer.digest,
        last_processed_zxid: trailer.last_processed_zxid,
        ..snap
    })
}

/// `SnapStream.isValidSnapshot`: the cheap check `PurgeTxnLog` and start-up use
/// to choose candidates (checked: ends with int 1 + '/'; gz and snappy: magic).
pub fn looks_valid(path: &Path) -> bool {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    if super::zxid_from_name(name, SNAPSHOT_PREFIX).is_none() {
        return false;
    }
    let Ok(bytes) = std::fs::read(path) else {
        return false;
    };
    match Compression::from_file_name(name) {
        Compression::Gzip => bytes.starts_with(&[0x1f, 0x8b]),
        Compression::Snappy => bytes.starts_with(&SNAPPY_MAGIC),
        Compression::None => bytes.len() >= 10 && bytes.ends_with(&[0, 0, 0, 1, b'/']),
    }
}

/// The snapshot files in `snap_dir`, newest first (temporary files excluded).
pub fn snapshot_files(snap_dir: &Path) -> Result<Vec<(i64, PathBuf)>> {
    let mut files: Vec<_> = list_files(snap_dir, SNAPSHOT_PREFIX)?
        .into_iter()
        .filter(|(_, p)| p.extension().and_then(|e| e.to_str()) != Some("tmp"))
        .collect();
    files.reverse();
    Ok(files)
}

/// The newest snapshot that reads back whole (`FileSnap.deserialize`): an
/// invalid one is logged and skipped for the next older one, up to 100.
/// `Ok(None)` when there is no snapshot file at all; an error when there are
/// some but none is valid (never silently start empty over lost data).
pub fn find_valid_snapshot(snap_dir: &Path) -> Result<Option<Snapshot>> {
    load_valid_snapshot(snap_dir, read_snapshot)
}

/// [`find_valid_snapshot`] with another loader: `load` reads and verifies one
/// file (an error: try the next older one) into whatever the caller builds.
pub fn load_valid_snapshot<T>(
    snap_dir: &Path,
    mut load: impl FnMut(&Path) -> Result<T>,
) -> Result<Option<T>> {
    let files = snapshot_files(snap_dir)?;
    if files.is_empty() {
        return Ok(None);
    }
    let mut tried = Vec::new();
    for (_, path) in files.into_iter().take(MAX_SNAPSHOTS_TRIED) {
        tracing::info!(file = %path.display(), "reading snapshot");
        match load(&path) {
            Ok(s) => return Ok(Some(s)),
            Err(e) => {
                tracing::warn!(file = %path.display(), error = %e, "invalid snapshot, trying an older one");
                tried.push(path);
            }
        }
    }
    Err(PersistError::NoValidSnapshot {
        dir: snap_dir.to_path_buf(),
        tried,
    })
}
