#!/usr/bin/env python3
"""Summarize a bench/scale.sh run directory (results.jsonl) as markdown tables:
memory with N znodes, recovery time, memory per idle session, durable write
throughput (forceSync=yes vs no), with ratios ferrokeeper/ZooKeeper and the
issue-3/issue-4 targets. Given several run directories, or `--pool` and one
or more, pools their forceSync rounds instead."""

import json
import os
import re
import statistics
import sys


def mib(kb):
    return f"{kb / 1024:,.0f} MiB"


def ratio(a, b):
    return f"{a / b:.2f}x" if b else "-"


def verdict(ok):
    return "met" if ok else "MISSED"


def median(xs):
    return statistics.median(xs) if xs else 0


def results(out):
    """The measurements of a run directory (results.jsonl)."""
    return [json.loads(l) for l in open(os.path.join(out, "results.jsonl")) if l.strip()]


def fsync_runs(rows):
    """ferrokeeper's forceSync rounds: {(round, "yes"|"no"): the bench JSON}."""
    return {
        (r["round"], r["force_sync"]): json.load(open(r["json"]))
        for r in rows
        if r["phase"] == "fsync" and r["server"] == "ferrokeeper" and os.path.exists(r["json"])
    }


def floor_probes(rows):
    """The fsync phase's floor probes: {(round, "idle"|"loaded"): the JSON}
    (runs from before the state field have only idle ones)."""
    return {
        (r["round"], r.get("state", "idle")): json.load(open(r["json"]))
        for r in rows
        if r["phase"] == "fsync-floor" and os.path.exists(r["json"])
    }


def print_fsync_cost(rows):
    """Per round: what fsync adds to ferrokeeper's mean write latency, beside
    what one group commit costs on this disk with no server code involved
    (idle, and with the machine under the same load), and the yes/no ratio
    those costs would allow."""
    mean, in_flight = {}, 0
    for key, run in fsync_runs(rows).items():
        mean[key] = run["total"]["latency_us"]["mean"]
        in_flight = run["params"]["sessions"] * run["params"]["inflight"]
    probe = floor_probes(rows)
    lines = []
    for rnd in sorted({r for r, _ in probe}):
        no, yes = mean.get((rnd, "no")), mean.get((rnd, "yes"))
        idle, loaded = probe.get((rnd, "idle")), probe.get((rnd, "loaded"))
        if no is None or yes is None or idle is None or loaded is None:
            continue
        f_idle, f_loaded = idle["fdatasync_us"]["mean"], loaded["fdatasync_us"]["mean"]
        added = yes - no
        lines.append(
            f"| {rnd} | {no:,.0f} | {yes:,.0f} | {added:,.0f} | {f_idle:,.0f} | {f_loaded:,.0f} "
            f"| {no / yes:.2f}x | {no / (no + 1.5 * f_idle):.2f}x | {no / (no + 1.5 * f_loaded):.2f}x |"
        )
        write_bytes = idle["write_bytes"]
    if not lines:
        return
    print(f"\n#### What fsync adds to a write (ferrokeeper, mean latencies; F: write of {write_bytes:,} B + fdatasync, mean, no server code, after each round)\n")
    print("| round | L: forceSync=no µs | forceSync=yes µs | added µs | F idle µs | F under load µs | yes/no = L / (L + added) | L / (L + 1.5 F idle) | L / (L + 1.5 F under load) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    print("\n".join(lines))
    print(
        f"\nWith {in_flight} writes in flight, ops/s is {in_flight} / mean latency, so yes/no is L / (L + added)."
        " Group commit adds at least one fdatasync to each write, and the disk runs one at a time,"
        " so a write that arrives during one also waits for it to end, half of one on average:"
        " added is about 1.5 F when the server adds nothing of its own. F under load is timed while"
        " an unmeasured forceSync=no run keeps the machine as busy as the rounds do."
    )


def main(out):
    rows = results(out)
    by = lambda phase, server: [r for r in rows if r["phase"] == phase and r["server"] == server]
    print(open(os.path.join(out, "machine.txt")).read().rstrip().replace("\n", "  \n"))
    print()

    zk, fk = by("loaded", "zookeeper"), by("loaded", "ferrokeeper")
    if zk and fk:
        zk, fk = zk[-1], fk[-1]
        ez, ef = by("empty", "zookeeper"), by("empty", "ferrokeeper")
        n = fk["nodes"]
        print(f"### Memory with {n:,} znodes\n")
        print("| figure | ZooKeeper | ferrokeeper | fk/ZK | target |")
        print("|---|---:|---:|---:|---|")
        r = fk["rss_kb"] / zk["rss_kb"]
        print(f"| RSS after load + settle | {mib(zk['rss_kb'])} | {mib(fk['rss_kb'])} | {r:.2f}x | <= 0.33x {verdict(r <= 1 / 3)} |")
        if ez and ef:
            print(f"| RSS empty (before load) | {mib(ez[-1]['rss_kb'])} | {mib(ef[-1]['rss_kb'])} | {ratio(ef[-1]['rss_kb'], ez[-1]['rss_kb'])} | |")
            dz = (zk["rss_kb"] - ez[-1]["rss_kb"]) * 1024 / n
            df = (fk["rss_kb"] - ef[-1]["rss_kb"]) * 1024 / n
            print(f"| RSS growth per znode | {dz:,.0f} B | {df:,.0f} B | {ratio(df, dz)} | |")
        if zk.get("heap_used_kb"):
            print(f"| ZooKeeper heap used (jcmd GC.heap_info) | {mib(zk['heap_used_kb'])} | | | |")
        rec = lambda s, sig: [r for r in by("recovery", s) if r["signal"] == sig]
        for sig in ("TERM", "KILL"):
            rz, rf = rec("zookeeper", sig), rec("ferrokeeper", sig)
            if rz and rf:
                a = median([r["rss_kb_after"] for r in rz])
                b = median([r["rss_kb_after"] for r in rf])
                print(f"| RSS after restart (SIG{sig}) + settle | {mib(a)} | {mib(b)} | {ratio(b, a)} | |")
        print(f"| populate time ({n:,} creates, same client) | {zk['populate_s']:.1f} s | {fk['populate_s']:.1f} s | {ratio(fk['populate_s'], zk['populate_s'])} | |")
        print(f"| server threads | {zk['threads']} | {fk['threads']} | | |")
        print()

        print(f"### Start-up / recovery with {n:,} znodes (launch until getData of the last node succeeds)\n")
        print("| stop | figure | ZooKeeper | ferrokeeper | fk/ZK | target |")
        print("|---|---|---:|---:|---:|---|")
        for sig in ("TERM", "KILL"):
            rz, rf = rec("zookeeper", sig), rec("ferrokeeper", sig)
            if not (rz and rf):
                continue
            a = median([r["ready_ms"] for r in rz])
            b = median([r["ready_ms"] for r in rf])
            print(f"| SIG{sig} | ready, ms | {a:,.0f} | {b:,.0f} | {b / a:.2f}x | <= 0.33x {verdict(b / a <= 1 / 3)} |")
            a1 = median([r["first_session_ms"] for r in rz])
            b1 = median([r["first_session_ms"] for r in rf])
            print(f"| | first session served, ms | {a1:,.0f} | {b1:,.0f} | {ratio(b1, a1)} | |")
            ca = median([r["cpu_s_at_ready"] for r in rz])
            cb = median([r["cpu_s_at_ready"] for r in rf])
            print(f"| | server CPU until ready, s | {ca:.2f} | {cb:.2f} | {ratio(cb, ca)} | |")
            sa = median([r["stop_ms"] for r in rz])
            sb = median([r["stop_ms"] for r in rf])
            print(f"| | time to stop, ms | {sa:,.0f} | {sb:,.0f} | | |")
            da = rz[-1]["data_mb"]
            db = rf[-1]["data_mb"]
            print(f"| | data dir, MB | {da:,} | {db:,} | | |")
        print()

    iz, iff = by("idle", "zookeeper"), by("idle", "ferrokeeper")
    if iz and iff:
        iz, iff = iz[-1], iff[-1]
        n = iff["sessions"]
        print(f"### {n:,} idle sessions\n")
        print("| figure | ZooKeeper | ferrokeeper | fk/ZK |")
        print("|---|---:|---:|---:|")
        print(f"| RSS before | {mib(iz['rss_kb_before'])} | {mib(iff['rss_kb_before'])} | |")
        print(f"| RSS with the sessions | {mib(iz['rss_kb_after'])} | {mib(iff['rss_kb_after'])} | {ratio(iff['rss_kb_after'], iz['rss_kb_after'])} |")
        pz = (iz["rss_kb_after"] - iz["rss_kb_before"]) * 1024 / n
        pf = (iff["rss_kb_after"] - iff["rss_kb_before"]) * 1024 / n
        print(f"| RSS per session | {pz:,.0f} B | {pf:,.0f} B | {ratio(pf, pz)} |")
        if iz.get("heap_used_kb_after"):
            hz = (iz["heap_used_kb_after"] - iz["heap_used_kb_before"]) * 1024 / n
            print(f"| ZooKeeper heap used per session | {hz:,.0f} B | | |")
        print(f"| open fds | {iz['fds']:,} | {iff['fds']:,} | |")
        conn = {}
        for server in ("zookeeper", "ferrokeeper"):
            p = os.path.join(out, f"idle.{server}.json")
            if os.path.exists(p):
                conn[server] = json.load(open(p))
        if len(conn) == 2:
            a, b = conn["zookeeper"], conn["ferrokeeper"]
            print(f"| time to connect all | {a['connect_seconds']:.1f} s | {b['connect_seconds']:.1f} s | {ratio(b['connect_seconds'], a['connect_seconds'])} |")
            print(f"| sessions lost while held | {a['lost']} | {b['lost']} | |")
        print()

    fs = [r for r in rows if r["phase"] == "fsync"]
    if fs:
        def fig(server, force):
            runs = [json.load(open(r["json"])) for r in fs if r["server"] == server and r["force_sync"] == force and os.path.exists(r["json"])]
            if not runs:
                return None
            t = [r["total"] for r in runs]
            return {
                "ops": median([x["ops_per_sec"] for x in t]),
                "p50": median([x["latency_us"]["p50"] for x in t]),
                "p99": median([x["latency_us"]["p99"] for x in t]),
                "p999": median([x["latency_us"]["p999"] for x in t]),
                "rounds": [x["ops_per_sec"] for x in t],
                "cpu": median([r["cpu_s"] for r in fs if r["server"] == server and r["force_sync"] == force]),
            }

        print("### Durable writes: set-heavy, forceSync=yes vs no\n")
        print("| server | forceSync | ops/s (median) | rounds | p50 µs | p99 µs | p99.9 µs | server CPU s/run | yes/no | target |")
        print("|---|---|---:|---|---:|---:|---:|---:|---:|---|")
        for server in ("zookeeper", "ferrokeeper"):
            y, n = fig(server, "yes"), fig(server, "no")
            for force, f in (("yes", y), ("no", n)):
                if not f:
                    continue
                rr = ", ".join(f"{x / 1000:.1f}k" for x in f["rounds"])
                yn = tgt = ""
                if force == "yes" and n:
                    r = f["ops"] / n["ops"]
                    yn = f"{r:.2f}x"
                    if server == "ferrokeeper":
                        tgt = f">= 0.7x {verdict(r >= 0.7)}"
                print(f"| {server} | {force} | {f['ops']:,.0f} | {rr} | {f['p50']:,.0f} | {f['p99']:,.0f} | {f['p999']:,.0f} | {f['cpu']:.2f} | {yn} | {tgt} |")
        print_fsync_cost(rows)
        y, zy = fig("ferrokeeper", "yes"), fig("zookeeper", "yes")
        if y and zy:
            print(f"\nferrokeeper/ZooKeeper with forceSync=yes: {y['ops'] / zy['ops']:.2f}x ops/s, p99 {ratio(y['p99'], zy['p99'])}.")
        for force in ("yes", "no"):
            p = os.path.join(out, f"fsync.ferrokeeper.{force}.strace")
            j = p + ".json"
            if os.path.exists(p) and os.path.exists(j):
                ops = json.load(open(j))["total"]["ops"]
                calls = {}
                for line in open(p):
                    m = re.match(r"\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(\w+)\s*$", line)
                    if m and m.group(2) != "total":
                        calls[m.group(2)] = int(m.group(1))
                desc = ", ".join(f"{k} {v / max(ops, 1):.3f}" for k, v in sorted(calls.items()))
                print(f"\nferrokeeper forceSync={force} under strace -c ({ops:,} sets in 3 s): calls per set: {desc}.")


def pool_fsync(outs):
    """ferrokeeper's forceSync yes/no per round over several runs, and the
    median of all those rounds: one run's median moves with the machine's
    speed that minute."""
    ratios, yes_ops, no_ops = [], [], []
    print("| run | yes/no per round | idle machine: round trip p50 µs, F mean µs (median of rounds) |\n|---|---|---|")
    for out in outs:
        rows = results(out)
        ops = {key: run["total"]["ops_per_sec"] for key, run in fsync_runs(rows).items()}
        idle_probes = [f for (_, state), f in floor_probes(rows).items() if state == "idle"]
        trip = [f["round_trip_us"]["p50"] for f in idle_probes]
        sync = [f["fdatasync_us"]["mean"] for f in idle_probes]
        run = [ops[(n, "yes")] / ops[(n, "no")] for n, fs in sorted(ops) if fs == "yes" and (n, "no") in ops]
        ratios += run
        yes_ops += [v for (_, fs), v in ops.items() if fs == "yes"]
        no_ops += [v for (_, fs), v in ops.items() if fs == "no"]
        idle = f"{median(trip):.0f}, {median(sync):.0f}" if trip else "-"
        print(f"| {out} | {', '.join(f'{x:.2f}x' for x in run)} | {idle} |")
    if ratios:
        m = median(ratios)
        print(
            f"\nMedian of {len(ratios)} rounds: {m:.3f}x (>= 0.7x {verdict(m >= 0.7)});"
            f" median sets/s {median(yes_ops):,.0f} with fsync, {median(no_ops):,.0f} without."
        )


if __name__ == "__main__":
    if sys.argv[1:2] == ["--pool"]:
        pool_fsync(sys.argv[2:])
    elif len(sys.argv) > 2:
        pool_fsync(sys.argv[1:])
    else:
        main(sys.argv[1] if len(sys.argv) > 1 else ".")
