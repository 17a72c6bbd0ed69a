"""ZooKeeper's Prometheus endpoint (`metricsProvider.className=...PrometheusMetricsProvider`).

Debian's ZooKeeper 3.8 does not ship the provider's jar (nor the Prometheus
client it needs), so there is no reference server here: the names are
those ZooKeeper's source registers, the text is read by the Prometheus
project's own Python parser, and the values are checked against `mntr`.
"""

import socket
import urllib.error
import urllib.request

import pytest
from kazoo.client import KazooClient
from prometheus_client.parser import text_string_to_metric_families

from harness import Server, free_port

PROVIDER = "org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider"
pytestmark = pytest.mark.server_kinds("ferrokeeper")


@pytest.fixture
def metrics_server(server_kind, tmp_path):
    port = free_port()
    cfg = {"metricsProvider.className": PROVIDER, "metricsProvider.httpHost": "127.0.0.1",
           "metricsProvider.httpPort": str(port)}
    srv = Server(server_kind, tmp_path / "srv", cfg).start()
    srv.metrics_url = f"http://127.0.0.1:{port}/metrics"
    yield srv
    srv.stop()


def scrape(url: str) -> tuple[str, dict]:
    with urllib.request.urlopen(url, timeout=5) as r:
        kind = r.headers["Content-Type"]
        text = r.read().decode()
    return kind, {f.name: f for f in text_string_to_metric_families(text)}


def mntr(srv) -> dict:
    lines = srv.four_letter("mntr").decode().splitlines()
    return dict(line.split("\t", 1) for line in lines if "\t" in line)


def test_metrics_are_mntrs_under_zookeepers_names(metrics_server):
    zk = KazooClient(hosts=metrics_server.hosts, timeout=5.0)
    zk.start(timeout=10)
    try:
        for i in range(5):
            zk.create(f"/m{i}", b"x" * i)
            zk.get(f"/m{i}")
    finally:
        zk.stop()
        zk.close()
    kind, families = scrape(metrics_server.metrics_url)
    assert kind.startswith("text/plain; version=0.0.4")
    monitor = mntr(metrics_server)
    znodes = families["znode_count"]
    assert znodes.type == "gauge"
    assert znodes.samples[0].value == float(monitor["zk_znode_count"]) >= 7
    assert families["bytes_received_count"].type == "counter"
    read = families["readlatency"]
    assert read.type == "summary"
    samples = {s.name + str(s.labels.get("quantile", "")): s.value for s in read.samples}
    assert samples["readlatency_count"] == float(monitor["zk_cnt_readlatency"]) >= 5
    assert "readlatency0.5" in samples and "readlatency0.99" in samples
    assert families["updatelatency"].type == "summary"
    for gauge in ("num_alive_connections", "outstanding_requests", "watch_count",
                  "ephemerals_count", "approximate_data_size", "open_file_descriptor_count"):
        assert families[gauge].type == "gauge", gauge
    # mntr's text values are not metrics; neither is anything zk_-prefixed.
    assert "version" not in families and "server_state" not in families
    assert not any(name.startswith("zk_") for name in families)


def test_only_metrics_is_served(metrics_server):
    other = metrics_server.metrics_url.replace("/metrics", "/other")
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(other, timeout=5)
    assert err.value.code == 404


def test_a_taken_port_stops_start_up(server_kind, tmp_path):
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    cfg = {"metricsProvider.className": PROVIDER, "metricsProvider.httpHost": "127.0.0.1",
           "metricsProvider.httpPort": str(taken.getsockname()[1])}
    srv = Server(server_kind, tmp_path / "srv", cfg)
    try:
        with pytest.raises(Exception, match="cannot start the /metrics endpoint"):
            srv.start(timeout=10)
    finally:
        srv.stop()
        taken.close()
