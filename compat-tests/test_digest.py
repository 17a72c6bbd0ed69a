"""Tree digests in the data directory, both ways (issue 4).

Apache ZooKeeper 3.6+ appends the tree digest after every log entry
(`TxnDigest`) and after a snapshot's nodes (`ZxidDigest`), and on start-up
compares them with the tree it rebuilds (`DataTree.compareDigest`,
`compareSnapshotDigests`); a mismatch is logged ("Digests are not matching")
and counted (`zk_digest_mismatches_count` in mntr).

- ferrokeeper writes a tree (creates, sets, deletes, ACLs, multi, ephemerals
  and the closeSession that removes them, a container), with and without
  snapshots; ferrokeeper itself and then ZooKeeper start on that data dir and
  compare every digest without a mismatch (ZooKeeper's DataTree logs at DEBUG
  here, so each match is visible).
- ZooKeeper writes the same; ferrokeeper recovers and finds exactly the
  mismatches ZooKeeper's own recovery finds on a copy of those files (none,
  unless ZooKeeper's fuzzy snapshot sealed a digest that does not match
  its content, which ZooKeeper then reports as well).

Runs only with ferrokeeper among the servers (the oracle checks nothing new).
"""

from __future__ import annotations

import re
import shutil

import pytest

import harness
from test_migration import Migration, build_tree, more_writes

CONFIGS = {"log-only": {}, "snapshots": {"snapCount": "10"}}
ZK_DEBUG_DIGESTS = (
    harness.LOG4J_PROPERTIES + "log4j.logger.org.apache.zookeeper.server.DataTree=DEBUG\n"
)
MISMATCH = re.compile(r"Digests are not matching|digest mismatch", re.IGNORECASE)
FK_SUMMARY = re.compile(r"Digests compared on recovery: (\d+), mismatches: (\d+)")


@pytest.fixture
def migration(request, workdir, monkeypatch):
    kinds = [k.strip() for k in request.config.getoption("--servers").split(",")]
    if "ferrokeeper" not in kinds:
        pytest.skip("digest compatibility is a ferrokeeper test")
    monkeypatch.setattr(harness, "LOG4J_PROPERTIES", ZK_DEBUG_DIGESTS)
    m = Migration(request, workdir)
    yield m
    m.close()


def write_everything(m: Migration, srv) -> None:
    zk = m.client(srv)
    live = m.client(srv)
    build_tree(zk, live, srv)
    more_writes(zk, live)
    zk.delete("/mig/acl/readonly")
    # The session ends: its closeSession deletes its ephemerals.
    live.stop()
    live.close()
    zk.create("/mig/after-close", b"x")
    zk.stop()
    zk.close()


def mismatched_zxids(text: str) -> set[int]:
    """Zxids whose digest a recovery found not matching: ferrokeeper logs
    them in hex ("Value is Zxid. 0x51:"), ZooKeeper in decimal ("Value is
    Zxid. Value:81")."""
    hex_ = re.findall(r"Digests are not matching\. Value is Zxid\. 0x([0-9a-f]+)", text)
    dec = re.findall(r"Digests are not matching\. Value is Zxid\. Value:(\d+)", text)
    return {int(z, 16) for z in hex_} | {int(z) for z in dec}


def log_text(srv) -> str:
    return srv.log_path.read_text(errors="replace")


def fk_summary(srv) -> tuple[int, int]:
    found = FK_SUMMARY.findall(log_text(srv))
    assert found, f"no digest summary in ferrokeeper's log\n{srv.tail()}"
    compared, mismatches = found[-1]
    return int(compared), int(mismatches)


def mntr_mismatches(srv) -> int:
    out = srv.four_letter("mntr").decode(errors="replace")
    m = re.search(r"zk_digest_mismatches_count\s+(\d+)", out)
    assert m, f"no zk_digest_mismatches_count in mntr:\n{out}"
    return int(m.group(1))


@pytest.mark.parametrize("config", CONFIGS.values(), ids=CONFIGS.keys())
def test_zookeeper_checks_ferrokeeper_digests(migration, config):
    fk = migration.start("ferrokeeper", **config)
    write_everything(migration, fk)
    fk.stop()
    # Both readers get the files exactly as ferrokeeper left them (a server
    # writes a snapshot when it starts, so they must not share one dir).
    copy = migration.workdir / "copy-data"
    shutil.copytree(migration.data_dir, copy)

    zk = migration.start("zookeeper", **config)
    text = log_text(zk)
    assert not MISMATCH.search(text), "\n".join(
        line for line in text.splitlines() if MISMATCH.search(line)
    )
    matches = len(re.findall(r"Digests are matching for Zxid", text))
    if config:
        # From our newest snapshot (its digest compared) plus the log after it.
        assert re.search(r"digest in the snapshot has digest version of 2, with zxid as 0x[1-9a-f]", text), zk.tail(80)
        assert matches >= 1, zk.tail(80)
    else:
        # Every entry of ours replayed and compared (about 80 txns).
        assert matches > 50, zk.tail(80)
    assert mntr_mismatches(zk) == 0
    zk.stop()

    # ferrokeeper's own recovery compares the digests it wrote.
    again = harness.server_on_data_dir(
        "ferrokeeper", migration.workdir / "again", copy, config
    )
    migration.servers.append(again)
    again.start()
    compared, mismatches = fk_summary(again)
    assert mismatches == 0, again.tail()
    assert compared >= (1 if config else 50), again.tail()
    again.stop()


@pytest.mark.parametrize("config", CONFIGS.values(), ids=CONFIGS.keys())
def test_ferrokeeper_checks_zookeeper_digests(migration, config):
    zk = migration.start("zookeeper", **config)
    write_everything(migration, zk)
    zk.stop()
    # ZooKeeper's own fuzzy snapshot now and then seals a digest that does
    # not match its content (a txn lands between reading the last zxid's
    # digest and finishing the walk), and ZooKeeper's own recovery then
    # reports that mismatch too. So ZooKeeper also reads a copy of its
    # files, and ferrokeeper must report exactly the mismatches it reports:
    # on most runs none.
    copy = migration.workdir / "zk-copy"
    shutil.copytree(migration.data_dir, copy)

    fk = migration.start("ferrokeeper", **config)
    fk_text = log_text(fk)
    compared, mismatches = fk_summary(fk)
    assert compared >= (1 if config else 50), fk.tail()
    fk.stop()

    again = harness.server_on_data_dir(
        "zookeeper", migration.workdir / "zk-again", copy, config
    )
    migration.servers.append(again)
    again.start()
    zk_text = log_text(again)
    again.stop()
    assert mismatched_zxids(fk_text) == mismatched_zxids(zk_text), (
        "ferrokeeper:\n"
        + "\n".join(line for line in fk_text.splitlines() if MISMATCH.search(line))
        + "\nZooKeeper on the same files:\n"
        + "\n".join(line for line in zk_text.splitlines() if MISMATCH.search(line))
    )
    assert mismatches == len(mismatched_zxids(fk_text))
