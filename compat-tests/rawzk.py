"""A minimal raw ZooKeeper wire client (jute over TCP), for requests that
kazoo cannot send: unknown opcodes, reconfig/addWatch, setWatches with a
chosen relativeZxid, paths kazoo would reject, and for the readiness probe.

Records follow zookeeper-jute/src/main/resources/zookeeper.jute.
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass

# ZooDefs.OpCode
OP = {
    "notification": 0,
    "create": 1,
    "delete": 2,
    "exists": 3,
    "getData": 4,
    "setData": 5,
    "getACL": 6,
    "setACL": 7,
    "getChildren": 8,
    "sync": 9,
    "ping": 11,
    "getChildren2": 12,
    "check": 13,
    "multi": 14,
    "create2": 15,
    "reconfig": 16,
    "checkWatches": 17,
    "removeWatches": 18,
    "createContainer": 19,
    "deleteContainer": 20,
    "createTTL": 21,
    "multiRead": 22,
    "auth": 100,
    "setWatches": 101,
    "sasl": 102,
    "getEphemerals": 103,
    "getAllChildrenNumber": 104,
    "setWatches2": 105,
    "addWatch": 106,
    "whoAmI": 107,
    "createSession": -10,
    "closeSession": -11,
}

NOTIFICATION_XID = -1
PING_XID = -2
AUTH_XID = -4
SET_WATCHES_XID = -8

# KeeperException.Code, for readable transcripts
ERR_NAMES = {
    0: "OK",
    -1: "SYSTEMERROR",
    -2: "RUNTIMEINCONSISTENCY",
    -3: "DATAINCONSISTENCY",
    -4: "CONNECTIONLOSS",
    -5: "MARSHALLINGERROR",
    -6: "UNIMPLEMENTED",
    -7: "OPERATIONTIMEOUT",
    -8: "BADARGUMENTS",
    -13: "NEWCONFIGNOQUORUM",
    -14: "RECONFIGINPROGRESS",
    -15: "UNKNOWNSESSION",
    -100: "APIERROR",
    -101: "NONODE",
    -102: "NOAUTH",
    -103: "BADVERSION",
    -108: "NOCHILDRENFOREPHEMERALS",
    -110: "NODEEXISTS",
    -111: "NOTEMPTY",
    -112: "SESSIONEXPIRED",
    -113: "INVALIDCALLBACK",
    -114: "INVALIDACL",
    -115: "AUTHFAILED",
    -118: "SESSIONMOVED",
    -119: "NOTREADONLY",
    -120: "EPHEMERALONLOCALSESSION",
    -121: "NOWATCHER",
    -122: "REQUESTTIMEOUT",
    -123: "RECONFIGDISABLED",
    -124: "SESSIONCLOSEDREQUIRESASLAUTH",
    -125: "QUOTAEXCEEDED",
    -127: "THROTTLEDOP",
}

OPEN_ACL_UNSAFE = [(0x1F, "world", "anyone")]


class ProtocolError(Exception):
    pass


class ConnectionClosed(ProtocolError):
    pass


# -- jute encoding --------------------------------------------------------
def enc_int(v: int) -> bytes:
    return struct.pack(">i", v)


def enc_long(v: int) -> bytes:
    return struct.pack(">q", v)


def enc_bool(v: bool) -> bytes:
    return b"\x01" if v else b"\x00"


def enc_buffer(b: bytes | None) -> bytes:
    if b is None:
        return enc_int(-1)
    return enc_int(len(b)) + b


def enc_string(s: str | None) -> bytes:
    return enc_buffer(None if s is None else s.encode())


def enc_strings(items: list[str]) -> bytes:
    return enc_int(len(items)) + b"".join(enc_string(s) for s in items)


def enc_acls(acls) -> bytes:
    out = enc_int(len(acls))
    for perms, scheme, ident in acls:
        out += enc_int(perms) + enc_string(scheme) + enc_string(ident)
    return out


class Reader:
    def __init__(self, data: bytes):
        self.data = data
        self.pos = 0

    def _take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise ProtocolError(f"short buffer: need {n} at {self.pos}/{len(self.data)}")
        b = self.data[self.pos : self.pos + n]
        self.pos += n
        return b

    def int(self) -> int:
        return struct.unpack(">i", self._take(4))[0]

    def long(self) -> int:
        return struct.unpack(">q", self._take(8))[0]

    def bool(self) -> bool:
        return self._take(1) != b"\x00"

    def buffer(self) -> bytes | None:
        n = self.int()
        if n < 0:
            return None
        return self._take(n)

    def string(self) -> str | None:
        b = self.buffer()
        return None if b is None else b.decode()

    def strings(self) -> list[str]:
        n = self.int()
        return [self.string() for _ in range(max(n, 0))]

    def stat(self) -> dict:
        keys = (
            ("czxid", "long"),
            ("mzxid", "long"),
            ("ctime", "long"),
            ("mtime", "long"),
            ("version", "int"),
            ("cversion", "int"),
            ("aversion", "int"),
            ("ephemeralOwner", "long"),
            ("dataLength", "int"),
            ("numChildren", "int"),
            ("pzxid", "long"),
        )
        return {k: getattr(self, t)() for k, t in keys}

    def remaining(self) -> int:
        return len(self.data) - self.pos


@dataclass
class Reply:
    xid: int
    zxid: int
    err: int
    body: bytes

    @property
    def err_name(self) -> str:
        return ERR_NAMES.get(self.err, str(self.err))


@dataclass
class Event:
    type: int
    state: int
    path: str


class RawConnection:
    """One ZooKeeper session over a plain socket. Synchronous."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.xid = 0
        self.session_id = 0
        self.passwd = b"\x00" * 16
        self.timeout_ms = 0
        self.events: list[Event] = []

    @classmethod
    def connect(
        cls,
        address,
        timeout: float = 5.0,
        session_timeout_ms: int = 10000,
        session_id: int = 0,
        passwd: bytes = b"\x00" * 16,
        last_zxid: int = 0,
    ) -> "RawConnection":
        sock = socket.create_connection(address, timeout=timeout)
        conn = cls(sock)
        try:
            body = (
                enc_int(0)  # protocolVersion
                + enc_long(last_zxid)
                + enc_int(session_timeout_ms)
                + enc_long(session_id)
                + enc_buffer(passwd)
                + enc_bool(False)  # readOnly
            )
            conn.send_frame(body)
            frame = conn.recv_frame()
            r = Reader(frame)
            r.int()  # protocolVersion
            conn.timeout_ms = r.int()
            conn.session_id = r.long()
            conn.passwd = r.buffer() or b""
            if conn.timeout_ms <= 0:
                raise ProtocolError("session refused (timeout <= 0: expired/invalid)")
        except BaseException:
            sock.close()
            raise
        return conn

    # -- framing ---------------------------------------------------------
    def send_frame(self, body: bytes) -> None:
        self.sock.sendall(enc_int(len(body)) + body)

    def _recv_exact(self, n: int) -> bytes:
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise ConnectionClosed("connection closed by server")
            buf += chunk
        return buf

    def recv_frame(self) -> bytes:
        (n,) = struct.unpack(">i", self._recv_exact(4))
        if n < 0 or n > 64 * 1024 * 1024:
            raise ProtocolError(f"bad frame length {n}")
        return self._recv_exact(n)

    # -- requests --------------------------------------------------------
    def next_xid(self) -> int:
        self.xid += 1
        return self.xid

    def send(self, opcode: int, body: bytes = b"", xid: int | None = None) -> int:
        if xid is None:
            xid = self.next_xid()
        self.send_frame(enc_int(xid) + enc_int(opcode) + body)
        return xid

    def recv_reply(self) -> Reply:
        """Next non-notification reply; notifications go to self.events."""
        while True:
            r = Reader(self.recv_frame())
            xid, zxid, err = r.int(), r.long(), r.int()
            if xid == NOTIFICATION_XID:
                self.events.append(Event(r.int(), r.int(), r.string()))
                continue
            return Reply(xid, zxid, err, r.data[r.pos :])

    def call(self, opcode: int, body: bytes = b"", xid: int | None = None) -> Reply:
        self.send(opcode, body, xid)
        return self.recv_reply()

    def is_closed(self, wait: float = 1.0) -> bool:
        """True when the server has closed the connection (EOF/reset)."""
        old = self.sock.gettimeout()
        self.sock.settimeout(wait)
        try:
            data = self.sock.recv(1, socket.MSG_PEEK)
            return data == b""
        except socket.timeout:
            return False
        except OSError:
            return True
        finally:
            try:
                self.sock.settimeout(old)
            except OSError:
                pass

    # -- helpers for common ops -------------------------------------------
    def create(self, path: str, data: bytes = b"", flags: int = 0, acls=None) -> Reply:
        return self.call(
            OP["create"],
            enc_string(path)
            + enc_buffer(data)
            + enc_acls(OPEN_ACL_UNSAFE if acls is None else acls)
            + enc_int(flags),
        )

    def get_data(self, path: str, watch: bool = False) -> Reply:
        return self.call(OP["getData"], enc_string(path) + enc_bool(watch))

    def exists(self, path: str, watch: bool = False) -> Reply:
        return self.call(OP["exists"], enc_string(path) + enc_bool(watch))

    def get_children(self, path: str, watch: bool = False) -> Reply:
        return self.call(OP["getChildren"], enc_string(path) + enc_bool(watch))

    def set_data(self, path: str, data: bytes, version: int = -1) -> Reply:
        return self.call(OP["setData"], enc_string(path) + enc_buffer(data) + enc_int(version))

    def delete(self, path: str, version: int = -1) -> Reply:
        return self.call(OP["delete"], enc_string(path) + enc_int(version))

    def set_watches(self, relative_zxid: int, data=(), exist=(), child=()) -> Reply:
        body = (
            enc_long(relative_zxid)
            + enc_strings(list(data))
            + enc_strings(list(exist))
            + enc_strings(list(child))
        )
        return self.call(OP["setWatches"], body, xid=SET_WATCHES_XID)

    def ping(self) -> Reply:
        return self.call(OP["ping"], b"", xid=PING_XID)

    def close_session(self) -> Reply | None:
        try:
            return self.call(OP["closeSession"])
        except (OSError, ProtocolError):
            return None

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass
