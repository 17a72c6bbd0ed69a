"""SASL DIGEST-MD5 authentication, on both servers.

The set-up Kafka and others document for ZooKeeper: users in a JAAS file's
`Server` section (`DigestLoginModule`, `user_<name>="<password>"`), the file
named by `-Djava.security.auth.login.config` in the server's JVM flags
(ferrokeeper reads them from SERVER_JVMFLAGS, as zkServer.sh passes them),
and `authProvider.1=...SASLAuthenticationProvider` in zoo.cfg for `sasl`
ACLs. Clients: kazoo (pure-sasl) and the Java client with its own JAAS
`Client` section.
"""

import uuid
from pathlib import Path

import puresasl.client
import pytest
from kazoo.client import KazooClient
from kazoo.exceptions import InvalidACLError, NoAuthError
from kazoo.security import make_acl

import harness
import rawzk
from harness import Server

SASL_PROVIDER = "org.apache.zookeeper.server.auth.SASLAuthenticationProvider"
USERS = {"admin": "admin-secret", "bob": "bob secret!"}


@pytest.fixture(scope="module")
def jaas(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("jaas")
    users = "\n".join(f'    user_{u}="{p}"' for u, p in USERS.items())
    (d / "server.conf").write_text(
        "// ZooKeeper's users\nServer {\n"
        "    org.apache.zookeeper.server.auth.DigestLoginModule required\n"
        f"{users};\n}};\n"
    )
    (d / "client.conf").write_text(
        "Client {\n    org.apache.zookeeper.server.auth.DigestLoginModule required\n"
        f'    username="bob"\n    password="{USERS["bob"]}";\n}};\n'
    )
    return d


@pytest.fixture
def sasl_server(server_kind, jaas, tmp_path):
    cfg = {"authProvider.1": SASL_PROVIDER, "superUser": "admin"}
    flags = [f"-Djava.security.auth.login.config={jaas / 'server.conf'}"]
    srv = Server(server_kind, tmp_path / "srv", cfg, jvm_flags=flags).start()
    yield srv
    srv.stop()


def client(srv, user: str | None, password: str | None = None) -> KazooClient:
    sasl = None
    if user:
        sasl = {"mechanism": "DIGEST-MD5", "username": user,
                "password": password if password is not None else USERS[user]}
    zk = KazooClient(hosts=srv.hosts, timeout=5.0, sasl_options=sasl)
    zk.start(timeout=10)
    return zk


def test_a_sasl_user_owns_what_its_acl_names(sasl_server):
    path = f"/bob-{uuid.uuid4().hex[:6]}"
    bob = client(sasl_server, "bob")
    anon = client(sasl_server, None)
    admin = client(sasl_server, "admin")
    try:
        bob.create(path, b"mine", acl=[make_acl("sasl", "bob", all=True)])
        assert bob.get(path)[0] == b"mine"
        acl = bob.get_acls(path)[0]
        assert [(a.id.scheme, a.id.id, a.perms) for a in acl] == [("sasl", "bob", 31)]
        with pytest.raises(NoAuthError):
            anon.get(path)
        # superUser=admin: admin's session is super as well.
        assert admin.get(path)[0] == b"mine"
        # `auth` ACLs name the session's SASL id.
        bob.create(path + "-auth", b"", acl=[make_acl("auth", "", all=True)])
        assert [(a.id.scheme, a.id.id) for a in bob.get_acls(path + "-auth")[0]] == [("sasl", "bob")]
    finally:
        for zk in (bob, anon, admin):
            zk.stop()
            zk.close()


SASL_OPCODE = 102


def sasl_on(conn, user: str, password: str) -> str:
    """Runs DIGEST-MD5 by hand on a raw connection (pure-sasl's client):
    the error of the last reply. (kazoo's start() reports a refusal by
    timing, as it first sees the session connected.)"""
    sasl = puresasl.client.SASLClient("zk-sasl-md5", "zookeeper", mechanism="DIGEST-MD5",
                                      username=user, password=password)
    challenge = None
    while True:
        token = sasl.process(challenge) or b""
        reply = conn.call(SASL_OPCODE, rawzk.enc_buffer(token))
        challenge = rawzk.Reader(reply.body).buffer()
        if reply.err != 0 or challenge.startswith(b"rspauth="):
            return reply.err_name


def digest_exchange(srv, user: str, password: str) -> tuple[str, bool]:
    """The exchange's last error, and whether the server then closed the
    connection."""
    conn = rawzk.RawConnection.connect(srv.address)
    try:
        return sasl_on(conn, user, password), conn.is_closed(3.0)
    finally:
        conn.sock.close()


def test_a_wrong_password_or_user_is_refused_and_others_are_served(sasl_server):
    assert digest_exchange(sasl_server, "bob", USERS["bob"]) == ("OK", False)
    assert digest_exchange(sasl_server, "bob", "not it") == ("AUTHFAILED", True)
    assert digest_exchange(sasl_server, "eve", "x") == ("AUTHFAILED", True)
    bob = client(sasl_server, "bob")
    assert bob.exists("/") is not None
    bob.stop()
    bob.close()


def test_the_java_client_authenticates_from_its_jaas_section(sasl_server, jaas):
    script = ("create /java-sasl hello sasl:bob:cdrwa\ngetAcl /java-sasl\n"
              "get /java-sasl\nwhoami\nquit\n")
    props = {"java.security.auth.login.config": jaas / "client.conf"}
    lines = harness.zk_cli(sasl_server.hosts, script, props)
    out = "\n".join(lines)
    assert "Created /java-sasl" in lines, out
    assert "'sasl,'bob" in lines, out
    assert "hello" in lines, out
    assert "sasl: bob" in lines, out  # whoami
    anon = client(sasl_server, None)
    try:
        with pytest.raises(NoAuthError):
            anon.get("/java-sasl")
    finally:
        anon.stop()
        anon.close()


def test_sasl_acls_need_the_sasl_provider(server_kind, jaas, tmp_path):
    flags = [f"-Djava.security.auth.login.config={jaas / 'server.conf'}"]
    srv = Server(server_kind, tmp_path / "srv", {}, jvm_flags=flags).start()
    try:
        bob = client(srv, "bob")
        with pytest.raises(InvalidACLError):
            bob.create("/no-provider", b"", acl=[make_acl("sasl", "bob", all=True)])
        # Nor does its id count for an `auth` ACL.
        with pytest.raises(InvalidACLError):
            bob.create("/by-auth", b"", acl=[make_acl("auth", "", all=True)])
        bob.stop()
        bob.close()
    finally:
        srv.stop()


@pytest.mark.server_kinds("ferrokeeper")
def test_a_jaas_file_without_the_server_section_stops_start_up(server_kind, jaas, tmp_path):
    flags = f"-Djava.security.auth.login.config={jaas / 'client.conf'}"
    out = harness.ferrokeeper_refuses(tmp_path, {}, env={"SERVER_JVMFLAGS": flags})
    assert "could not find a 'Server' entry" in out, out


REQUIRE_AUTH = -124  # SESSIONCLOSEDREQUIRESASLAUTH


@pytest.mark.parametrize("settings,authenticate", [
    ({"sessionRequireClientSASLAuth": "true"}, "sasl"),
    ({"enforce.auth.enabled": "true", "enforce.auth.schemes": "digest,sasl"}, "digest"),
])
def test_enforced_authentication_closes_sessions_without_it(server_kind, jaas, tmp_path,
                                                            settings, authenticate):
    cfg = {"authProvider.1": SASL_PROVIDER, **settings}
    flags = [f"-Djava.security.auth.login.config={jaas / 'server.conf'}"]
    srv = Server(server_kind, tmp_path / "srv", cfg, jvm_flags=flags).start()
    try:
        anon = rawzk.RawConnection.connect(srv.address)
        assert anon.exists("/").err == REQUIRE_AUTH
        assert anon.is_closed(3.0)
        anon.sock.close()

        conn = rawzk.RawConnection.connect(srv.address)
        if authenticate == "sasl":
            assert sasl_on(conn, "bob", USERS["bob"]) == "OK"
        else:
            assert conn.call(rawzk.OP["auth"], rawzk.enc_int(0) + rawzk.enc_string("digest")
                             + rawzk.enc_buffer(b"u:p"), xid=rawzk.AUTH_XID).err == 0
        assert conn.exists("/").err == 0
        conn.sock.close()

        if authenticate == "sasl":
            # A failed exchange ends the session with the same error.
            assert digest_exchange(srv, "bob", "not it") == (rawzk.ERR_NAMES.get(
                REQUIRE_AUTH, str(REQUIRE_AUTH)), True)
    finally:
        srv.stop()


@pytest.mark.server_kinds("ferrokeeper")
@pytest.mark.parametrize("settings,says", [
    ({"enforce.auth.enabled": "true"}, "enforce.auth.schemes must be configured"),
    ({"sessionRequireClientSASLAuth": "true", "authProvider.1": ""},
     "authentication scheme 'sasl' is not available"),
])
def test_enforcing_without_a_provider_stops_start_up(server_kind, tmp_path, settings, says):
    out = harness.ferrokeeper_refuses(tmp_path, {"admin.enableServer": "false", **settings})
    assert says in out, out
