"""Differential runner: one scripted scenario, run step by step against a
server, produces a normalised transcript. Run against Apache ZooKeeper and
ferrokeeper, the transcripts must be equal.

A scenario is a list of steps. A step is a tuple `(op, *args)` with an
optional trailing dict of keyword arguments. `op` is "client.verb"; the
client defaults to "a". Clients whose name starts with "r" are raw wire
connections (rawzk), the others are kazoo clients; both are created on
first use.

Kazoo verbs (requests are built from kazoo's protocol records and sent
without kazoo's client-side path normalisation):
  create path [data] {ephemeral, sequence, acl, include_data, container}
  get path {watch}          exists path {watch}        children path {watch, include_data}
  set path data {version}   delete path {version}      acls path
  set_acls path acls {version}                          sync path
  multi [(kind, ...)...]    kind: create path data flags | delete path version
                                  | set path data version | check path version
  connect {session_of, timeout}   close   drop   wait_state STATE
  last_zxid                 (records the zxid of the last reply)
Raw verbs:
  connect {session_of, bad_password, timeout_ms}  call opcode body   ping
  set_watches {rel, data, exist, child}             drop   close_session
  check_closed               wait_expired

After every step each live client does a round trip (exists "/") and
kazoo's callback queue is drained, so the watch events that step caused
are recorded with it, in arrival order, both as frames on the wire and as
kazoo watch callbacks.

Normalisation: ctime/mtime are dropped; every zxid (czxid, mzxid, pzxid, the
reply header's zxid) becomes "z<rank>" — its rank among all zxids seen in
the transcript — so only their order and equalities are compared; zxid 0
stays 0; ephemeralOwner becomes the name of the client that owns the session.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from kazoo.client import KazooClient
from kazoo.exceptions import KazooException
from kazoo.handlers.threading import KazooTimeoutError
from kazoo.protocol.connection import _CONNECTION_DROP
from kazoo.protocol.serialization import (
    CheckVersion,
    Create,
    Create2,
    Delete,
    Exists,
    GetACL,
    GetChildren,
    GetChildren2,
    GetData,
    SetACL,
    SetData,
    Sync,
    Transaction,
)
from kazoo.protocol.states import KazooState
from kazoo.security import ACL, Id

import rawzk
from kazoo_util import WireLog, flush_callbacks

FLAG = {"ephemeral": 1, "sequence": 2, "container": 4}

# Steps that end a session. Apache ZooKeeper deletes the session's ephemerals
# in the iteration order of a Java HashSet, so the order of the notifications
# across different nodes is not part of the contract: they are compared as a
# sorted list. (Scenarios with a single ephemeral still check that a node's
# NodeDeleted comes before its parent's NodeChildrenChanged.)
UNORDERED_VERBS = {"close", "close_session", "wait_expired"}
OPEN = [ACL(31, Id("world", "anyone"))]


@dataclass(frozen=True)
class Zx:
    """A zxid seen in the transcript; replaced by its rank at the end."""

    value: int

    def __repr__(self):
        return f"Zx({self.value:#x})"


@dataclass(frozen=True)
class ZxOf:
    """A reference, resolved at run time, to a node's zxid field (for setWatches)."""

    path: str
    field: str = "mzxid"
    offset: int = 0
    via: str = "a"


@dataclass(frozen=True)
class Session:
    name: str

    def __repr__(self):
        return f"session:{self.name}"


def acl_list(spec):
    """[(perms, scheme, id), ...] -> kazoo ACLs."""
    if spec is None:
        return OPEN
    return [ACL(p, Id(s, i)) for p, s, i in spec]


class Runner:
    def __init__(self, server, step_timeout: float = 8.0):
        self.server = server
        self.step_timeout = step_timeout
        self.kazoo: dict[str, KazooClient] = {}
        self.wire: dict[str, WireLog] = {}
        self.callbacks: dict[str, list] = {}
        self.states: dict[str, list] = {}
        self.reply_zxid: dict[str, int] = {}
        self.raw: dict[str, rawzk.RawConnection | None] = {}
        self.sessions: dict[int, str] = {}  # session id -> first owner name
        self.transcript: list = []

    # -- clients ---------------------------------------------------------
    def _note_session(self, name, sid):
        if sid:
            self.sessions.setdefault(sid, name)

    def _kazoo(self, name, **kw) -> KazooClient:
        c = self.kazoo.get(name)
        if c is None:
            c = self._start_kazoo(name, **kw)
        return c

    def _start_kazoo(self, name, session_of=None, timeout=10.0):
        kwargs = {"timeout": timeout}
        if session_of is not None:
            kwargs["client_id"] = self._session_credentials(session_of)
        c = KazooClient(hosts=self.server.hosts, **kwargs)
        self.wire[name] = WireLog(c)
        self.callbacks.setdefault(name, [])
        self.states[name] = []
        c.add_listener(self.states[name].append)
        conn = c._connection
        orig = conn._read_response

        def read_response(header, buffer, offset, _name=name):
            self.reply_zxid[_name] = header.zxid
            return orig(header, buffer, offset)

        conn._read_response = read_response
        c.start(timeout=self.step_timeout)
        self.kazoo[name] = c
        self._note_session(name, c.client_id[0])
        return c

    def _session_credentials(self, name):
        if name in self.kazoo:
            sid, passwd = self.kazoo[name].client_id
            return (sid, passwd)
        conn = self.raw_creds[name]
        return conn

    @property
    def raw_creds(self):
        if not hasattr(self, "_raw_creds"):
            self._raw_creds = {}
        return self._raw_creds

    def _rawconn(self, name) -> rawzk.RawConnection:
        conn = self.raw.get(name)
        if conn is None:
            conn = self._raw_connect(name)
        return conn

    def _raw_connect(self, name, session_of=None, bad_password=False, timeout_ms=10000,
                     session_id=0, last_zxid=0):
        sid, passwd = session_id, b"\0" * 16
        if session_of is not None:
            sid, passwd = self._session_credentials(session_of)
            if bad_password:
                passwd = bytes(b ^ 0xFF for b in passwd)
        conn = rawzk.RawConnection.connect(
            self.server.address,
            timeout=self.step_timeout,
            session_timeout_ms=timeout_ms,
            session_id=sid,
            passwd=passwd,
            last_zxid=self.resolve(last_zxid),
        )
        self.raw[name] = conn
        self.raw_creds[name] = (conn.session_id, conn.passwd)
        self._note_session(name, conn.session_id)
        return conn

    # -- value normalisation ------------------------------------------------
    def stat(self, st):
        if st is None:
            return None
        if isinstance(st, dict):
            d = dict(st)
        else:
            d = st._asdict()
        owner = d["ephemeralOwner"]
        return {
            "czxid": Zx(d["czxid"]),
            "mzxid": Zx(d["mzxid"]),
            "pzxid": Zx(d["pzxid"]),
            "version": d["version"],
            "cversion": d["cversion"],
            "aversion": d["aversion"],
            "ephemeralOwner": 0 if owner == 0 else Session(self.sessions.get(owner, f"unknown-{owner:#x}")),
            "dataLength": d["dataLength"],
            "numChildren": d["numChildren"],
        }

    def value(self, v):
        """Normalise a kazoo result."""
        if isinstance(v, BaseException):
            return {"error": type(v).__name__}
        if hasattr(v, "_fields") and "czxid" in v._fields:
            return self.stat(v)
        if isinstance(v, tuple) and len(v) == 2 and hasattr(v[1], "_fields") and "czxid" in v[1]._fields:
            first = v[0]
            if isinstance(first, list) and first and isinstance(first[0], ACL):
                first = sorted((a.perms, a.id.scheme, a.id.id) for a in first)
            elif isinstance(first, list):
                first = sorted(first)
            return [first, self.stat(v[1])]
        if isinstance(v, list):
            if v and isinstance(v[0], str):
                return sorted(v)
            return [self.value(x) for x in v]
        return v

    # -- running ----------------------------------------------------------
    def run(self, steps) -> list:
        """Run all steps; a step that times out ends the run (recorded as such)."""
        try:
            for i, step in enumerate(steps):
                try:
                    self.transcript.append(self._run_step(i, step))
                except (KazooTimeoutError, TimeoutError) as e:
                    op, args, kwargs = split_step(step)
                    self.transcript.append({
                        "step": i, "op": op, "args": describe_args(args, kwargs),
                        "result": {"aborted": type(e).__name__},
                    })
                    break
        finally:
            self.close_all()
        return normalise(self.transcript)

    def _run_step(self, i, step):
        op, args, kwargs = split_step(step)
        client, _, verb = op.rpartition(".")
        client = client or "a"
        raw = client.startswith("r")
        try:
            if raw:
                result = getattr(self, f"raw_{verb}")(client, *args, **kwargs)
            else:
                result = getattr(self, f"k_{verb}")(client, *args, **kwargs)
        except KazooException as e:
            result = {"error": type(e).__name__}
        except rawzk.ConnectionClosed:
            result = {"error": "ConnectionClosed"}
        except rawzk.ProtocolError as e:
            result = {"error": "ProtocolError", "detail": str(e).split(":")[0]}
        except TimeoutError:
            raise
        except OSError:  # e.g. connection reset by the server
            result = {"error": "ConnectionClosed"}
        if not raw and verb not in ("close", "connect", "drop", "wait_state", "last_zxid", "add_auth"):
            rz = self.reply_zxid.get(client)
            result = {"result": result, "rz": Zx(rz) if rz is not None and rz > 0 else rz}
        record = {"step": i, "op": f"{client}.{verb}", "args": describe_args(args, kwargs), "result": result}
        events = self._barrier(unordered=verb in UNORDERED_VERBS)
        if events:
            record["events"] = events
        return record

    def _barrier(self, unordered=False):
        out = {}
        for name, c in list(self.kazoo.items()):
            if c._stopped.is_set():
                continue
            try:
                res = c.handler.async_result()
                c._call(Exists("/", None), res)
                res.get(timeout=self.step_timeout)
            except KazooTimeoutError:
                raise
            except Exception:
                pass
            try:
                flush_callbacks(c)
            except TimeoutError:
                pass
            wire = self.wire[name].take_events()
            if unordered:
                wire = sorted(wire)
            # kazoo keeps watchers in sets: callbacks of one notification run
            # in arbitrary order, so compare them as a sorted list (the wire
            # list keeps the server's order)
            cbs = sorted(self.callbacks[name], key=repr)
            self.callbacks[name][:] = []
            if wire or cbs:
                out[name] = {"wire": wire, "callbacks": cbs}
        for name, conn in list(self.raw.items()):
            if conn is None:
                continue
            try:
                conn.exists("/")
            except TimeoutError:
                raise
            except (OSError, rawzk.ProtocolError):
                pass
            if conn.events:
                wire = [(rawzk_event_name(e.type), e.path) for e in conn.events]
                out[name] = {"wire": sorted(wire) if unordered else wire}
                conn.events.clear()
        return out

    def close_all(self):
        for c in self.kazoo.values():
            try:
                c.stop()
                c.close()
            except Exception:
                pass
        for conn in self.raw.values():
            if conn is not None:
                conn.close()

    # -- kazoo verbs ---------------------------------------------------------
    def _call(self, client, request):
        c = self._kazoo(client)
        res = c.handler.async_result()
        c._call(request, res)
        try:
            return self.value(res.get(timeout=self.step_timeout))
        except KazooException as e:
            return {"error": type(e).__name__}

    def _watcher(self, client, kind):
        lst = self.callbacks.setdefault(client, [])

        def watcher(event):
            lst.append((kind, event.type, event.path))

        return watcher

    def k_connect(self, client, session_of=None, timeout=10.0):
        c = self._start_kazoo(client, session_of=session_of, timeout=timeout)
        # when the server refuses the session (expired), kazoo opens a new one:
        # the session name is then the client's own
        return {"session": Session(self.sessions.get(c.client_id[0], "?"))}

    def k_create(self, client, path, data=b"", ephemeral=False, sequence=False, container=False,
                 acl=None, include_data=False):
        flags = (FLAG["ephemeral"] if ephemeral else 0) | (FLAG["sequence"] if sequence else 0)
        flags |= FLAG["container"] if container else 0
        cls = Create2 if include_data else Create
        return self._call(client, cls(path, data, acl_list(acl), flags))

    def k_get(self, client, path, watch=False):
        return self._call(client, GetData(path, self._watcher(client, "data") if watch else None))

    def k_exists(self, client, path, watch=False):
        return self._call(client, Exists(path, self._watcher(client, "exists") if watch else None))

    def k_children(self, client, path, watch=False, include_data=False):
        w = self._watcher(client, "child") if watch else None
        return self._call(client, (GetChildren2 if include_data else GetChildren)(path, w))

    def k_set(self, client, path, data, version=-1):
        return self._call(client, SetData(path, data, version))

    def k_delete(self, client, path, version=-1):
        return self._call(client, Delete(path, version))

    def k_acls(self, client, path):
        return self._call(client, GetACL(path))

    def k_set_acls(self, client, path, acls, version=-1):
        return self._call(client, SetACL(path, acl_list(acls), version))

    def k_sync(self, client, path):
        return self._call(client, Sync(path))

    def k_multi(self, client, *ops):
        records = []
        for op in ops:
            kind, rest = op[0], op[1:]
            if kind == "create":
                path = rest[0]
                data = rest[1] if len(rest) > 1 else b""
                flags = rest[2] if len(rest) > 2 else 0
                records.append(Create(path, data, OPEN, flags))
            elif kind == "delete":
                records.append(Delete(rest[0], rest[1] if len(rest) > 1 else -1))
            elif kind == "set":
                records.append(SetData(rest[0], rest[1], rest[2] if len(rest) > 2 else -1))
            elif kind == "check":
                records.append(CheckVersion(*rest))
            else:
                raise ValueError(kind)
        return self._call(client, Transaction(records))

    def k_add_auth(self, client, scheme, credential):
        c = self._kazoo(client)
        try:
            return c.add_auth_async(scheme, credential).get(timeout=self.step_timeout)
        except KazooException as e:
            return {"error": type(e).__name__, "state": c.client_state}

    def k_close(self, client):
        c = self.kazoo[client]
        c.stop()
        c.close()
        return "closed"

    def k_drop(self, client):
        """kazoo's test hook: drop the TCP connection; kazoo reconnects to the same session."""
        c = self.kazoo[client]
        states = self.states[client]
        n = len(states)
        c._call(_CONNECTION_DROP, None)
        deadline = time.monotonic() + self.step_timeout
        while time.monotonic() < deadline:
            seen = states[n:]
            if KazooState.SUSPENDED in seen and seen[-1] == KazooState.CONNECTED:
                break
            time.sleep(0.02)
        return {"states": [s for s in states[n:]], "same_session": self.sessions.get(c.client_id[0]) == client}

    def k_wait_state(self, client, state, timeout=15.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if state in self.states[client]:
                return {"reached": state}
            time.sleep(0.02)
        return {"not_reached": state}

    def k_last_zxid(self, client):
        return Zx(self.reply_zxid.get(client, 0))

    # -- raw verbs ------------------------------------------------------------
    def raw_connect(self, client, session_of=None, bad_password=False, timeout_ms=10000,
                    session_id=0, last_zxid=0):
        conn = self._raw_connect(client, session_of, bad_password, timeout_ms, session_id, last_zxid)
        return {"session": Session(self.sessions.get(conn.session_id, "?")), "timeout": conn.timeout_ms}

    def raw_call(self, client, opcode, body=b""):
        conn = self._rawconn(client)
        code = rawzk.OP[opcode] if isinstance(opcode, str) else opcode
        reply = conn.call(code, body)
        return {
            "err": reply.err_name,
            "zxid": Zx(reply.zxid) if reply.zxid > 0 else reply.zxid,
            "body": decode_body(self, code, reply),
        }

    def raw_auth(self, client, scheme, credential):
        body = rawzk.enc_int(0) + rawzk.enc_string(scheme) + rawzk.enc_buffer(credential.encode())
        reply = self._rawconn(client).call(rawzk.OP["auth"], body, xid=rawzk.AUTH_XID)
        return {"xid": reply.xid, "err": reply.err_name}

    def raw_ping(self, client):
        reply = self._rawconn(client).ping()
        return {"xid": reply.xid, "err": reply.err_name}

    def raw_set_watches(self, client, rel=0, data=(), exist=(), child=()):
        rel_zxid = self.resolve(rel)
        reply = self._rawconn(client).set_watches(rel_zxid, data, exist, child)
        return {"xid": reply.xid, "err": reply.err_name}

    def raw_drop(self, client):
        self.raw[client].close()
        self.raw[client] = None
        return "dropped"

    def raw_close_session(self, client):
        conn = self.raw[client]
        reply = conn.close_session()
        self.raw[client] = None
        closed = conn.is_closed(wait=2.0)
        conn.close()
        return {"err": reply.err_name if reply else None, "closed": closed}

    def raw_check_closed(self, client, wait=1.0):
        conn = self.raw[client]
        closed = conn.is_closed(wait=wait)
        if closed:
            conn.close()
            self.raw[client] = None
        return {"closed": closed}

    def raw_wait_expired(self, client, timeout=15.0):
        """Send nothing (no pings) and wait for the server to expire the session."""
        conn = self.raw[client]
        closed = conn.is_closed(wait=timeout)
        conn.close()
        self.raw[client] = None
        return {"closed": closed}

    def resolve(self, ref):
        if isinstance(ref, ZxOf):
            st = self._kazoo(ref.via).exists(ref.path)
            return getattr(st, ref.field) + ref.offset
        return ref


def rawzk_event_name(t):
    return {1: "NodeCreated", 2: "NodeDeleted", 3: "NodeDataChanged", 4: "NodeChildrenChanged",
            5: "DataWatchRemoved", 6: "ChildWatchRemoved", 7: "PersistentWatchRemoved"}.get(t, t)


def decode_body(runner, code, reply):
    if reply.err != 0 or not reply.body:
        return reply.body.hex() if reply.body else None
    r = rawzk.Reader(reply.body)
    try:
        if code == rawzk.OP["create"]:
            out = r.string()
        elif code in (rawzk.OP["create2"], rawzk.OP["createTTL"], rawzk.OP["createContainer"]):
            out = [r.string(), runner.stat(r.stat())]
        elif code == rawzk.OP["sync"]:
            out = r.string()
        elif code == rawzk.OP["getACL"]:
            acls = sorted((r.int(), r.string(), r.string()) for _ in range(r.int()))
            out = [acls, runner.stat(r.stat())]
        elif code in (rawzk.OP["exists"], rawzk.OP["setData"], rawzk.OP["setACL"]):
            out = runner.stat(r.stat())
        elif code == rawzk.OP["getData"]:
            out = [r.buffer(), runner.stat(r.stat())]
        elif code in (rawzk.OP["getChildren"], rawzk.OP["getEphemerals"]):
            out = sorted(r.strings())
        elif code == rawzk.OP["getAllChildrenNumber"]:
            out = r.int()
        elif code == rawzk.OP["whoAmI"]:
            # ClientInfo list; its order is not part of the contract
            out = sorted((r.string(), r.string()) for _ in range(r.int()))
        elif code in (rawzk.OP["multi"], rawzk.OP["multiRead"]):
            out = []
            while True:
                typ, done, err = r.int(), r.bool(), r.int()
                if done:
                    break
                if typ == -1:
                    out.append(("error", rawzk.ERR_NAMES.get(r.int(), err)))
                elif typ == rawzk.OP["getData"]:
                    out.append(("getData", r.buffer(), runner.stat(r.stat())))
                elif typ == rawzk.OP["getChildren"]:
                    out.append(("getChildren", sorted(r.strings())))
                elif typ in (rawzk.OP["create"],):
                    out.append(("create", r.string()))
                elif typ in (rawzk.OP["create2"],):
                    out.append(("create2", r.string(), runner.stat(r.stat())))
                elif typ == rawzk.OP["setData"]:
                    out.append(("setData", runner.stat(r.stat())))
                else:
                    out.append((typ,))
        else:
            return reply.body.hex()
        if r.remaining():
            return {"decoded": out, "trailing": r.data[r.pos:].hex()}
        return out
    except rawzk.ProtocolError:
        return reply.body.hex()


def split_step(step):
    if isinstance(step, str):
        step = (step,)
    op, rest = step[0], list(step[1:])
    kwargs = {}
    if rest and isinstance(rest[-1], dict):
        kwargs = rest.pop()
    return op, rest, kwargs


def describe_args(args, kwargs):
    parts = [repr(a) if not isinstance(a, bytes) or len(a) <= 64 else f"<{len(a)} bytes>" for a in args]
    parts += [f"{k}={v!r}" for k, v in kwargs.items()]
    return ", ".join(parts)


def normalise(transcript):
    """Replace Zx markers by ranks and Session markers by names."""
    seen = set()

    def collect(x):
        if isinstance(x, Zx):
            if x.value > 0:
                seen.add(x.value)
        elif isinstance(x, dict):
            for v in x.values():
                collect(v)
        elif isinstance(x, (list, tuple)):
            for v in x:
                collect(v)

    collect(transcript)
    rank = {v: i + 1 for i, v in enumerate(sorted(seen))}

    def conv(x):
        if isinstance(x, Zx):
            return f"z{rank[x.value]}" if x.value > 0 else x.value
        if isinstance(x, Session):
            return repr(x)
        if isinstance(x, dict):
            return {k: conv(v) for k, v in x.items()}
        if isinstance(x, tuple):
            return tuple(conv(v) for v in x)
        if isinstance(x, list):
            return [conv(v) for v in x]
        return x

    return conv(transcript)


def format_transcript(t) -> list[str]:
    lines = []
    for rec in t:
        lines.append(f"{rec['step']:03d} {rec['op']}({rec['args']}) -> {rec['result']!r}")
        for name, ev in sorted(rec.get("events", {}).items()):
            lines.append(f"      events {name}: {ev!r}")
    return lines
