"""Java key and trust stores on the secure client port, on both servers.

Operators of ZooKeeper with TLS mostly keep their keys in stores keytool
made: JKS or PKCS12, opened with `ssl.keyStore.password` and
`ssl.trustStore.password` (or a file, `….passwordPath`). The same zoo.cfg
lines and files serve on ferrokeeper. The stores are made fresh each run,
by openssl and Debian's keytool, from the certificates `test_tls` makes.
"""

import subprocess
from pathlib import Path

import pytest
from kazoo.client import KazooClient

import harness
from harness import Server, free_port
from test_tls import NETTY, make_ca, make_leaf

KEY_PASSWORD = "ks-secret-1"
TRUST_PASSWORD = "ts-secret"


def run(*cmd: str, cwd: Path) -> None:
    subprocess.run(cmd, cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def stores(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("stores")
    make_ca(d, "ca")
    make_leaf(d, "ca", "server", "serverAuth")
    make_leaf(d, "ca", "client", "clientAuth")
    # openssl's PKCS12 (with an ASCII password: openssl and Java encode
    # others differently), then keytool's JKS and PKCS12 copies of it.
    run("openssl", "pkcs12", "-export", "-inkey", "server.key", "-in", "server.pem",
        "-certfile", "ca.pem", "-name", "server", "-out", "openssl.p12",
        "-passout", "pass:ascii", cwd=d)
    for kind, name in (("JKS", "server.jks"), ("PKCS12", "server.p12")):
        run("keytool", "-importkeystore", "-noprompt", "-srckeystore", "openssl.p12",
            "-srcstoretype", "PKCS12", "-srcstorepass", "ascii", "-destkeystore", name,
            "-deststoretype", kind, "-deststorepass", KEY_PASSWORD,
            "-destkeypass", KEY_PASSWORD, cwd=d)
    for kind, name in (("JKS", "trust.jks"), ("PKCS12", "trust.p12")):
        run("keytool", "-importcert", "-noprompt", "-alias", "ca", "-file", "ca.pem",
            "-keystore", name, "-storetype", kind, "-storepass", TRUST_PASSWORD, cwd=d)
    (d / "key-password").write_text(KEY_PASSWORD + "\n")
    (d / "trust-password").write_text(TRUST_PASSWORD + "\n")
    run("openssl", "pkcs8", "-topk8", "-v2", "aes-256-cbc", "-in", "server.key",
        "-out", "server-enc.key", "-passout", f"pass:{KEY_PASSWORD}", cwd=d)
    (d / "server-enc.pem").write_text((d / "server-enc.key").read_text()
                                      + (d / "server.pem").read_text())
    return d


def secure_config(port: int, **ssl: str) -> dict:
    return {
        "secureClientPort": str(port),
        "secureClientPortAddress": "127.0.0.1",
        "serverCnxnFactory": NETTY,
        **ssl,
    }


def served_over_tls(srv: Server, port: int, stores: Path) -> bool:
    zk = KazooClient(hosts=f"127.0.0.1:{port}", timeout=5.0, use_ssl=True,
                     ca=str(stores / "ca.pem"), verify_certs=True,
                     certfile=str(stores / "client.pem"), keyfile=str(stores / "client.key"))
    zk.start(timeout=10)
    try:
        zk.create("/over-tls", b"stores", ephemeral=True)
        return zk.get("/over-tls")[0] == b"stores"
    finally:
        zk.stop()
        zk.close()


# Key store, trust store, and how their passwords are given.
STORE_PAIRS = {
    "jks-key-p12-trust": {
        "ssl.keyStore.location": "server.jks",
        "ssl.trustStore.location": "trust.p12",
        "ssl.keyStore.password": KEY_PASSWORD,
        "ssl.trustStore.password": TRUST_PASSWORD,
    },
    "p12-key-jks-trust-password-files": {
        "ssl.keyStore.location": "server.p12",
        "ssl.trustStore.location": "trust.jks",
        "ssl.keyStore.passwordPath": "key-password",
        "ssl.trustStore.passwordPath": "trust-password",
    },
    # Java reads either format whichever of the two a type names.
    "types-crossed": {
        "ssl.keyStore.location": "server.jks",
        "ssl.keyStore.type": "PKCS12",
        "ssl.trustStore.location": "trust.p12",
        "ssl.trustStore.type": "JKS",
        "ssl.keyStore.password": KEY_PASSWORD,
        "ssl.trustStore.password": TRUST_PASSWORD,
    },
}


def in_dir(stores: Path, ssl: dict) -> dict:
    files = ("location", "passwordPath")
    return {k: str(stores / v) if k.endswith(files) else v for k, v in ssl.items()}


@pytest.mark.parametrize("pair", list(STORE_PAIRS))
def test_keytool_stores_serve_tls_clients(server_kind, stores, tmp_path, pair):
    port = free_port()
    srv = Server(server_kind, tmp_path / "srv",
                 secure_config(port, **in_dir(stores, STORE_PAIRS[pair]))).start()
    try:
        assert served_over_tls(srv, port, stores)
    finally:
        srv.stop()
    if server_kind == "ferrokeeper":
        # Neither password reaches the log (it once listed unknown keys).
        log = srv.log_path.read_text()
        assert KEY_PASSWORD not in log and TRUST_PASSWORD not in log


@pytest.mark.server_kinds("ferrokeeper")
def test_an_encrypted_pem_key_opens_with_the_key_store_password(server_kind, stores, tmp_path):
    """PBES2, as `openssl pkcs8 -topk8 -v2` writes it. ZooKeeper 3.8 on Java 17
    reads the same zoo.cfg lines but fails every handshake ("PBES2
    SecretKeyFactory not available"), so this is ferrokeeper's alone."""
    port = free_port()
    ssl = in_dir(stores, {"ssl.keyStore.location": "server-enc.pem",
                          "ssl.keyStore.password": KEY_PASSWORD,
                          "ssl.trustStore.location": "ca.pem"})
    srv = Server(server_kind, tmp_path / "srv", secure_config(port, **ssl)).start()
    try:
        assert served_over_tls(srv, port, stores)
    finally:
        srv.stop()


def start_up_failure(tmp_path: Path, ssl: dict) -> str:
    """ferrokeeper's output when it refuses to start with these settings.
    (ZooKeeper starts and fails each TLS handshake instead.)"""
    return harness.ferrokeeper_refuses(tmp_path, secure_config(free_port(), **ssl))


@pytest.mark.server_kinds("ferrokeeper")
def test_a_wrong_store_password_stops_start_up_naming_the_key(server_kind, stores, tmp_path):
    good = in_dir(stores, STORE_PAIRS["jks-key-p12-trust"])
    out = start_up_failure(tmp_path, {**good, "ssl.keyStore.password": "wrong-one"})
    assert "ssl.keyStore.location" in out and "check ssl.keyStore.password" in out, out
    assert "wrong-one" not in out
    out = start_up_failure(tmp_path, {**good, "ssl.trustStore.password": ""})
    assert "check ssl.trustStore.password" in out, out
    # openssl's PKCS12 has no trusted-certificate entries, so Java trusts nothing in it.
    out = start_up_failure(tmp_path, {**good, "ssl.trustStore.location": str(stores / "openssl.p12"),
                                      "ssl.trustStore.password": "ascii"})
    assert "no trusted certificate" in out, out
