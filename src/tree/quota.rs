//! Quotas, as `DataTree` keeps them (`Quotas`, `StatsTrack`, the quota
//! `PathTrie`). A quota on `/app` is the node
//! `/zookeeper/quota/app/zookeeper_limits` (its limits, written by a client
//! such as `zkCli.sh setquota`) beside `.../zookeeper_stats`, whose data the
//! tree itself keeps at the subtree's node count and data bytes
//! (`count=N,bytes=M`): recounted when the stats node is created or a
//! snapshot is loaded, and moved by every create, delete and setData under
//! `/app`. The stats node's data changes in place (its Stat stays; the tree
//! digest leaves `/zookeeper`'s nodes out, as ZooKeeper's does, because of
//! exactly these updates), so replaying the same txns gives the same tree. Going
//! past a limit is logged; with `enforceQuota` prep asks
//! [`DataTree::check_quota`] first and refuses a write past a hard limit.

use super::DataTree;
use crate::proto::error_code::ErrorCode;

/// `Quotas.quotaZookeeper`.
pub const QUOTA_ROOT: &str = "/zookeeper/quota";
/// `Quotas.limitNode`.
const LIMIT_NODE: &str = "zookeeper_limits";
/// `Quotas.statNode`.
const STAT_NODE: &str = "zookeeper_stats";

/// `StatsTrack`: `count=N,bytes=M`, which ZooKeeper 3.7+ may follow with
/// `=;` and more `key=value` pairs separated by `;` (the hard limits).
#[derive(Debug, Clone, PartialEq, Eq)]
struct StatsTrack {
    count: i64,
    bytes: i64,
    /// What follows `=;`, kept as it was.
    extra: Option<String>,
}

impl StatsTrack {
    /// A missing or unreadable value reads as -1 ("no limit"), as
    /// `StatsTrack.getCount` gives for an absent key.
    fn parse(data: Option<&[u8]>) -> StatsTrack {
        let text = String::from_utf8_lossy(data.unwrap_or_default());
        let (old, extra) = match text.split_once("=;") {
            Some((old, extra)) => (old.to_owned(), Some(extra.to_owned())),
            None => (text.into_owned(), None),
        };
        let value = |key: &str| {
            old.split(',')
                .filter_map(|kv| kv.split_once('='))
                .find(|(k, _)| k.trim() == key)
                .and_then(|(_, v)| v.trim().parse().ok())
                .unwrap_or(-1)
        };
        StatsTrack {
            count: value("count"),
            bytes: value("bytes"),
            extra,
        }
    }

    /// A hard limit (`countHardLimit`, `byteHardLimit`) from after `=;`; -1 when absent.
    fn hard_limit(&self, key: &str) -> i64 {
        self.extra
            .as_deref()
            .unwrap_or_default()
            .split(';')
            .filter_map(|kv| kv.split_once('='))
            .find(|(k, _)| k.trim() == key)
            .and_then(|(_, v)| v.trim().parse().ok())
            .unwrap_or(-1)
    }

    fn to_bytes(&self) -> Vec<u8> {
        let mut s = format!("count={},bytes={}", self.count, self.bytes);
        if let Some(extra) = &self.extra {
            s.push_str("=;");
            s.push_str(extra);
        }
        s.into_bytes()
    }
}

/// The path a quota node under `/zookeeper/quota` is about
/// (`Quotas.trimQuotaPath`).
fn quota_subject(parent: &str) -> &str {
    &parent[QUOTA_ROOT.len()..]
}

fn stat_path(subject: &str) -> String {
    format!("{QUOTA_ROOT}{subject}/{STAT_NODE}")
}

fn limit_path(subject: &str) -> String {
    format!("{QUOTA_ROOT}{subject}/{LIMIT_NODE}")
}

impl DataTree {
    /// After `createNode` stored `path` (a child `child` of `parent`) with
    /// `bytes` of data.
    pub(super) fn quota_on_create(&mut self, path: &str, parent: &str, child: &str, bytes: i64) {
        if parent.starts_with(QUOTA_ROOT) {
            let subject = quota_subject(parent).to_owned();
            if child == LIMIT_NODE && !subject.is_empty() {
                self.quota_paths.insert(subject.clone());
            }
            if child == STAT_NODE {
                self.recount_quota(&subject);
            }
        }
        if let Some(subject) = self.quota_subject_of(path) {
            self.add_to_quota_stats(&subject, bytes, 1);
        }
    }

    /// After `deleteNode` removed `path`, which held `bytes` of data.
    pub(super) fn quota_on_delete(&mut self, path: &str, parent: &str, child: &str, bytes: i64) {
        if parent.starts_with(QUOTA_ROOT) && child == LIMIT_NODE {
            self.quota_paths.remove(quota_subject(parent));
        }
        if let Some(subject) = self.quota_subject_of(path) {
            self.add_to_quota_stats(&subject, -bytes, -1);
        }
    }

    /// After `setData` changed `path`'s data by `bytes_diff` bytes.
    pub(super) fn quota_on_set_data(&mut self, path: &str, bytes_diff: i64) {
        if let Some(subject) = self.quota_subject_of(path) {
            self.add_to_quota_stats(&subject, bytes_diff, 0);
        }
    }

    /// `setupQuota`, after a snapshot is loaded: every limits node found
    /// under `/zookeeper/quota` puts its path under quota and recounts it.
    pub fn setup_quota(&mut self) {
        let mut stack = vec![QUOTA_ROOT.to_owned()];
        let mut subjects = Vec::new();
        while let Some(path) = stack.pop() {
            let Some(node) = self.nodes.get(&path) else {
                continue;
            };
            if node.children.is_empty() {
                let end = format!("/{LIMIT_NODE}");
                if let Some(at) = path.find(&end).filter(|_| path.ends_with(&end)) {
                    subjects.push(path[QUOTA_ROOT.len()..at].to_owned());
                }
                continue;
            }
            stack.extend(node.children.keys().map(|c| format!("{path}/{c}")));
        }
        for subject in subjects {
            self.recount_quota(&subject);
            self.quota_paths.insert(subject);
        }
    }

    /// `ZooKeeperServer.checkQuota` (with `enforceQuota`): whether a write
    /// that changes `path`'s subtree by `count_diff` nodes and `bytes_diff`
    /// bytes stays within its quota, checked against the applied stats.
    /// Passing a hard limit is `QuotaExceeded`; passing a soft one is logged.
    pub fn check_quota(
        &self,
        path: &str,
        bytes_diff: i64,
        count_diff: i64,
    ) -> Result<(), ErrorCode> {
        let Some(subject) = self.quota_subject_of(path) else {
            return Ok(());
        };
        let Some(limits) = self
            .nodes
            .get(&limit_path(&subject))
            .map(|n| StatsTrack::parse(n.data()))
        else {
            return Ok(());
        };
        let current = self
            .nodes
            .get(&stat_path(&subject))
            .map(|n| StatsTrack::parse(n.data()));
        // (what, unit, change, soft limit, hard limit, current)
        let checks = [
            (
                "Count",
                "count",
                count_diff,
                limits.count,
                limits.hard_limit("countHardLimit"),
                current.as_ref().map(|c| c.count),
            ),
            (
                "Byte",
                "bytes",
                bytes_diff,
                limits.bytes,
                limits.hard_limit("byteHardLimit"),
                current.as_ref().map(|c| c.bytes),
            ),
        ];
        for (what, unit, diff, soft, hard, now) in checks {
            if diff == 0 || (soft < 0 && hard < 0) {
                continue;
            }
            let Some(now) = now else {
                return Ok(());
            };
            let after = now + diff;
            let limit = if hard > -1 { hard } else { soft };
            if after > limit {
                let kind = if hard > -1 { "hard" } else { "soft" };
                tracing::warn!(
                    "Quota exceeded: {subject} [current {unit}={after}, {kind}{what}Limit={limit}]"
                );
                if hard > -1 {
                    return Err(ErrorCode::QuotaExceeded);
                }
            }
        }
        Ok(())
    }

    /// `getMaxPrefixWithQuota`: the deepest path under quota that is `path`
    /// or one of its ancestors; never `/`.
    fn quota_subject_of(&self, path: &str) -> Option<String> {
        if self.quota_paths.is_empty() {
            return None;
        }
        let mut prefix = path;
        while prefix.len() > 1 {
            if self.quota_paths.contains(prefix) {
                return Some(prefix.to_owned());
            }
            prefix = &prefix[..prefix.rfind('/')?];
        }
        None
    }

    /// `updateQuotaStat`: moves the stats of `subject`'s quota, and logs a
    /// limit passed.
    fn add_to_quota_stats(&mut self, subject: &str, bytes_diff: i64, count_diff: i64) {
        let path = stat_path(subject);
        let Some(node) = self.nodes.get(&path) else {
            tracing::error!("Missing node for stat {path}");
            return;
        };
        let mut stats = StatsTrack::parse(node.data());
        stats.count += count_diff;
        stats.bytes += bytes_diff;
        self.replace_quota_data(&path, &stats);
        let limit = limit_path(subject);
        let Some(limits) = self.nodes.get(&limit).map(|n| StatsTrack::parse(n.data())) else {
            tracing::error!("Missing node for quota {limit}");
            return;
        };
        if limits.count > -1 && limits.count < stats.count {
            tracing::warn!(
                "Quota exceeded: {subject} count={} limit={}",
                stats.count,
                limits.count
            );
        }
        if limits.bytes > -1 && limits.bytes < stats.bytes {
            tracing::warn!(
                "Quota exceeded: {subject} bytes={} limit={}",
                stats.bytes,
                limits.bytes
            );
        }
    }

    /// `updateQuotaForPath`: counts the nodes and data bytes of `subject`'s
    /// subtree (itself included) into its stats node.
    fn recount_quota(&mut self, subject: &str) {
        let (mut count, mut bytes) = (0i64, 0i64);
        let mut stack: Vec<_> = self.nodes.id(subject).into_iter().collect();
        while let Some(id) = stack.pop() {
            let Some(node) = self.nodes.by_id(id) else {
                continue;
            };
            count += 1;
            bytes += node.data().map_or(0, |d| d.len() as i64);
            stack.extend(node.children.values().copied());
        }
        let path = stat_path(subject);
        if !self.nodes.contains_key(&path) {
            tracing::warn!("Missing quota stat node {path}");
            return;
        }
        let stats = StatsTrack {
            count,
            bytes,
            extra: None,
        };
        self.replace_quota_data(&path, &stats);
    }

    /// Puts `stats` into the stats node at `path` in place: its Stat stays,
    /// the tree digest is kept in step (`nodes.preChange` / `postChange`;
    /// a term of 0 for nodes under `/zookeeper`).
    fn replace_quota_data(&mut self, path: &str, stats: &StatsTrack) {
        let Some(node) = self.nodes.get_mut(path) else {
            return;
        };
        let before = node.digest();
        node.set_data(path, Some(stats.to_bytes()));
        self.digest = self.digest.wrapping_add(node.digest().wrapping_sub(before));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_track_reads_both_formats() {
        let old = StatsTrack::parse(Some(b"count=3,bytes=-1"));
        assert_eq!((old.count, old.bytes, old.extra.as_deref()), (3, -1, None));
        let new = StatsTrack::parse(Some(b"count=3,bytes=-1=;byteHardLimit=-1;countHardLimit=5"));
        assert_eq!((new.count, new.bytes), (3, -1));
        assert_eq!(
            new.to_bytes(),
            b"count=3,bytes=-1=;byteHardLimit=-1;countHardLimit=5".to_vec()
        );
        let none = StatsTrack::parse(None);
        assert_eq!((none.count, none.bytes), (-1, -1));
        assert_eq!(StatsTrack::parse(Some(b"junk")).count, -1);
    }
}
