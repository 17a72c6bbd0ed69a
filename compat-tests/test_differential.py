"""Differential tests: each scenario runs against Apache ZooKeeper (the
oracle) and against ferrokeeper, and the normalised transcripts must be
equal. See differential.py for the step language and the normalisation.

With --servers=zookeeper the candidate is a second Apache ZooKeeper: that
checks the scenarios are deterministic (a harness self-check).
"""

from __future__ import annotations

import difflib
import json

import pytest

from differential import Runner, ZxOf, format_transcript
from rawzk import OPEN_ACL_UNSAFE, enc_acls, enc_bool, enc_buffer, enc_int, enc_long, enc_string, enc_strings

# CreateMode flags
PERSISTENT, EPHEMERAL, SEQUENTIAL, EPH_SEQ, CONTAINER, TTL, TTL_SEQ = 0, 1, 2, 3, 4, 5, 6
ALL, READ, WRITE, CREATE, DELETE, ADMIN = 31, 1, 2, 4, 8, 16
WORLD = ("world", "anyone")


def create_body(path, data=b"", flags=0, acls=None):
    return enc_string(path) + enc_buffer(data) + enc_acls(acls or OPEN_ACL_UNSAFE) + enc_int(flags)


def ttl_body(path, data=b"", flags=TTL, ttl=60000):
    return create_body(path, data, flags) + enc_long(ttl)


def path_body(path, *more):
    return enc_string(path) + b"".join(more)


def multi_read_body(*ops):
    body = b""
    for kind, path in ops:
        code = {"getData": 4, "getChildren": 8}[kind]
        body += enc_int(code) + enc_bool(False) + enc_int(-1) + enc_string(path) + enc_bool(False)
    return body + enc_int(-1) + enc_bool(True) + enc_int(-1)


def reconfig_body(joining="", leaving="", members="", config_id=-1):
    return enc_string(joining) + enc_string(leaving) + enc_string(members) + enc_long(config_id)


SCENARIOS: dict[str, list] = {}


def scenario(name, steps):
    assert name not in SCENARIOS, name
    SCENARIOS[name] = steps


# --- basic CRUD -----------------------------------------------------------------
scenario("crud_basic", [
    ("create", "/a", b"hello"),
    ("get", "/a"),
    ("exists", "/a"),
    ("set", "/a", b"world"),
    ("get", "/a"),
    ("set", "/a", b"", {"version": 1}),
    ("get", "/a"),
    ("children", "/a"),
    ("delete", "/a", {"version": 2}),
    ("exists", "/a"),
    ("get", "/a"),
])

scenario("create_variants", [
    ("create", "/p", b"x"),
    ("create", "/p/eph", b"e", {"ephemeral": True}),
    ("create", "/p/seq-", b"s", {"sequence": True}),
    ("create", "/p/eseq-", b"es", {"ephemeral": True, "sequence": True}),
    ("create", "/p/c2", b"c2", {"include_data": True}),
    ("create", "/p/c2seq-", b"", {"include_data": True, "sequence": True}),
    ("create", "/p/c2eph", b"", {"include_data": True, "ephemeral": True}),
    ("children", "/p", {"include_data": True}),
    ("exists", "/p/eph"),
    ("exists", "/p/eseq-0000000002"),
    ("get", "/p/c2seq-0000000004"),
])

scenario("create_errors", [
    ("create", "/a"),
    ("create", "/a"),                              # NodeExists
    ("create", "/a", b"", {"include_data": True}),  # NodeExists via create2
    ("create", "/missing/child"),                  # NoNode
    ("create", "/missing/child", b"", {"sequence": True}),
    ("create", "/eph", b"", {"ephemeral": True}),
    ("create", "/eph/child"),                      # NoChildrenForEphemerals
    ("create", "/eph/child", b"", {"sequence": True}),
    ("create", "/a/b"),
    ("delete", "/a"),                              # NotEmpty
    ("exists", "/a"),
])

scenario("invalid_paths", [
    ("create", "/x"),
    ("create", "noslash"),
    ("create", ""),
    ("create", "/"),
    ("create", "/x/"),
    ("create", "/x//y"),
    ("create", "//x"),
    ("create", "/x/."),
    ("create", "/x/.."),
    ("create", "/x/./y"),
    ("create", "/x/../y"),
    ("create", "/x/.hidden"),
    ("create", "/x/..dots"),
    ("create", "/x/\u0001ctl"),
    ("create", "/x/nul\u0000"),
    ("create", "/x/\ud7ff"),
    ("create", "/x/\uf8ff"),
    ("create", "/x/\ufff0"),
    ("create", "/x/seq/", b"", {"sequence": True}),
    ("create", "/x/", b"", {"sequence": True}),
    ("get", "noslash"),
    ("get", "/x/"),
    ("exists", "/x//"),
    ("set", "bad", b""),
    ("delete", "/"),
    ("delete", "bad"),
    ("delete", "/x/"),
    ("children", "/x/"),
    ("children", "rel"),
    ("children", "/"),
])

scenario("unicode_and_binary", [
    ("create", "/ünïcødé", "✓".encode()),
    ("create", "/ünïcødé/日本語", bytes(range(256))),
    ("get", "/ünïcødé/日本語"),
    ("children", "/ünïcødé"),
    ("create", "/ünïcødé/ключ-", b"", {"sequence": True}),
    ("create", "/sp ace"),
    ("children", "/"),
    ("set", "/sp ace", b"\x00" * 1000),
    ("get", "/sp ace"),
])

scenario("large_data", [
    ("create", "/big", b"x" * 500_000),
    ("exists", "/big"),
    ("set", "/big", b"y" * 1_000_000),
    ("exists", "/big"),
    ("get", "/big"),
])

scenario("set_errors", [
    ("set", "/none", b"x"),
    ("create", "/v", b"0"),
    ("set", "/v", b"1", {"version": 5}),
    ("set", "/v", b"1", {"version": 0}),
    ("set", "/v", b"2", {"version": 0}),
    ("set", "/v", b"2", {"version": -1}),
    ("set", "/v", b"3", {"version": -2}),
    ("exists", "/v"),
    ("set", "/", b"rootdata"),
    ("get", "/"),
])

scenario("delete_errors", [
    ("delete", "/none"),
    ("create", "/d"),
    ("create", "/d/c"),
    ("delete", "/d"),
    ("delete", "/d/c", {"version": 3}),
    ("delete", "/d/c", {"version": 0}),
    ("delete", "/d/c"),
    ("set", "/d", b"1"),
    ("delete", "/d", {"version": 0}),
    ("delete", "/d", {"version": 1}),
    ("exists", "/d"),
])

scenario("zookeeper_system_nodes", [
    ("exists", "/"),
    ("children", "/"),
    ("get", "/zookeeper"),
    ("children", "/zookeeper"),
    ("get", "/zookeeper/quota"),
    ("children", "/zookeeper/quota"),
    ("exists", "/zookeeper/config"),
    ("acls", "/"),
    ("acls", "/zookeeper"),
    ("create", "/zookeeper"),
    ("delete", "/zookeeper"),
    ("delete", "/zookeeper/quota"),
    ("set", "/zookeeper", b"x"),
])

# --- sequence numbering, cversion, pzxid ---------------------------------------------
scenario("sequence_numbering", [
    ("create", "/s"),
    ("create", "/s/n-", b"", {"sequence": True}),
    ("create", "/s/n-", b"", {"sequence": True}),
    ("create", "/s/plain"),
    ("create", "/s/n-", b"", {"sequence": True}),
    ("delete", "/s/n-0000000003"),
    ("create", "/s/n-", b"", {"sequence": True}),
    ("delete", "/s/n-0000000000"),
    ("delete", "/s/n-0000000001"),
    ("create", "/s/m-", b"", {"sequence": True}),
    ("create", "/s/", b"", {"sequence": True}),
    ("create", "/s/e-", b"", {"sequence": True, "ephemeral": True}),
    ("children", "/s", {"include_data": True}),
    ("create", "/s/n-0000000010"),
    ("create", "/s/n-", b"", {"sequence": True}),
    ("create", "/s/n-", b"", {"sequence": True}),
    ("multi", ("create", "/s/t-", b"", SEQUENTIAL), ("create", "/s/t-", b"", SEQUENTIAL)),
    ("multi", ("create", "/s/t-", b"", SEQUENTIAL), ("create", "/s/n-0000000010")),
    ("create", "/s/t-", b"", {"sequence": True}),
    ("children", "/s", {"include_data": True}),
])

scenario("sequence_after_recreate_parent", [
    ("create", "/r"),
    ("create", "/r/x-", b"", {"sequence": True}),
    ("create", "/r/x-", b"", {"sequence": True}),
    ("delete", "/r/x-0000000000"),
    ("delete", "/r/x-0000000001"),
    ("delete", "/r"),
    ("create", "/r"),
    ("create", "/r/x-", b"", {"sequence": True}),
    ("exists", "/r"),
])

scenario("cversion_pzxid_numchildren", [
    ("create", "/c"),
    ("exists", "/c"),
    ("create", "/c/1"),
    ("exists", "/c"),
    ("set", "/c/1", b"data"),
    ("exists", "/c"),
    ("set", "/c", b"own"),
    ("exists", "/c"),
    ("create", "/c/1/deep"),
    ("exists", "/c"),
    ("exists", "/c/1"),
    ("delete", "/c/1/deep"),
    ("exists", "/c/1"),
    ("create", "/c/2", b"", {"ephemeral": True}),
    ("exists", "/c"),
    ("b.create", "/c/3", b"", {"ephemeral": True}),
    ("b.close",),
    ("exists", "/c"),
    ("children", "/c", {"include_data": True}),
    ("set_acls", "/c", [(ALL, *WORLD)]),
    ("exists", "/c"),
])

scenario("get_children2_stats", [
    ("create", "/g", b"parent"),
    ("children", "/g", {"include_data": True}),
    ("create", "/g/b"),
    ("create", "/g/a"),
    ("create", "/g/c", b"", {"ephemeral": True}),
    ("children", "/g", {"include_data": True}),
    ("children", "/g"),
    ("children", "/g/a", {"include_data": True}),
    ("children", "/missing", {"include_data": True}),
    ("children", "/", {"include_data": True}),
])

# --- multi -------------------------------------------------------------------------
scenario("multi_success", [
    ("create", "/m", b"0"),
    ("multi",
     ("check", "/m", 0),
     ("create", "/m/a", b"A"),
     ("create", "/m/s-", b"", SEQUENTIAL),
     ("set", "/m", b"1", 0),
     ("create", "/m/e", b"", EPHEMERAL),
     ("delete", "/m/a", 0),
     ("set", "/m/e", b"ee")),
    ("exists", "/m"),
    ("children", "/m", {"include_data": True}),
    ("get", "/m/e"),
    ("multi", ("check", "/m", 1)),
    ("multi",),
    ("exists", "/m"),
])

scenario("multi_failures", [
    ("create", "/f", b"0"),
    ("multi", ("create", "/f/a"), ("check", "/f", 9), ("set", "/f", b"x"), ("delete", "/f")),
    ("multi", ("create", "/f/a"), ("create", "/f/a")),
    ("multi", ("delete", "/f/none"), ("create", "/f/b")),
    ("multi", ("create", "/f/c"), ("set", "/f/c", b"", 3)),
    ("multi", ("create", "/f/d"), ("delete", "/f")),
    ("multi", ("create", "/f/e"), ("check", "/f/none", 0)),
    ("multi", ("create", "/nope/x"), ("create", "/f/g")),
    ("multi", ("create", "/f/h", b"", EPHEMERAL), ("create", "/f/h/child")),
    ("multi", ("create", "/f/i"), ("create", "bad")),
    ("multi", ("set", "/f", b"1"), ("set", "/f", b"2", 0)),
    ("exists", "/f"),
    ("children", "/f"),
    ("last_zxid",),
    ("create", "/f/after"),
    ("exists", "/f/after"),
])

scenario("multi_delete_then_create_same_path", [
    ("create", "/mm"),
    ("create", "/mm/x", b"old"),
    ("multi", ("delete", "/mm/x"), ("create", "/mm/x", b"new"), ("set", "/mm/x", b"newer", 0)),
    ("get", "/mm/x"),
    ("exists", "/mm"),
    ("multi", ("delete", "/mm/x"), ("delete", "/mm")),
    ("exists", "/mm"),
])

# --- errors consume zxids -------------------------------------------------------------
scenario("zxid_progression", [
    ("create", "/z"),
    ("last_zxid",),
    ("create", "/z"),           # failed write
    ("last_zxid",),
    ("get", "/z"),
    ("last_zxid",),
    ("set", "/z", b"", {"version": 7}),
    ("last_zxid",),
    ("sync", "/z"),
    ("last_zxid",),
    ("b.exists", "/z"),
    ("b.last_zxid",),
    ("create", "/z/1"),
    ("exists", "/z"),
    ("sync", "/missing"),
    ("sync", "/"),
])

# --- ACLs --------------------------------------------------------------------------------
scenario("acl_ops", [
    ("create", "/acl", b"", {"acl": [(ALL, *WORLD)]}),
    ("acls", "/acl"),
    ("set_acls", "/acl", [(READ | WRITE | ADMIN | CREATE, *WORLD)]),
    ("acls", "/acl"),
    ("set_acls", "/acl", [(ALL, *WORLD)], {"version": 0}),
    ("set_acls", "/acl", [(ALL, *WORLD)], {"version": 1}),
    ("acls", "/acl"),
    ("exists", "/acl"),
    ("acls", "/none"),
    ("set_acls", "/none", [(ALL, *WORLD)]),
    ("create", "/acl/digest", b"", {"acl": [(ALL, "digest", "user:tBNPe1AqUDDq6PE7w/DVHtZzwyM="), (READ, *WORLD)]}),
    ("acls", "/acl/digest"),
    ("get", "/acl/digest"),
    ("set", "/acl/digest", b"no"),
    ("create", "/acl/digest/child"),
    ("delete", "/acl/digest"),
    ("create", "/acl/ip", b"", {"acl": [(ALL, "ip", "127.0.0.1"), (READ, "ip", "10.0.0.0/8")]}),
    ("acls", "/acl/ip"),
    ("set", "/acl/ip", b"ok"),
])

scenario("invalid_acls", [
    ("create", "/ia"),
    ("set_acls", "/ia", []),
    ("create", "/ia/empty", b"", {"acl": []}),
    ("create", "/ia/auth", b"", {"acl": [(ALL, "auth", "")]}),
    ("create", "/ia/scheme", b"", {"acl": [(ALL, "nosuch", "x")]}),
    ("create", "/ia/ip", b"", {"acl": [(ALL, "ip", "not-an-ip")]}),
    ("create", "/ia/digest", b"", {"acl": [(ALL, "digest", "nocolon")]}),
    ("create", "/ia/world", b"", {"acl": [(ALL, "world", "someone")]}),
    ("create", "/ia/perm0", b"", {"acl": [(0, *WORLD)]}),
    ("multi", ("create", "/ia/ok"), ("create", "/ia/x")),
    ("children", "/ia"),
])

scenario("acl_enforcement", [
    ("create", "/ro", b"v", {"acl": [(READ, *WORLD)]}),
    ("get", "/ro"),
    ("set", "/ro", b"w"),
    ("create", "/ro/child"),
    ("set_acls", "/ro", [(ALL, *WORLD)]),
    ("create", "/nr", b"secret", {"acl": [(WRITE | ADMIN, *WORLD)]}),
    ("get", "/nr"),
    ("exists", "/nr"),
    ("children", "/nr"),
    ("acls", "/nr"),
    ("create", "/nd", b"", {"acl": [(READ | CREATE, *WORLD)]}),
    ("create", "/nd/kid"),
    ("delete", "/nd/kid"),
    ("delete", "/nd"),
    ("multi", ("create", "/ok"), ("set", "/ro", b"no")),
])

scenario("auth_digest", [
    ("b.add_auth", "digest", "user:secret"),
    ("b.create", "/secure", b"data", {"acl": [(ALL, "auth", "")]}),
    ("b.acls", "/secure"),
    ("get", "/secure"),
    ("exists", "/secure"),
    ("b.get", "/secure"),
    ("b.set", "/secure", b"new"),
    ("add_auth", "digest", "user:wrong"),
    ("get", "/secure"),
    ("add_auth", "digest", "user:secret"),
    ("get", "/secure"),
    ("set_acls", "/secure", [(ALL, *WORLD)]),
    ("c.get", "/secure"),
    ("b.create", "/secure2", b"", {"acl": [(READ, "auth", ""), (ALL, *WORLD)]}),
    ("b.acls", "/secure2"),
    ("c.create", "/noauth", b"", {"acl": [(ALL, "auth", "")]}),
    ("r1.connect",),
    ("r1.call", "whoAmI", b""),
    ("r1.auth", "digest", "user:secret"),
    ("r1.call", "whoAmI", b""),
    ("r1.call", "getData", path_body("/secure2", enc_bool(False))),
    ("r1.auth", "nosuchscheme", "x"),
    ("r1.check_closed",),
    ("r2.connect",),
    ("r2.auth", "digest", "no-colon"),
    ("r2.check_closed",),
])

scenario("raw_oversized_frame", [
    ("create", "/big0", b"0"),
    ("r1.connect",),
    ("r1.call", "setData", path_body("/big0", enc_buffer(b"x" * 2_000_000), enc_int(-1))),
    ("r1.check_closed",),
    ("exists", "/big0"),
    ("r2.connect", {"session_of": "r1"}),
    ("r2.call", "exists", path_body("/big0", enc_bool(False))),
])

scenario("raw_connect_edge_cases", [
    ("create", "/x"),
    ("r1.connect", {"last_zxid": 0x7FFFFFFF00000000}),
    ("r2.connect", {"session_id": 0x1234567, "timeout_ms": 5000}),
    ("r3.connect", {"timeout_ms": 0}),
    ("r4.connect", {"last_zxid": ZxOf("/x", "czxid")}),
    ("r4.call", "exists", path_body("/x", enc_bool(False))),
    ("r5.connect", {"last_zxid": ZxOf("/x", "czxid", offset=1)}),
])

scenario("many_children", [
    ("create", "/many"),
    ("multi", *[("create", f"/many/c{i:04d}", b"v" * (i % 7)) for i in range(300)]),
    ("children", "/many", {"include_data": True}),
    ("exists", "/many/c0299"),
    ("r1.call", "getAllChildrenNumber", enc_string("/many")),
    ("multi", *[("delete", f"/many/c{i:04d}") for i in range(0, 300, 2)]),
    ("children", "/many", {"include_data": True}),
    ("create", "/many/s-", b"", {"sequence": True}),
])

# --- watches ---------------------------------------------------------------------------------
scenario("watch_data_one_shot", [
    ("create", "/w", b"0"),
    ("b.get", "/w", {"watch": True}),
    ("set", "/w", b"1"),
    ("set", "/w", b"2"),
    ("b.get", "/w", {"watch": True}),
    ("b.get", "/w", {"watch": True}),
    ("set", "/w", b"3"),
    ("set", "/w", b"4"),
])

scenario("watch_exists_all_types", [
    ("b.exists", "/x", {"watch": True}),
    ("create", "/x"),
    ("b.exists", "/x", {"watch": True}),
    ("set", "/x", b"1"),
    ("b.exists", "/x", {"watch": True}),
    ("create", "/x/child"),
    ("delete", "/x/child"),
    ("delete", "/x"),
    ("b.get", "/x", {"watch": True}),      # NoNode: no watch is left
    ("create", "/x"),
    ("b.exists", "/x", {"watch": True}),
    ("delete", "/x"),
])

scenario("watch_children", [
    ("create", "/cw"),
    ("b.children", "/cw", {"watch": True}),
    ("create", "/cw/1"),
    ("b.children", "/cw", {"watch": True, "include_data": True}),
    ("set", "/cw/1", b"x"),
    ("set", "/cw", b"x"),
    ("delete", "/cw/1"),
    ("b.children", "/cw", {"watch": True}),
    ("delete", "/cw"),
    ("b.children", "/cw", {"watch": True}),
    ("create", "/cw"),
])

scenario("watch_delete_with_data_and_child_watch", [
    ("create", "/dw"),
    ("b.get", "/dw", {"watch": True}),
    ("b.children", "/dw", {"watch": True}),
    ("b.exists", "/dw", {"watch": True}),
    ("c.children", "/", {"watch": True}),
    ("delete", "/dw"),
])

scenario("watch_same_client_writes", [
    ("create", "/sw", b"0"),
    ("get", "/sw", {"watch": True}),
    ("children", "/sw", {"watch": True}),
    ("set", "/sw", b"1"),
    ("create", "/sw/c"),
    ("exists", "/sw/c", {"watch": True}),
    ("exists", "/sw/d", {"watch": True}),
    ("multi", ("delete", "/sw/c"), ("create", "/sw/d"), ("set", "/sw", b"2")),
])

scenario("watch_many_clients_and_paths", [
    ("create", "/mw"),
    ("create", "/mw/a"),
    ("b.get", "/mw/a", {"watch": True}),
    ("c.get", "/mw/a", {"watch": True}),
    ("c.exists", "/mw/a", {"watch": True}),
    ("b.children", "/mw", {"watch": True}),
    ("c.exists", "/mw/b", {"watch": True}),
    ("multi", ("set", "/mw/a", b"1"), ("create", "/mw/b"), ("delete", "/mw/b"), ("delete", "/mw/a")),
    ("b.exists", "/mw/a", {"watch": True}),
    ("c.children", "/mw", {"watch": True}),
    ("multi", ("create", "/mw/a"), ("check", "/mw", 99)),   # failed multi fires nothing
    ("create", "/mw/a"),
])

scenario("watch_triggered_by_failed_ops", [
    ("create", "/fw", b"0"),
    ("b.get", "/fw", {"watch": True}),
    ("b.children", "/fw", {"watch": True}),
    ("set", "/fw", b"1", {"version": 9}),
    ("create", "/fw"),
    ("delete", "/fw", {"version": 9}),
    ("create", "/fw/x/y"),
    ("set", "/fw", b"2"),
])

scenario("watch_root_and_sequential", [
    ("b.children", "/", {"watch": True}),
    ("create", "/q"),
    ("b.children", "/q", {"watch": True}),
    ("create", "/q/item-", b"", {"sequence": True}),
    ("b.exists", "/q/item-0000000001", {"watch": True}),
    ("create", "/q/item-", b"", {"sequence": True}),
])

# --- sessions ---------------------------------------------------------------------------------
scenario("ephemeral_cleanup_on_close", [
    ("create", "/base"),
    ("b.create", "/base/e1", b"", {"ephemeral": True}),
    ("b.create", "/base/e-", b"", {"ephemeral": True, "sequence": True}),
    ("b.create", "/top", b"", {"ephemeral": True}),
    ("exists", "/base/e1", {"watch": True}),
    ("get", "/top", {"watch": True}),
    ("children", "/base", {"watch": True}),
    ("children", "/", {"watch": True}),
    ("exists", "/base"),
    ("b.close",),
    ("children", "/base"),
    ("exists", "/base"),
    ("exists", "/top"),
])

scenario("ephemeral_single_close_event_order", [
    ("create", "/one"),
    ("b.create", "/one/e", b"", {"ephemeral": True}),
    ("get", "/one/e", {"watch": True}),
    ("children", "/one", {"watch": True}),
    ("c.exists", "/one/e", {"watch": True}),
    ("b.close",),
    ("exists", "/one"),
])

# The first owner is a raw connection: it does not reconnect by itself, so no
# two connections fight over the session (kazoo clients would, racily).
scenario("session_takeover_and_close", [
    ("r1.connect",),
    ("r1.call", "create", create_body("/e", b"", EPHEMERAL)),
    ("b.exists", "/e", {"watch": True}),
    ("c.connect", {"session_of": "r1"}),
    ("r1.check_closed",),
    ("c.exists", "/e"),
    ("c.create", "/e2", b"", {"ephemeral": True}),
    ("c.close",),
    ("b.exists", "/e"),
    ("b.exists", "/e2"),
    ("r2.connect", {"session_of": "r1"}),
    ("d.connect", {"session_of": "r1"}),
    ("d.exists", "/e"),
])

scenario("raw_session_reconnect_keeps_ephemerals", [
    ("r1.connect",),
    ("r1.call", "create", create_body("/keep", b"k", EPHEMERAL)),
    ("r1.call", "create", create_body("/keep-", b"", EPH_SEQ)),
    ("r1.drop",),
    ("exists", "/keep"),
    ("r2.connect", {"session_of": "r1"}),
    ("r2.call", "exists", path_body("/keep", enc_bool(False))),
    ("r3.connect", {"session_of": "r1", "bad_password": True}),
    ("b.connect", {"session_of": "r1"}),
    ("b.exists", "/keep-0000000001"),
    ("r2.check_closed",),
    ("b.close",),
    ("exists", "/keep"),
    ("children", "/"),
])

scenario("session_expiry", [
    ("r1.connect", {"timeout_ms": 1000}),
    ("r1.call", "create", create_body("/exp", b"", EPHEMERAL)),
    ("r1.call", "create", create_body("/exp-parent", b"", PERSISTENT)),
    ("r1.call", "create", create_body("/exp-parent/e", b"", EPHEMERAL)),
    ("exists", "/exp", {"watch": True}),
    ("children", "/exp-parent", {"watch": True}),
    ("r1.wait_expired",),
    ("exists", "/exp"),
    ("exists", "/exp-parent"),
    ("r2.connect", {"session_of": "r1"}),
])

scenario("session_timeout_negotiation", [
    ("r1.connect", {"timeout_ms": 1}),
    ("r2.connect", {"timeout_ms": 999_999_999}),
    ("r3.connect", {"timeout_ms": 4321}),
    ("r1.close_session",),
    ("r2.close_session",),
    ("r3.ping",),
])

scenario("kazoo_connection_drop_loses_server_watches", [
    ("create", "/dr", b"0"),
    ("create", "/dr-e", b"", {"ephemeral": True}),
    ("get", "/dr", {"watch": True}),
    ("drop",),
    ("exists", "/dr-e"),
    ("b.set", "/dr", b"1"),
    ("get", "/dr", {"watch": True}),
    ("b.set", "/dr", b"2"),
])

scenario("set_watches_after_reconnect", [
    ("create", "/sw1", b"0"),
    ("create", "/sw2", b"0"),
    ("create", "/swp"),
    ("set", "/sw1", b"changed"),
    ("create", "/swp/kid"),
    ("create", "/now-exists"),
    ("r1.connect",),
    ("r1.set_watches", {"rel": ZxOf("/sw1", "czxid"),
                        "data": ["/sw1", "/sw2", "/gone"],
                        "exist": ["/now-exists", "/still-missing"],
                        "child": ["/swp", "/"]}),
    ("set", "/sw2", b"1"),
    ("create", "/still-missing"),
    ("delete", "/now-exists"),
    ("r1.call", "ping", b""),
])

scenario("set_watches_up_to_date", [
    ("create", "/u", b"0"),
    ("create", "/u/c"),
    ("last_zxid",),
    ("r1.connect",),
    ("r1.set_watches", {"rel": ZxOf("/u", "pzxid"), "data": ["/u"], "exist": ["/u/none"], "child": ["/u"]}),
    ("delete", "/u/c"),
    ("set", "/u", b"1"),
    ("create", "/u/none"),
])

# --- raw protocol corners ---------------------------------------------------------------------
scenario("raw_unknown_opcode", [
    ("r1.connect",),
    ("r1.call", 999, b""),
    ("r1.check_closed",),
    ("r2.connect",),
    ("r2.call", -100, b"\x00\x00\x00\x00"),
    ("r2.check_closed",),
    ("r3.connect",),
    ("r3.call", "notification", b""),
    ("r3.check_closed",),
])

scenario("raw_reconfig_standalone", [
    ("r1.connect",),
    ("r1.call", "reconfig", reconfig_body(joining="server.2=127.0.0.1:1:2;3")),
    ("r1.check_closed",),
    ("r2.connect",),
    ("r2.call", "reconfig", reconfig_body()),
    ("r2.check_closed",),
])

scenario("raw_add_watch_persistent", [
    ("create", "/pw"),
    ("r1.connect",),
    ("r1.call", "addWatch", path_body("/pw", enc_int(0))),
    ("set", "/pw", b"1"),
    ("set", "/pw", b"2"),
    ("create", "/pw/kid"),
    ("create", "/pw/kid/grandkid"),
    ("delete", "/pw/kid/grandkid"),
    ("delete", "/pw/kid"),
    ("r1.call", "removeWatches", path_body("/pw", enc_int(3))),
    ("set", "/pw", b"3"),
    ("r1.check_closed",),
])

scenario("raw_add_watch_recursive", [
    ("create", "/rw"),
    ("r1.connect",),
    ("r1.call", "addWatch", path_body("/rw", enc_int(1))),
    ("create", "/rw/a"),
    ("create", "/rw/a/b", b"x"),
    ("set", "/rw/a/b", b"y"),
    ("delete", "/rw/a/b"),
    ("set", "/rw", b"z"),
    ("create", "/rwx"),
    ("r1.call", "addWatch", path_body("/nonexistent", enc_int(1))),
    ("create", "/nonexistent"),
])

scenario("raw_check_and_remove_watches", [
    ("create", "/cr"),
    ("r1.connect",),
    ("r1.call", "checkWatches", path_body("/cr", enc_int(2))),
    ("r1.call", "getData", path_body("/cr", enc_bool(True))),
    ("r1.call", "checkWatches", path_body("/cr", enc_int(2))),
    ("r1.call", "checkWatches", path_body("/cr", enc_int(1))),
    ("r1.call", "removeWatches", path_body("/cr", enc_int(1))),
    ("r1.call", "removeWatches", path_body("/cr", enc_int(2))),
    ("set", "/cr", b"1"),
    ("r1.call", "getChildren", path_body("/cr", enc_bool(True))),
    ("r1.call", "removeWatches", path_body("/cr", enc_int(3))),
    ("create", "/cr/k"),
    ("r1.check_closed",),
])

scenario("raw_create_container_and_ttl", [
    ("r1.connect",),
    ("r1.call", "createContainer", create_body("/cont", b"", CONTAINER)),
    ("r1.call", "create", create_body("/cont2", b"", CONTAINER)),
    ("r1.call", "create2", create_body("/cont3", b"", CONTAINER)),
    ("r1.call", "createTTL", ttl_body("/ttl", b"", TTL, 60000)),
    ("r1.call", "createTTL", ttl_body("/ttl-", b"", TTL_SEQ, 60000)),
    ("r1.call", "create", create_body("/ttl2", b"", TTL)),
    ("r1.check_closed",),
    ("exists", "/cont"),
    ("create", "/cont/kid"),
    ("children", "/"),
])

scenario("raw_get_ephemerals_and_children_number", [
    ("create", "/ge"),
    ("create", "/ge/p"),
    ("r1.connect",),
    ("r1.call", "create", create_body("/ge/e1", b"", EPHEMERAL)),
    ("r1.call", "create", create_body("/ge/p/e2", b"", EPHEMERAL)),
    ("r1.call", "create", create_body("/other", b"", EPHEMERAL)),
    ("create", "/ge/mine", b"", {"ephemeral": True}),
    ("r1.call", "getEphemerals", enc_string("/ge")),
    ("r1.call", "getEphemerals", enc_string("/")),
    ("r1.call", "getEphemerals", enc_string("/none")),
    ("r1.call", "getAllChildrenNumber", enc_string("/ge")),
    ("r1.call", "getAllChildrenNumber", enc_string("/")),
    ("r1.call", "getAllChildrenNumber", enc_string("/none")),
])

scenario("raw_whoami_multiread_and_reads", [
    ("create", "/mr", b"d"),
    ("create", "/mr/k"),
    ("r1.connect",),
    ("r1.call", "whoAmI", b""),
    ("r1.call", "multiRead", multi_read_body(("getData", "/mr"), ("getChildren", "/mr"), ("getData", "/none"))),
    ("r1.call", "getData", path_body("/mr", enc_bool(False))),
    ("r1.call", "getChildren", path_body("/mr", enc_bool(False))),
    ("r1.call", "exists", path_body("/mr/none", enc_bool(False))),
    ("r1.call", "sync", enc_string("/mr")),
    ("r1.call", "getACL", enc_string("/mr")),
    ("r1.call", "create", create_body("/mr/ephemeral-under-persistent", b"", EPHEMERAL)),
    ("r1.call", "multi", multi_read_body(("getData", "/mr"))),
    ("r1.check_closed",),
])

scenario("raw_malformed_requests", [
    ("create", "/mal"),
    ("r1.connect",),
    ("r1.call", "create", enc_string("/mal/x")),          # truncated CreateRequest
    ("r1.check_closed",),
    ("r2.connect",),
    ("r2.call", "getData", b""),                            # empty body
    ("r2.check_closed",),
    ("r3.connect",),
    ("r3.call", "setData", enc_string("/mal") + enc_int(5)),  # truncated SetDataRequest
    ("r3.check_closed",),
    ("children", "/mal"),
])

scenario("raw_set_watches2_persistent", [
    ("create", "/s2", b"0"),
    ("create", "/s2/k"),
    ("r1.connect",),
    ("r1.call", "setWatches2",
     enc_long(0) + enc_strings(["/s2"]) + enc_strings([]) + enc_strings(["/s2"])
     + enc_strings(["/s2/k"]) + enc_strings(["/s2"])),
    ("set", "/s2/k", b"1"),
    ("set", "/s2/k", b"2"),
    ("create", "/s2/k/deep"),
])


def _diff(oracle, cand):
    a, b = format_transcript(oracle), format_transcript(cand)
    return "\n".join(difflib.unified_diff(a, b, "zookeeper", "candidate", lineterm="", n=3))


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_scenario(name, oracle_and_candidate, request):
    zk_server, cand_server = oracle_and_candidate
    steps = SCENARIOS[name]
    oracle = Runner(zk_server).run(steps)
    cand = Runner(cand_server).run(steps)
    if request.config.getoption("-v") > 1:
        print("\n".join(format_transcript(oracle)))
    if oracle != cand:
        pytest.fail(
            f"scenario {name}: {cand_server.kind} differs from Apache ZooKeeper\n"
            + _diff(oracle, cand)
            + "\n\nfull oracle transcript:\n"
            + "\n".join(format_transcript(oracle)),
            pytrace=False,
        )


def dump_scenario(name, server):
    """Debug helper: python -c 'import test_differential as t; ...'"""
    return json.dumps(Runner(server).run(SCENARIOS[name]), indent=1, default=str)
