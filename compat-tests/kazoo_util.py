"""Helpers around kazoo internals used by the tests.

- WireLog: records, in arrival order, every notification frame and every
  reply a KazooClient reads, so a test can check that a watch event reached
  the client before the reply that shows the change.
- flush_callbacks: waits until kazoo's callback thread has run everything
  queued so far (watch callbacks are dispatched asynchronously).
- unnormalised_call: sends a kazoo protocol record without kazoo's client-side
  path normalisation ("a", "/a/", "/a//b" reach the server as written).
- stop_all: stops and closes clients, whatever state they are in.
"""

from __future__ import annotations

import threading

from kazoo.protocol.serialization import Watch
from kazoo.protocol.states import Callback, EventType

EVENT_NAMES = {1: "NodeCreated", 2: "NodeDeleted", 3: "NodeDataChanged", 4: "NodeChildrenChanged"}


class WireLog:
    """Install before client.start(); entries are ("event", type_name, path) or ("reply", xid)."""

    def __init__(self, client):
        self.entries: list[tuple] = []
        self._lock = threading.Lock()
        conn = client._connection
        orig_event = conn._read_watch_event
        orig_response = conn._read_response

        def read_watch_event(buffer, offset):
            watch, _ = Watch.deserialize(buffer, offset)
            with self._lock:
                self.entries.append(("event", EVENT_NAMES.get(watch.type, watch.type), watch.path))
            return orig_event(buffer, offset)

        def read_response(header, buffer, offset):
            with self._lock:
                self.entries.append(("reply", header.xid))
            return orig_response(header, buffer, offset)

        conn._read_watch_event = read_watch_event
        conn._read_response = read_response

    def events(self) -> list[tuple[str, str]]:
        with self._lock:
            return [(e[1], e[2]) for e in self.entries if e[0] == "event"]

    def take_events(self) -> list[tuple[str, str]]:
        with self._lock:
            ev = [(e[1], e[2]) for e in self.entries if e[0] == "event"]
            self.entries.clear()
            return ev


def flush_callbacks(client, timeout: float = 10.0) -> None:
    done = threading.Event()
    client.handler.dispatch_callback(Callback("watch", done.set, ()))
    if not done.wait(timeout):
        raise TimeoutError("kazoo callback queue did not drain")


def unnormalised_call(client, request, timeout: float = 10.0):
    result = client.handler.async_result()
    client._call(request, result)
    return result.get(timeout=timeout)


__all__ = ["WireLog", "flush_callbacks", "unnormalised_call", "EventType", "EVENT_NAMES"]


def stop_all(clients) -> None:
    """Stops and closes every client; one that fails to stop does not stop the rest."""
    for c in clients:
        try:
            c.stop()
            c.close()
        except Exception:
            pass
