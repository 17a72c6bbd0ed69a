//! The workload: op kinds, the weighted op mix (`get=90,set=10`), the znode
//! layout under the run's unique root, and the seeded generator that turns the
//! next pick into a protocol `Request`.
//!
//! Layout under `<root>`: `k/<8-digit i>` for the `--keys` key nodes (get, set,
//! exists, children, multi act on a uniformly random key), `c/n-<seq>` for the
//! persistent sequential nodes `create` makes (and `delete` removes again, oldest
//! first), `e/n-<seq>` for `create-eseq` (ephemeral sequential, gone when the
//! session closes).

use std::collections::VecDeque;
use std::fmt;
use std::str::FromStr;

use rand::rngs::StdRng;
use rand::{Rng, RngCore, SeedableRng};

use crate::proto::data::Acl;
use crate::proto::multi::{MultiOp, MultiRequest};
use crate::proto::request::Request;
use crate::proto::requests::{
    CreateRequest, DeleteRequest, ExistsRequest, GetChildrenRequest, GetDataRequest, SetDataRequest,
};

/// `CreateMode` flags.
pub const PERSISTENT_SEQUENTIAL: i32 = 2;
pub const EPHEMERAL_SEQUENTIAL: i32 = 3;

/// One kind of operation the load generator issues.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum OpKind {
    /// getData of a random key.
    Get,
    /// setData (any version) of a random key.
    Set,
    /// create of a persistent sequential node.
    Create,
    /// create of an ephemeral sequential node.
    CreateEseq,
    /// exists of a random key.
    Exists,
    /// getChildren of a random key (a leaf: an empty list).
    Children,
    /// multi of two setData on random keys.
    Multi,
    /// delete of the oldest node this session created with `create`
    /// (a `create` instead while it has none).
    Delete,
}

impl OpKind {
    pub const ALL: [OpKind; 8] = [
        OpKind::Get,
        OpKind::Set,
        OpKind::Create,
        OpKind::CreateEseq,
        OpKind::Exists,
        OpKind::Children,
        OpKind::Multi,
        OpKind::Delete,
    ];

    pub fn name(self) -> &'static str {
        match self {
            OpKind::Get => "get",
            OpKind::Set => "set",
            OpKind::Create => "create",
            OpKind::CreateEseq => "create-eseq",
            OpKind::Exists => "exists",
            OpKind::Children => "children",
            OpKind::Multi => "multi",
            OpKind::Delete => "delete",
        }
    }

    /// The tag carried through the client to label the reply.
    pub fn tag(self) -> u32 {
        OpKind::ALL.iter().position(|k| *k == self).unwrap_or(0) as u32
    }

    pub fn from_tag(tag: u32) -> OpKind {
        OpKind::ALL
            .get(tag as usize)
            .copied()
            .unwrap_or(OpKind::Get)
    }

    /// Whether the op reads or writes the key nodes.
    pub fn uses_keys(self) -> bool {
        matches!(
            self,
            OpKind::Get | OpKind::Set | OpKind::Exists | OpKind::Children | OpKind::Multi
        )
    }
}

impl fmt::Display for OpKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for OpKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        OpKind::ALL
            .iter()
            .copied()
            .find(|k| k.name() == s)
            .ok_or_else(|| {
                let names: Vec<_> = OpKind::ALL.iter().map(|k| k.name()).collect();
                format!("unknown op {s:?} (one of {})", names.join(", "))
            })
    }
}

/// Op kinds with integer weights, e.g. `get=90,set=10`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mix {
    entries: Vec<(OpKind, u32)>,
    total: u32,
}

impl Mix {
    pub fn entries(&self) -> &[(OpKind, u32)] {
        &self.entries
    }

    /// Draws an op kind with probability proportional to its weight.
    pub fn pick(&self, rng: &mut impl Rng) -> OpKind {
        let mut x = rng.gen_range(0..self.total);
        for &(kind, w) in &self.entries {
            if x < w {
                return kind;
            }
            x -= w;
        }
        self.entries[self.entries.len() - 1].0
    }

    pub fn uses_keys(&self) -> bool {
        self.entries.iter().any(|(k, _)| k.uses_keys())
    }
}

impl FromStr for Mix {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let mut entries: Vec<(OpKind, u32)> = Vec::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, weight) = match part.split_once('=') {
                Some((n, w)) => (
                    n.trim(),
                    w.trim()
                        .parse::<u32>()
                        .map_err(|e| format!("weight of {n:?}: {e}"))?,
                ),
                None => (part, 1),
            };
            let kind: OpKind = name.parse()?;
            if entries.iter().any(|(k, _)| *k == kind) {
                return Err(format!("op {name:?} given twice"));
            }
            if weight > 0 {
                entries.push((kind, weight));
            }
        }
        let total: u32 = entries.iter().map(|(_, w)| *w).sum();
        if total == 0 {
            return Err("the mix has no op with a positive weight".into());
        }
        Ok(Mix { entries, total })
    }
}

impl fmt::Display for Mix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .entries
            .iter()
            .map(|(k, w)| format!("{k}={w}"))
            .collect();
        f.write_str(&parts.join(","))
    }
}

/// Paths of one run.
#[derive(Debug, Clone)]
pub struct Layout {
    pub root: String,
}

impl Layout {
    pub fn new(root: impl Into<String>) -> Layout {
        Layout { root: root.into() }
    }

    pub fn keys_dir(&self) -> String {
        format!("{}/k", self.root)
    }

    pub fn key(&self, i: u64) -> String {
        format!("{}/k/{i:08}", self.root)
    }

    pub fn creates_dir(&self) -> String {
        format!("{}/c", self.root)
    }

    pub fn eseq_dir(&self) -> String {
        format!("{}/e", self.root)
    }

    /// The directories made at setup, parents first.
    pub fn dirs(&self) -> Vec<String> {
        vec![
            self.root.clone(),
            self.keys_dir(),
            self.creates_dir(),
            self.eseq_dir(),
        ]
    }
}

/// A create request with open ACL.
pub fn create_request(path: String, data: Vec<u8>, flags: i32) -> Request {
    Request::Create(CreateRequest {
        path,
        data: Some(data),
        acl: Acl::open_unsafe(),
        flags,
    })
}

/// Deterministic pseudo-random bytes for node values.
pub fn value_bytes(size: usize, seed: u64) -> Vec<u8> {
    let mut v = vec![0u8; size];
    StdRng::seed_from_u64(seed).fill_bytes(&mut v);
    v
}

/// Generates one session's requests.
pub struct OpGen {
    mix: Mix,
    layout: Layout,
    keys: u64,
    value: Vec<u8>,
    rng: StdRng,
    /// Nodes this session created with `create`, oldest first (for `delete`).
    created: VecDeque<String>,
}

impl OpGen {
    pub fn new(mix: Mix, layout: Layout, keys: u64, value: Vec<u8>, seed: u64) -> OpGen {
        OpGen {
            mix,
            layout,
            keys: keys.max(1),
            value,
            rng: StdRng::seed_from_u64(seed),
            created: VecDeque::new(),
        }
    }

    fn random_key(&mut self) -> String {
        let i = self.rng.gen_range(0..self.keys);
        self.layout.key(i)
    }

    /// The next op and its request.
    pub fn next_op(&mut self) -> (OpKind, Request) {
        let kind = self.mix.pick(&mut self.rng);
        let req = match kind {
            OpKind::Get => Request::GetData(GetDataRequest {
                path: self.random_key(),
                watch: false,
            }),
            OpKind::Set => Request::SetData(SetDataRequest {
                path: self.random_key(),
                data: Some(self.value.clone()),
                version: -1,
            }),
            OpKind::Exists => Request::Exists(ExistsRequest {
                path: self.random_key(),
                watch: false,
            }),
            OpKind::Children => Request::GetChildren(GetChildrenRequest {
                path: self.random_key(),
                watch: false,
            }),
            OpKind::Multi => {
                let ops = (0..2)
                    .map(|_| {
                        MultiOp::SetData(SetDataRequest {
                            path: self.random_key(),
                            data: Some(self.value.clone()),
                            version: -1,
                        })
                    })
                    .collect();
                Request::Multi(MultiRequest { ops })
            }
            OpKind::CreateEseq => create_request(
                format!("{}/n-", self.layout.eseq_dir()),
                self.value.clone(),
                EPHEMERAL_SEQUENTIAL,
            ),
            OpKind::Delete => match self.created.pop_front() {
                Some(path) => Request::Delete(DeleteRequest { path, version: -1 }),
                None => return (OpKind::Create, self.create()),
            },
            OpKind::Create => self.create(),
        };
        (kind, req)
    }

    fn create(&mut self) -> Request {
        create_request(
            format!("{}/n-", self.layout.creates_dir()),
            self.value.clone(),
            PERSISTENT_SEQUENTIAL,
        )
    }

    /// Records a node made by a `create` op, for a later `delete`.
    pub fn on_created(&mut self, path: String) {
        self.created.push_back(path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mix_parses_and_prints() {
        let m: Mix = "get=90, set=10".parse().unwrap();
        assert_eq!(m.to_string(), "get=90,set=10");
        assert!(m.uses_keys());
        let m: Mix = "create-eseq".parse().unwrap();
        assert_eq!(m.entries(), &[(OpKind::CreateEseq, 1)]);
        assert!(!m.uses_keys());
        assert!("get=0".parse::<Mix>().is_err());
        assert!("nope=1".parse::<Mix>().is_err());
        assert!("get=1,get=2".parse::<Mix>().is_err());
    }

    #[test]
    fn mix_follows_weights() {
        let m: Mix = "get=90,set=10".parse().unwrap();
        let mut rng = StdRng::seed_from_u64(7);
        let gets = (0..10_000)
            .filter(|_| m.pick(&mut rng) == OpKind::Get)
            .count();
        assert!((8_700..9_300).contains(&gets), "{gets}");
    }

    #[test]
    fn tags_round_trip() {
        for k in OpKind::ALL {
            assert_eq!(OpKind::from_tag(k.tag()), k);
        }
    }

    #[test]
    fn delete_without_created_nodes_creates() {
        let layout = Layout::new("/r");
        let mut g = OpGen::new("delete".parse().unwrap(), layout, 10, vec![1], 1);
        assert_eq!(g.next_op().0, OpKind::Create);
        g.on_created("/r/c/n-0000000000".into());
        let (k, req) = g.next_op();
        assert_eq!(k, OpKind::Delete);
        assert!(matches!(req, Request::Delete(d) if d.path == "/r/c/n-0000000000"));
    }

    #[test]
    fn same_seed_same_ops() {
        let mk = || {
            OpGen::new(
                "get=1,set=1,exists=1".parse().unwrap(),
                Layout::new("/r"),
                1000,
                vec![0; 4],
                42,
            )
        };
        let (mut a, mut b) = (mk(), mk());
        for _ in 0..100 {
            assert_eq!(a.next_op().1, b.next_op().1);
        }
    }
}
