"""The `digest` provider's settings, on both servers, given as zoo.cfg lines
or as JVM flags (`-Dzookeeper.…` in SERVER_JVMFLAGS, as operators pass
them to zkServer.sh).

`DigestAuthenticationProvider.digestAlg` (ZooKeeper 3.7+) changes the hash
of `digest` ids: a tree whose ACLs were made with SHA-256 must still open to
`addauth digest user:password`. `DigestAuthenticationProvider.superDigest`
makes a password `super`. `DigestAuthenticationProvider.enabled=false`
turns the provider off.
"""

import base64
import hashlib

import pytest
from kazoo.client import KazooClient
from kazoo.exceptions import InvalidACLError, NoAuthError
from kazoo.security import make_acl

import rawzk
from harness import Server


def digest_id(user_password: str, alg: str) -> str:
    user = user_password.split(":", 1)[0]
    digest = hashlib.new(alg, user_password.encode()).digest()
    return f"{user}:{base64.b64encode(digest).decode()}"


def session(srv, auth: str | None = None) -> KazooClient:
    zk = KazooClient(hosts=srv.hosts, timeout=5.0)
    zk.start(timeout=10)
    if auth:
        zk.add_auth("digest", auth)
    return zk


@pytest.mark.parametrize("given_as", ["zoo.cfg", "jvm flags"])
@pytest.mark.parametrize("alg,java_name", [("sha256", "SHA-256"), ("sha3_256", "SHA3-256")])
def test_digest_ids_use_the_configured_algorithm(server_kind, tmp_path, given_as, alg, java_name):
    settings = {
        "DigestAuthenticationProvider.digestAlg": java_name,
        "DigestAuthenticationProvider.superDigest": digest_id("super:root-pw", alg),
    }
    if given_as == "zoo.cfg":
        srv = Server(server_kind, tmp_path / "srv", settings)
    else:
        flags = [f"-Dzookeeper.{k}={v}" for k, v in settings.items()]
        srv = Server(server_kind, tmp_path / "srv", {}, jvm_flags=flags)
    srv.start()
    owner = session(srv, "alice:pw")
    stranger = session(srv, "alice:wrong")
    root = session(srv, "super:root-pw")
    try:
        owner.create("/alice", b"hers", acl=[make_acl("digest", digest_id("alice:pw", alg), all=True)])
        assert owner.get("/alice")[0] == b"hers"
        # `auth` ACLs hold the id the server made: the same hash.
        owner.create("/alice-auth", b"", acl=[make_acl("auth", "", all=True)])
        ids = [a.id.id for a in owner.get_acls("/alice-auth")[0]]
        assert ids == [digest_id("alice:pw", alg)]
        with pytest.raises(NoAuthError):
            stranger.get("/alice")
        assert root.get("/alice")[0] == b"hers"
    finally:
        for zk in (owner, stranger, root):
            zk.stop()
            zk.close()
        srv.stop()


def test_a_disabled_digest_provider_refuses_digest_auth_and_acls(server_kind, tmp_path):
    srv = Server(server_kind, tmp_path / "srv",
                 {"DigestAuthenticationProvider.enabled": "false"}).start()
    try:
        conn = rawzk.RawConnection.connect(srv.address)
        auth = rawzk.enc_int(0) + rawzk.enc_string("digest") + rawzk.enc_buffer(b"u:p")
        assert conn.call(rawzk.OP["auth"], auth, xid=rawzk.AUTH_XID).err_name == "AUTHFAILED"
        assert conn.is_closed(3.0)
        conn.sock.close()
        zk = session(srv)
        try:
            with pytest.raises(InvalidACLError):
                zk.create("/d", b"", acl=[make_acl("digest", digest_id("u:p", "sha1"), all=True)])
        finally:
            zk.stop()
            zk.close()
    finally:
        srv.stop()
