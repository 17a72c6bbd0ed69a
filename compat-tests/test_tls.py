"""The secure client port (`secureClientPort`, `ssl.*`), on both servers.

An operator who runs ZooKeeper with TLS keeps the zoo.cfg lines and the
PEM stores: a client with a certificate from the trusted CA is served on the
secure port (the plain port goes on serving beside it), one without a
certificate, or with one from another CA, is refused. Certificates come from
`openssl`, made fresh by each run. ZooKeeper needs its Netty connection
factory for TLS; ferrokeeper takes the same lines and ignores that one.
"""

import subprocess
import uuid
from pathlib import Path

import pytest
from kazoo.client import KazooClient
from kazoo.exceptions import InvalidACLError, NoAuthError
from kazoo.security import make_acl, make_digest_acl
from kazoo.handlers.threading import KazooTimeoutError

import harness
from harness import Server, free_port

NETTY = "org.apache.zookeeper.server.NettyServerCnxnFactory"
CLIENT_SUBJECT = "/C=DE/O=Ferro Keeper, Inc./OU=ops;dev/CN=client 1"
# The `x509` id ZooKeeper gives that certificate: Java's RFC 2253 form.
CLIENT_ID = "CN=client 1,OU=ops\\;dev,O=Ferro Keeper\\, Inc.,C=DE"


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_ca(d: Path, name: str) -> None:
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.pem", "-days", "2",
            "-subj", f"/CN={name}", "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d)


def make_leaf(d: Path, ca: str, name: str, usage: str, subject: str = "") -> None:
    """`name`.key (PKCS#8) and `name`.pem, signed by `ca`; `name`-store.pem holds both."""
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", subject or f"/CN={name}", cwd=d)
    ext = d / f"{name}.ext"
    ext.write_text(
        "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
        f"extendedKeyUsage={usage}\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n"
    )
    openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key",
            "-CAcreateserial", "-out", f"{name}.pem", "-days", "2", "-extfile", ext.name, cwd=d)
    (d / f"{name}-store.pem").write_text((d / f"{name}.key").read_text() + (d / f"{name}.pem").read_text())


@pytest.fixture(scope="module")
def certs(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("certs")
    make_ca(d, "ca")
    make_ca(d, "other-ca")
    make_leaf(d, "ca", "server", "serverAuth")
    make_leaf(d, "ca", "client", "clientAuth", CLIENT_SUBJECT)
    make_leaf(d, "other-ca", "stranger", "clientAuth")
    make_leaf(d, "ca", "mailer", "clientAuth", "/emailAddress=a@b/CN=x, y")
    make_leaf(d, "ca", "admin", "clientAuth", "/O=Ops/CN=admin")
    return d


def tls_config(certs: Path, port: int, **extra: str) -> dict:
    return {
        "secureClientPort": str(port),
        "secureClientPortAddress": "127.0.0.1",
        "serverCnxnFactory": NETTY,
        "ssl.keyStore.location": str(certs / "server-store.pem"),
        "ssl.keyStore.type": "PEM",
        "ssl.trustStore.location": str(certs / "ca.pem"),
        "ssl.trustStore.type": "PEM",
        **extra,
    }


@pytest.fixture
def tls_server(server_kind, certs, tmp_path):
    port = free_port()
    srv = Server(server_kind, tmp_path / "srv", tls_config(certs, port)).start()
    srv.secure_hosts = f"127.0.0.1:{port}"
    yield srv
    srv.stop()


def tls_client(srv, certs: Path, who: str | None = "client", ca: str = "ca.pem") -> KazooClient:
    kwargs = {"use_ssl": True, "ca": str(certs / ca), "verify_certs": True}
    if who:
        kwargs.update(certfile=str(certs / f"{who}.pem"), keyfile=str(certs / f"{who}.key"))
    return KazooClient(hosts=srv.secure_hosts, timeout=5.0, **kwargs)


def refused(client: KazooClient) -> bool:
    try:
        client.start(timeout=4)
    except KazooTimeoutError:
        return True
    finally:
        client.stop()
        client.close()
    return False


def test_a_client_with_a_trusted_certificate_is_served_over_tls(tls_server, certs):
    secure_port = tls_server.secure_hosts.rsplit(":", 1)[1]
    assert f"secureClientPort={secure_port}" in tls_server.four_letter("conf").decode().splitlines()
    zk = tls_client(tls_server, certs)
    zk.start(timeout=10)
    try:
        path = f"/tls-{uuid.uuid4().hex[:8]}"
        zk.create(path, b"over tls", ephemeral=True)
        assert zk.get(path)[0] == b"over tls"
        # The plain port serves beside it, the same tree.
        plain = KazooClient(hosts=tls_server.hosts, timeout=5.0)
        plain.start(timeout=10)
        try:
            assert plain.get(path)[0] == b"over tls"
        finally:
            plain.stop()
            plain.close()
    finally:
        zk.stop()
        zk.close()


def test_a_client_without_a_trusted_certificate_is_refused(tls_server, certs):
    assert refused(tls_client(tls_server, certs, who=None))
    assert refused(tls_client(tls_server, certs, who="stranger"))
    # The server stays up for a client that has one.
    zk = tls_client(tls_server, certs)
    zk.start(timeout=10)
    assert zk.exists("/") is not None
    zk.stop()
    zk.close()


def test_a_client_certificate_authenticates_as_its_x509_subject(tls_server, certs):
    zk = tls_client(tls_server, certs)
    zk.start(timeout=10)
    plain = KazooClient(hosts=tls_server.hosts, timeout=5.0)
    plain.start(timeout=10)
    try:
        mine = [make_acl("x509", CLIENT_ID, all=True)]
        zk.create("/x509-own", b"secret", acl=mine)
        assert zk.get("/x509-own")[0] == b"secret"
        with pytest.raises(NoAuthError):
            plain.get("/x509-own")
        # `auth` takes the session's authenticated id: the certificate's.
        zk.create("/x509-auth", b"", acl=[make_acl("auth", "", read=True, write=True)])
        acls, _ = zk.get_acls("/x509-auth")
        assert [(a.id.scheme, a.id.id, a.perms) for a in acls] == [("x509", CLIENT_ID, 3)]
        with pytest.raises(NoAuthError):
            plain.get("/x509-auth")
        # An attribute without an RFC 2253 keyword: its OID and DER in hex.
        mailer = tls_client(tls_server, certs, who="mailer")
        mailer.start(timeout=10)
        mailer.create("/x509-mailer", b"", acl=[make_acl("auth", "", all=True)])
        acls, _ = mailer.get_acls("/x509-mailer")
        assert [a.id.id for a in acls] == ["CN=x\\, y,1.2.840.113549.1.9.1=#1603614062"]
        mailer.stop()
        mailer.close()
    finally:
        zk.stop()
        zk.close()
        plain.stop()
        plain.close()


def test_the_x509_super_user_passes_every_acl(server_kind, certs, tmp_path):
    port = free_port()
    # zoo.cfg is read as Java properties, so a DN with escapes would lose its
    # backslashes there: the admin's has none.
    cfg = tls_config(certs, port, **{"X509AuthenticationProvider.superUser": "CN=admin,O=Ops"})
    srv = Server(server_kind, tmp_path / "srv", cfg).start()
    srv.secure_hosts = f"127.0.0.1:{port}"
    plain = KazooClient(hosts=srv.hosts, timeout=5.0)
    plain.start(timeout=10)
    admin, mailer = tls_client(srv, certs, who="admin"), tls_client(srv, certs, who="mailer")
    admin.start(timeout=10)
    mailer.start(timeout=10)
    try:
        plain.create("/locked", b"only for nobody", acl=[make_digest_acl("nobody", "pw", all=True)])
        assert admin.get("/locked")[0] == b"only for nobody"
        with pytest.raises(NoAuthError):
            mailer.get("/locked")
    finally:
        for c in (plain, admin, mailer):
            c.stop()
            c.close()
        srv.stop()


def test_port_unification_serves_tls_and_plain_clients_on_the_client_port(server_kind, certs, tmp_path):
    # ZooKeeper 3.8.0 registers its x509 provider only with a secure port
    # set, and without it closes every TLS client of the unified port
    # ("X509 Auth provider not found"): so one is set, and unused.
    cfg = tls_config(certs, free_port(), **{"client.portUnification": "true"})
    srv = Server(server_kind, tmp_path / "srv", cfg).start()
    srv.secure_hosts = srv.hosts
    secure, plain = tls_client(srv, certs), KazooClient(hosts=srv.hosts, timeout=5.0)
    secure.start(timeout=10)
    plain.start(timeout=10)
    try:
        secure.create("/unified", b"one port")
        assert plain.get("/unified")[0] == b"one port"
        assert srv.four_letter("ruok") == b"imok"
        assert refused(tls_client(srv, certs, who="stranger"))
    finally:
        for c in (secure, plain):
            c.stop()
            c.close()
        srv.stop()


@pytest.mark.server_kinds("ferrokeeper")
def test_port_unification_without_a_secure_port(server_kind, certs, tmp_path):
    cfg = tls_config(certs, 0, **{"client.portUnification": "true"})
    del cfg["secureClientPort"], cfg["secureClientPortAddress"]
    srv = Server(server_kind, tmp_path / "srv", cfg).start()
    srv.secure_hosts = srv.hosts
    zk = tls_client(srv, certs)
    zk.start(timeout=10)
    try:
        zk.create("/only-port", b"", acl=[make_acl("x509", CLIENT_ID, all=True)])
        assert zk.get("/only-port")[0] == b""
    finally:
        zk.stop()
        zk.close()
        srv.stop()


# x509 ACL ids and whether ZooKeeper takes them (`X500Principal` parses
# the id). An empty id is left out: ZooKeeper fails it with
# MarshallingError (an exception inside prep), ferrokeeper with InvalidACL.
X509_ACL_IDS = {
    "CN=a": True, "not a dn": False, "cn=a, o=b": True, "FOO=bar": False,
    "1.2.3=#0403616263": True, "OID.2.5.4.3=x": True, "CN=a,": False, "=x": False,
    "CN": False, "CN=a;O=b": True, "CN=a+O=b": True, 'CN="q,v"': True,
    "EMAILADDRESS=a@b": True,
}


def test_x509_acl_ids_must_be_distinguished_names(server_kind, certs, tmp_path):
    cfg = tls_config(certs, free_port(), **{"ssl.clientAuth": "none"})
    srv = Server(server_kind, tmp_path / "srv", cfg).start()
    zk = KazooClient(hosts=srv.hosts, timeout=5.0)
    zk.start(timeout=10)
    try:
        taken = {}
        for i, dn in enumerate(X509_ACL_IDS):
            acl = [make_acl("x509", dn, read=True), make_acl("world", "anyone", all=True)]
            try:
                zk.create(f"/dn{i}", b"", acl=acl)
                taken[dn] = True
            except InvalidACLError:
                taken[dn] = False
        assert taken == X509_ACL_IDS
    finally:
        zk.stop()
        zk.close()
        srv.stop()


def test_the_java_client_over_tls(tls_server, certs):
    """zkCli's ZooKeeperMain with the Java client's TLS properties (Netty socket, PEM stores)."""
    props = {
        "zookeeper.client.secure": "true",
        "zookeeper.clientCnxnSocket": "org.apache.zookeeper.ClientCnxnSocketNetty",
        "zookeeper.ssl.keyStore.location": certs / "client-store.pem",
        "zookeeper.ssl.keyStore.type": "PEM",
        "zookeeper.ssl.trustStore.location": certs / "ca.pem",
        "zookeeper.ssl.trustStore.type": "PEM",
    }
    script = "create /java-tls hello\nget /java-tls\nls /\nquit\n"
    lines = harness.zk_cli(tls_server.secure_hosts, script, props)
    out = "\n".join(lines)
    assert "Created /java-tls" in lines, out
    assert "hello" in lines, out
    assert "[java-tls, zookeeper]" in lines, out


def test_client_auth_none_serves_a_client_without_a_certificate(server_kind, certs, tmp_path):
    port = free_port()
    cfg = tls_config(certs, port, **{"ssl.clientAuth": "none"})
    srv = Server(server_kind, tmp_path / "srv", cfg).start()
    srv.secure_hosts = f"127.0.0.1:{port}"
    try:
        zk = tls_client(srv, certs, who=None)
        zk.start(timeout=10)
        assert zk.exists("/") is not None
        zk.stop()
        zk.close()
    finally:
        srv.stop()


def test_the_admin_server_lists_secure_port_connections_apart(server_kind, certs, tmp_path):
    """`connections` and `stats` list each connection factory's: TLS clients
    of the secure port under `secure_connections`."""
    import json
    import urllib.request

    port, admin_port = free_port(), free_port()
    cfg = tls_config(certs, port, **{"admin.enableServer": "true",
                                     "admin.serverAddress": "127.0.0.1",
                                     "admin.serverPort": str(admin_port)})
    srv = Server(server_kind, tmp_path / "srv", cfg).start()
    srv.secure_hosts = f"127.0.0.1:{port}"
    secure, plain = tls_client(srv, certs), KazooClient(hosts=srv.hosts, timeout=5.0)
    try:
        secure.start(timeout=10)
        plain.start(timeout=10)
        for name, key in (("connections", "connections"), ("stats", "connections")):
            url = f"http://127.0.0.1:{admin_port}/commands/{name}"
            with urllib.request.urlopen(url, timeout=10) as r:
                answer = json.loads(r.read())
            listed = {k: [c["remote_socket_address"].rsplit(":", 1)[1] for c in answer[k]]
                      for k in (key, "secure_connections")}
            secure_local = str(secure._connection._socket.getsockname()[1])
            plain_local = str(plain._connection._socket.getsockname()[1])
            assert secure_local in listed["secure_connections"], (name, listed)
            assert secure_local not in listed[key], (name, listed)
            assert plain_local in listed[key], (name, listed)
    finally:
        for c in (secure, plain):
            c.stop()
            c.close()
        srv.stop()
