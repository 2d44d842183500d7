#!/usr/bin/env python3
"""Query latency under concurrent load while tickflow ingests (BENCHMARKS.md, "Query latency").

Starts `tickflow run --serve` on a generated input (loopback, free port), and as soon as the server
listens, runs CONCURRENCY client threads that loop over a mix of queries (one latest price, a prefix list,
one instrument's 1h bars) until the dataflow logs that it finished; then prints latency percentiles per
route and overall, the request rate, and the run's ingest summary. Every answer must be 200.

    scripts/query_load.py [--bin target/debug/tickflow] [--count 2000000] [--concurrency 16]
"""
import argparse
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.parse


# The bundled reference data's all-tenants test key (reference/README.md).
HEADERS = {"Authorization": "Bearer " + os.environ.get("TICKFLOW_API_KEY", "tickflow-admin-test-key")}


def get(conn, path):
    t0 = time.perf_counter()
    conn.request("GET", path, headers=HEADERS)
    r = conn.getresponse()
    body = r.read()
    return r.status, body, time.perf_counter() - t0


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p / 100 * len(xs)))] * 1000 if xs else float("nan")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(os.environ.get("CARGO_TARGET_DIR", "target"), "debug", "tickflow"))
    ap.add_argument("--count", type=int, default=2_000_000)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--workers", type=int, default=2)
    a = ap.parse_args()
    env = dict(os.environ, DATA_PROC_HEALTH_PORT="0", DATA_PROC_HTTP_BIND_ADDRESS="127.0.0.1")
    cmd = [a.bin, "run", "--serve", "--output", "null", "-w", str(a.workers),
           "--input", f"generator:mode=high-volume,count={a.count},seed=7"]
    p = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    port, finished, log = None, threading.Event(), []

    def read_log():
        for line in p.stderr:
            log.append(line)
            if "dataflow finished" in line:
                finished.set()
    threading.Thread(target=read_log, daemon=True).start()
    while port is None:
        for line in list(log):
            m = re.search(r"http server listening addr=[\d.]+:(\d+)", line)
            if m:
                port = int(m.group(1))
        if p.poll() is not None:
            sys.exit("tickflow exited: " + "".join(log))
        time.sleep(0.01)
    started = time.perf_counter()
    # Instruments appear as the job ingests.
    instruments = []
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    while not instruments and not finished.is_set():
        _, body, _ = get(c, "/v1/latest?prefix=")
        instruments = [r["instrument_id"] for r in json.loads(body)]
        time.sleep(0.05)
    results = {"latest": [], "prefix": [], "bars": []}
    errors = []
    lock = threading.Lock()

    def client(i):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        n, local = 0, {k: [] for k in results}
        while not finished.is_set():
            inst = urllib.parse.quote(instruments[(i + n) % len(instruments)])
            kind = ("latest", "prefix", "bars")[n % 3]
            path = {"latest": f"/v1/latest?instrument_id={inst}",
                    "prefix": "/v1/latest?prefix=" + urllib.parse.quote(instruments[0][:4]),
                    "bars": f"/v1/bars?instrument_id={inst}&interval=1h"}[kind]
            status, _, dt = get(conn, path)
            if status != 200:
                errors.append((path, status))
            local[kind].append(dt)
            n += 1
        with lock:
            for k, v in local.items():
                results[k].extend(v)
    threads = [threading.Thread(target=client, args=(i,)) for i in range(a.concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    p.send_signal(signal.SIGTERM)
    out, _ = p.communicate(timeout=60)
    total = sum(len(v) for v in results.values())
    print(f"{a.concurrency} clients, {len(instruments)} instruments, {total} requests in {elapsed:.1f} s "
          f"({total / elapsed:.0f} req/s) while ingesting {a.count} ticks; errors: {len(errors)}")
    print(f"{'route':8} {'n':>7} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for k, v in list(results.items()) + [("all", sum(results.values(), []))]:
        print(f"{k:8} {len(v):7} {pct(v, 50):8.2f} {pct(v, 90):8.2f} {pct(v, 99):8.2f} {pct(v, 100):8.2f}")
    print(out.strip())
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
