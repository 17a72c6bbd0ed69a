"""TLS versions and cipher suites on the secure client port, on both servers.

`ssl.enabledProtocols`, `ssl.protocol` and `ssl.ciphersuites` are how an
operator hardens ZooKeeper's TLS; the same lines must bind ferrokeeper.
Each test shakes hands with Python's `ssl`, limited to one version at a
time, and reads what was agreed.

Where the two differ by design (not tested as equal): with no setting,
ZooKeeper 3.8 offers TLSv1.2 alone, and TLSv1.3 only when
`ssl.ciphersuites` names a TLS 1.3 suite (its default suites are all
TLS 1.2); ferrokeeper offers both.
"""

import socket
import ssl
from pathlib import Path

import pytest

import harness
from harness import Server, free_port
from test_tls import certs, tls_config  # noqa: F401 (certs is a fixture)

V = ssl.TLSVersion


def handshake(port: int, certs: Path, version: ssl.TLSVersion) -> tuple[str, str] | None:
    """(version, IANA suite name) agreed by a client offering only `version`;
    None when the server refuses it."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(certs / "ca.pem")
    ctx.load_cert_chain(certs / "client.pem", certs / "client.key")
    ctx.minimum_version = ctx.maximum_version = version
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
            with ctx.wrap_socket(raw, server_hostname="localhost") as tls:
                return tls.version(), iana_name(tls.cipher()[0])
    except (ssl.SSLError, ConnectionError):
        return None


def iana_name(openssl_name: str) -> str:
    """Python reports TLS 1.3 suites by IANA name and TLS 1.2 ones by
    OpenSSL's; these tests name the TLS 1.2 ones they use."""
    return {
        "ECDHE-ECDSA-AES256-GCM-SHA384": "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        "ECDHE-ECDSA-AES128-GCM-SHA256": "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    }.get(openssl_name, openssl_name)


@pytest.fixture
def start(server_kind, certs, tmp_path):
    started = []

    def start(**extra: str) -> int:
        port = free_port()
        started.append(Server(server_kind, tmp_path / f"srv{len(started)}",
                              tls_config(certs, port, **extra)).start())
        return port

    yield start
    for srv in started:
        srv.stop()


def test_enabled_protocols_tls12_refuses_a_tls13_only_client(start, certs):
    port = start(**{"ssl.enabledProtocols": "TLSv1.2"})
    assert handshake(port, certs, V.TLSv1_2)[0] == "TLSv1.2"
    assert handshake(port, certs, V.TLSv1_3) is None


def test_tls13_with_a_named_suite_refuses_a_tls12_only_client(start, certs):
    port = start(**{"ssl.enabledProtocols": "TLSv1.3",
                    "ssl.ciphersuites": "TLS_AES_256_GCM_SHA384"})
    assert handshake(port, certs, V.TLSv1_3) == ("TLSv1.3", "TLS_AES_256_GCM_SHA384")
    assert handshake(port, certs, V.TLSv1_2) is None


def test_the_protocol_alone_is_offered_when_no_list_is_given(start, certs):
    port = start(**{"ssl.protocol": "TLSv1.2"})
    assert handshake(port, certs, V.TLSv1_2)[0] == "TLSv1.2"
    assert handshake(port, certs, V.TLSv1_3) is None


@pytest.mark.parametrize("suite", ["TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
                                   "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"])
def test_only_the_named_cipher_suite_is_agreed(start, certs, suite):
    port = start(**{"ssl.ciphersuites": suite})
    assert handshake(port, certs, V.TLSv1_2) == ("TLSv1.2", suite)
    assert handshake(port, certs, V.TLSv1_3) is None


@pytest.mark.server_kinds("ferrokeeper")
@pytest.mark.parametrize("line,says", [
    ("ssl.enabledProtocols=TLSv1.2,TLSv2", "ssl.enabledProtocols TLSv2: not a TLS protocol"),
    ("ssl.enabledProtocols=TLSv1.1", "ssl.enabledProtocols: offers neither TLSv1.2 nor TLSv1.3"),
    ("ssl.ciphersuites=TLS_RSA_WITH_NULL_SHA", "ssl.ciphersuites TLS_RSA_WITH_NULL_SHA: no suite"),
])
def test_settings_that_leave_nothing_to_agree_stop_start_up(server_kind, certs, tmp_path, line, says):
    """ZooKeeper starts and fails every handshake; ferrokeeper says why at once."""
    key, value = line.split("=", 1)
    out = harness.ferrokeeper_refuses(tmp_path, tls_config(certs, free_port(), **{key: value}))
    assert says in out, out
