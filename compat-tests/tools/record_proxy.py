#!/usr/bin/python3
"""Recording TCP proxy for the ZooKeeper client protocol, and the golden-fixture capture.

Every packet on the client port is a 4-byte big-endian length followed by that many
bytes. The proxy forwards both directions unchanged and logs each complete frame
(length included) with what it is: the connect request/response (first frame each
way), a request (RequestHeader xid/type), a reply (matched to its request by xid,
so it carries the request's opcode), a notification (xid -1) or a ping (xid -2).

Two uses:

  record_proxy.py proxy --listen 127.0.0.1:2182 --upstream 127.0.0.1:2181 --log frames.jsonl
      Proxy forever, appending one JSON object per frame to the log.

  record_proxy.py golden --out tests/fixtures/golden
      Start Debian's Apache ZooKeeper 3.8 on a free port with a temp data dir, run a
      kazoo scenario and a zkCli.sh scenario through the proxy, and write each
      captured frame to <out>/<name>.bin plus <out>/index.tsv
      (file, kind, opcode, note) for tests/golden_frames.rs.

Run with the system python (/usr/bin/python3) where python3-kazoo is installed.
"""

import argparse
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

NOTIFICATION_XID, PING_XID, AUTH_XID, SET_WATCHES_XID = -1, -2, -4, -8

OP_NAMES = {
    0: "notification", 1: "create", 2: "delete", 3: "exists", 4: "getData", 5: "setData",
    6: "getACL", 7: "setACL", 8: "getChildren", 9: "sync", 11: "ping", 12: "getChildren2",
    13: "check", 14: "multi", 15: "create2", 16: "reconfig", 17: "checkWatches",
    18: "removeWatches", 19: "createContainer", 20: "deleteContainer", 21: "createTTL",
    22: "multiRead", 100: "auth", 101: "setWatches", 102: "sasl", 103: "getEphemerals",
    104: "getAllChildrenNumber", 105: "setWatches2", 106: "addWatch", 107: "whoAmI",
    -10: "createSession", -11: "closeSession", -1: "error",
}


class Frame:
    """One logged frame. `raw` includes the 4-byte length."""

    def __init__(self, conn, direction, kind, raw, op=None, xid=None, err=None):
        self.conn, self.direction, self.kind, self.raw = conn, direction, kind, raw
        self.op, self.xid, self.err = op, xid, err
        self.time = time.time()

    def to_json(self):
        return {
            "conn": self.conn, "dir": self.direction, "kind": self.kind, "op": self.op,
            "xid": self.xid, "err": self.err, "time": self.time, "hex": self.raw.hex(),
        }

    def __repr__(self):
        return f"<{self.direction} {self.kind} op={self.op} xid={self.xid} err={self.err} {len(self.raw)}B>"


class Proxy:
    """A threaded TCP proxy that logs frames into `self.frames` (and `log_file`)."""

    def __init__(self, upstream, listen=("127.0.0.1", 0), log_file=None):
        self.upstream = upstream
        self.frames = []
        self.lock = threading.Lock()
        self.log_file = log_file
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(listen)
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.conns = []
        self.next_conn = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            server = socket.create_connection(self.upstream)
            with self.lock:
                cid = self.next_conn
                self.next_conn += 1
                self.conns.append((client, server))
            pending = {}  # xid -> [op, ...] of requests awaiting a reply
            for src, dst, d in ((client, server, "c2s"), (server, client, "s2c")):
                threading.Thread(target=self._pump, args=(cid, src, dst, d, pending), daemon=True).start()

    def drop_connections(self):
        """Cut every live connection (the client will reconnect with its session)."""
        with self.lock:
            conns, self.conns = self.conns, []
        for a, b in conns:
            for s in (a, b):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def _classify(self, cid, direction, first, raw, pending):
        body = raw[4:]
        if first:
            return Frame(cid, direction, "connect_request" if direction == "c2s" else "connect_response", raw)
        if direction == "c2s":
            if len(body) < 8:
                return Frame(cid, direction, "garbage", raw)
            xid, op = struct.unpack(">ii", body[:8])
            pending.setdefault(xid, []).append(op)
            return Frame(cid, direction, "ping" if xid == PING_XID else "request", raw, op, xid)
        if len(body) < 16:
            return Frame(cid, direction, "garbage", raw)
        xid, _zxid, err = struct.unpack(">iqi", body[:16])
        if xid == NOTIFICATION_XID:
            return Frame(cid, direction, "notification", raw, 0, xid, err)
        ops = pending.get(xid) or [None]
        op = ops.pop(0)
        kind = "ping_reply" if xid == PING_XID else "reply"
        return Frame(cid, direction, kind, raw, op, xid, err)

    def _pump(self, cid, src, dst, direction, pending):
        buf = b""
        first = True
        while True:
            try:
                chunk = src.recv(65536)
            except OSError:
                chunk = b""
            if not chunk:
                break
            buf += chunk
            while len(buf) >= 4:
                (n,) = struct.unpack(">i", buf[:4])
                if n < 0 or len(buf) < 4 + n:
                    break
                raw, buf = buf[: 4 + n], buf[4 + n:]
                frame = self._classify(cid, direction, first, raw, pending)
                first = False
                with self.lock:
                    self.frames.append(frame)
                    if self.log_file:
                        self.log_file.write(json.dumps(frame.to_json()) + "\n")
                        self.log_file.flush()
            # Log before forwarding, so a reply the client has seen is already logged.
            try:
                dst.sendall(chunk)
            except OSError:
                break
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def mark(self):
        with self.lock:
            return len(self.frames)

    def since(self, mark):
        with self.lock:
            return list(self.frames[mark:])

    def close(self):
        self.sock.close()
        self.drop_connections()


# ---------------------------------------------------------------------------
# Golden capture
# ---------------------------------------------------------------------------

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_zookeeper(datadir):
    port = free_port()
    conf = os.path.join(datadir, "zoo.cfg")
    with open(conf, "w") as f:
        f.write(f"tickTime=2000\ndataDir={datadir}/data\nclientPort={port}\n"
                "clientPortAddress=127.0.0.1\nadmin.enableServer=false\n"
                "4lw.commands.whitelist=*\n")
    cp = "/etc/zookeeper/conf:/usr/share/java/zookeeper.jar"
    log = open(os.path.join(datadir, "server.log"), "w")
    proc = subprocess.Popen(
        ["java", "-Dzookeeper.extendedTypesEnabled=true", "-Dzookeeper.root.logger=WARN,CONSOLE",
         "-cp", cp, "org.apache.zookeeper.server.ZooKeeperServerMain", conf],
        stdout=log, stderr=subprocess.STDOUT)
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"ruok")
                if s.recv(4) == b"imok":
                    return proc, port
        except OSError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError("Apache ZooKeeper did not start; see " + log.name)


class Recorder:
    """Labels the frames of each scenario step and writes the fixtures."""

    def __init__(self, proxy, out):
        self.proxy, self.out = proxy, out
        self.index = []
        self.names = set()

    def save(self, name, frame, note=""):
        base, n = name, 2
        while name in self.names:
            name, n = f"{base}_{n}", n + 1
        self.names.add(name)
        with open(os.path.join(self.out, name + ".bin"), "wb") as f:
            f.write(frame.raw)
        op = "-" if frame.op is None else str(frame.op)
        self.index.append(f"{name}.bin\t{frame.kind}\t{op}\t{note}")

    def save_handshake(self, mark, prefix, note):
        """Save the connect request/response of the connection that got a response."""
        frames = self.proxy.since(mark)
        answered = {f.conn for f in frames if f.kind == "connect_response"}
        for f in frames:
            if f.kind.startswith("connect") and f.conn in answered:
                self.save(f"{prefix}_{f.kind}", f, note)

    def reconnect(self, prefix, set_watches_op):
        """Cut the connection; record the resumed handshake and the setWatches exchange."""
        mark = self.proxy.mark()
        self.proxy.drop_connections()
        self.wait_for(mark, lambda f: f.kind == "reply" and f.op == set_watches_op, timeout=20)
        self.save_handshake(mark, f"{prefix}_reconnect", "resumed session")
        for f in self.proxy.since(mark):
            if f.op == set_watches_op and f.kind in ("request", "reply"):
                role = "req" if f.kind == "request" else "rep"
                self.save(f"{prefix}_{OP_NAMES[set_watches_op]}.{role}", f, OP_NAMES[set_watches_op])

    def wait_for(self, mark, pred, timeout=15):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if any(pred(f) for f in self.proxy.since(mark)):
                return
            time.sleep(0.05)
        raise RuntimeError("timed out waiting for frames")

    def step(self, label, action, replies=1, kinds=("request", "reply", "notification")):
        """Run `action`, wait for `replies` replies, save the step's frames."""
        mark = self.proxy.mark()
        action()
        self.wait_for(mark, lambda f: True, timeout=15)
        self.wait_for(mark, lambda _: sum(f.kind == "reply" for f in self.proxy.since(mark)) >= replies)
        time.sleep(0.1)
        for f in self.proxy.since(mark):
            if f.kind in kinds:
                role = {"request": "req", "reply": "rep", "notification": "event"}.get(f.kind, f.kind)
                self.save(f"{label}.{role}", f, OP_NAMES.get(f.op, ""))

    def write_index(self):
        with open(os.path.join(self.out, "index.tsv"), "w") as f:
            f.write("# file\tkind\topcode\tnote  (generated by compat-tests/tools/record_proxy.py golden)\n")
            f.write("\n".join(self.index) + "\n")


def kazoo_scenario(rec, port):
    from kazoo.client import KazooClient
    from kazoo.security import make_digest_acl, OPEN_ACL_UNSAFE

    mark = rec.proxy.mark()
    zk = KazooClient(hosts=f"127.0.0.1:{port}", timeout=4.0)
    zk.start()
    rec.save_handshake(mark, "kazoo", "kazoo 2.8 handshake")

    rec.step("kazoo_create", lambda: zk.create("/golden", b"hello"))
    rec.step("kazoo_create2", lambda: zk.create("/golden2", b"", include_data=True))
    rec.step("kazoo_create_ephemeral_seq",
             lambda: zk.create("/golden/e-", b"x", ephemeral=True, sequence=True))
    rec.step("kazoo_create_exists_err", lambda: _swallow(lambda: zk.create("/golden", b"")))
    rec.step("kazoo_exists", lambda: zk.exists("/golden"))
    rec.step("kazoo_exists_nonode", lambda: zk.exists("/missing"))
    rec.step("kazoo_get", lambda: zk.get("/golden"))
    rec.step("kazoo_get_nonode", lambda: _swallow(lambda: zk.get("/missing")))
    rec.step("kazoo_get_watch", lambda: zk.get("/golden", watch=lambda e: None))
    # The notification precedes the setData reply on the wire.
    rec.step("kazoo_set_fires_watch", lambda: zk.set("/golden", b"world"))
    rec.step("kazoo_set_version", lambda: zk.set("/golden", b"again", version=1))
    rec.step("kazoo_set_badversion", lambda: _swallow(lambda: zk.set("/golden", b"x", version=42)))
    rec.step("kazoo_get_children", lambda: zk.get_children("/golden"))
    rec.step("kazoo_get_children2", lambda: zk.get_children("/", include_data=True))
    rec.step("kazoo_get_children_watch", lambda: zk.get_children("/golden", watch=lambda e: None))
    rec.step("kazoo_child_event", lambda: zk.create("/golden/c", b""))
    rec.step("kazoo_get_acls", lambda: zk.get_acls("/golden"))
    acl = [make_digest_acl("user", "secret", all=True)] + list(OPEN_ACL_UNSAFE)
    rec.step("kazoo_set_acls", lambda: zk.set_acls("/golden2", acl))
    rec.step("kazoo_sync", lambda: zk.sync("/golden"))
    rec.step("kazoo_add_auth", lambda: zk.add_auth("digest", "user:secret"))

    def multi_ok():
        t = zk.transaction()
        t.create("/golden/m", b"m")
        t.set_data("/golden2", b"s")
        t.check("/golden", 2)
        t.delete("/golden/c")
        t.commit()
    rec.step("kazoo_multi_ok", multi_ok)

    def multi_fail():
        t = zk.transaction()
        t.create("/golden/n", b"n")
        t.check("/golden", 99)
        t.delete("/golden/m")
        t.commit()
    rec.step("kazoo_multi_fail", multi_fail)

    # A ping: kazoo pings when idle for a third of the read timeout.
    mark = rec.proxy.mark()
    rec.wait_for(mark, lambda f: f.kind == "ping_reply", timeout=10)
    for f in rec.proxy.since(mark):
        if f.kind in ("ping", "ping_reply"):
            rec.save(f"kazoo_{f.kind}", f, "ping")
            if f.kind == "ping_reply":
                break

    # kazoo 2.8 never sends setWatches; the zkCli scenario records those.
    rec.step("kazoo_delete", lambda: zk.delete("/golden/m"))
    rec.step("kazoo_delete_notempty", lambda: _swallow(lambda: zk.delete("/golden")))
    rec.step("kazoo_close", lambda: zk.stop())
    zk.close()


def zkcli_scenario(rec, port):
    cli = subprocess.Popen(
        ["/usr/share/zookeeper/bin/zkCli.sh", "-server", f"127.0.0.1:{port}"],
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env=dict(os.environ, CLIENT_JVMFLAGS="-Dzookeeper.root.logger=ERROR,CONSOLE"))

    def cmd(line):
        def run():
            cli.stdin.write((line + "\n").encode())
            cli.stdin.flush()
        return run

    mark = rec.proxy.mark()
    rec.wait_for(mark, lambda f: f.kind == "connect_response", timeout=30)
    rec.save_handshake(mark, "zkcli", "Java client 3.8 handshake")

    rec.step("zkcli_create", cmd("create /zk hello"))
    rec.step("zkcli_create_container", cmd("create -c /zkc data"))
    rec.step("zkcli_create_ttl", cmd("create -t 60000 /zkt data"))
    rec.step("zkcli_create_ephemeral", cmd("create -e /zk/eph e"))
    rec.step("zkcli_get_stat", cmd("get -s /zk"))
    rec.step("zkcli_set", cmd("set -s /zk v2"))
    rec.step("zkcli_stat", cmd("stat /zk"))
    rec.step("zkcli_ls_stat", cmd("ls -s /"))
    rec.step("zkcli_get_acl", cmd("getAcl -s /zk"))
    rec.step("zkcli_set_acl", cmd("setAcl /zkc world:anyone:crdwa"))
    rec.step("zkcli_sync", cmd("sync /zk"))
    rec.step("zkcli_get_ephemerals", cmd("getEphemerals /"))
    rec.step("zkcli_get_all_children_number", cmd("getAllChildrenNumber /"))
    rec.step("zkcli_whoami", cmd("whoami"))
    rec.step("zkcli_get_watch", cmd("get -w /zk"))
    rec.step("zkcli_add_watch", cmd("addWatch -m PERSISTENT_RECURSIVE /zk"))
    # With a persistent watch armed the Java client resumes with setWatches2.
    rec.reconnect("zkcli", 105)
    rec.step("zkcli_persistent_event", cmd("create /zk/child c"))
    rec.step("zkcli_remove_watches", cmd("removewatches /zk -a"))
    rec.step("zkcli_ls_watch", cmd("ls -w /zkc"))
    # Only a child watch left: plain setWatches.
    rec.reconnect("zkcli", 101)
    rec.step("zkcli_addauth", cmd("addauth digest bob:pw"))
    rec.step("zkcli_delete_version", cmd("delete -v 0 /zk/child"))
    rec.step("zkcli_close", cmd("close"))
    cli.stdin.write(b"quit\n")
    cli.stdin.flush()
    try:
        cli.wait(timeout=15)
    except subprocess.TimeoutExpired:
        cli.kill()


def _swallow(fn):
    try:
        fn()
    except Exception:  # noqa: BLE001 - the error reply is what we record
        pass


def golden(out):
    os.makedirs(out, exist_ok=True)
    for name in os.listdir(out):
        if name.endswith(".bin") or name == "index.tsv":
            os.remove(os.path.join(out, name))
    tmp = tempfile.mkdtemp(prefix="fk-golden-")
    proc, zk_port = start_zookeeper(tmp)
    proxy = Proxy(("127.0.0.1", zk_port))
    rec = Recorder(proxy, out)
    try:
        kazoo_scenario(rec, proxy.port)
        zkcli_scenario(rec, proxy.port)
    finally:
        rec.write_index()
        proxy.close()
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"wrote {len(rec.index)} frames to {out}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("proxy", help="proxy and log frames")
    p.add_argument("--listen", default="127.0.0.1:2182")
    p.add_argument("--upstream", default="127.0.0.1:2181")
    p.add_argument("--log", default="-", help="JSONL file, - for stdout")
    g = sub.add_parser("golden", help="capture golden fixtures from Apache ZooKeeper")
    g.add_argument("--out", default="tests/fixtures/golden")
    args = ap.parse_args()
    if args.cmd == "golden":
        golden(args.out)
        return
    lh, lp = args.listen.rsplit(":", 1)
    uh, up = args.upstream.rsplit(":", 1)
    log = sys.stdout if args.log == "-" else open(args.log, "a")
    proxy = Proxy((uh, int(up)), (lh, int(lp)), log)
    print(f"proxying 127.0.0.1:{proxy.port} -> {args.upstream}", file=sys.stderr)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        proxy.close()


if __name__ == "__main__":
    main()
