#!/usr/bin/env python3
"""CPU per probe of blackbox_exporter at a given rate: asks its /probe endpoint RATE times a second for
SECONDS (paced, keep-alive connections, 8 threads) and divides its CPU time by the probes completed.

usage: blackbox.py EXPORTER_PID EXPORTER_URL TARGET_URL SECONDS RATE [MODULE]
MODULE defaults to http_2xx; tcp_connect takes HOST:PORT as the target.
"""
import http.client
import json
import os
import sys
import threading
import time
from urllib.parse import quote, urlparse

pid, exporter, target, seconds, rate = int(sys.argv[1]), sys.argv[2], sys.argv[3], float(sys.argv[4]), float(sys.argv[5])
module = sys.argv[6] if len(sys.argv) > 6 else "http_2xx"
ticks = os.sysconf("SC_CLK_TCK")
parsed = urlparse(exporter)
path = f"/probe?module={module}&target={quote(target, safe='')}"
THREADS = 8


def cpu_seconds():
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / ticks


def get(conn):
    conn.request("GET", path)
    response = conn.getresponse()
    return response.read().decode()


first = get(http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=5))
if "probe_success 1" not in first:
    sys.exit(f"blackbox_exporter's probe of {target} failed:\n{first}")

done = [0] * THREADS
failed = [0] * THREADS


def worker(k, start):
    conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=5)
    step = THREADS / rate
    n = 0
    while True:
        due = start + (n + k / THREADS) * step
        if due - start >= seconds:
            break
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        if "probe_success 1" in get(conn):
            done[k] += 1
        else:
            failed[k] += 1
        n += 1


start = time.monotonic() + 0.1
cpu0 = cpu_seconds()
threads = [threading.Thread(target=worker, args=(k, start)) for k in range(THREADS)]
for t in threads:
    t.start()
for t in threads:
    t.join()
elapsed = time.monotonic() - start
cpu1 = cpu_seconds()
probes = sum(done)
print(json.dumps({
    "seconds": round(elapsed, 1),
    "probes": probes,
    "failed": sum(failed),
    "probes_per_s": round(probes / elapsed, 1),
    "cpu_s": round(cpu1 - cpu0, 2),
    "cpu_s_per_1000_probes": round((cpu1 - cpu0) / probes * 1000, 3),
}))
