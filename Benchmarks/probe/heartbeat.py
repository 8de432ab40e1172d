#!/usr/bin/env python3
"""Sends the heartbeats of TTL services over HTTP, as the services themselves would (SPEC §9).

usage: heartbeat.py REGISTRY_URL TTL_IDS_FILE INTERVAL SECONDS
Every id gets one POST /api/services/{id}/heartbeat per INTERVAL seconds, paced evenly (keep-alive
connections, 4 threads), for SECONDS. Prints one JSON object: heartbeats sent, failed, per second, p99 latency.
"""
import http.client
import json
import sys
import threading
import time
from urllib.parse import urlparse

registry, ids_file, interval, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
parsed = urlparse(registry)
ids = [int(line) for line in open(ids_file) if line.strip()]
THREADS = 4
sent = [0] * THREADS
failed = [0] * THREADS
latencies = [[] for _ in range(THREADS)]
rate = len(ids) / interval
start = time.monotonic() + 0.1


def worker(k):
    conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=10)
    step = THREADS / rate
    n = 0
    while True:
        due = start + (n + k / THREADS) * step
        if due - start >= seconds:
            break
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        service = ids[(n * THREADS + k) % len(ids)]
        t = time.monotonic()
        conn.request("POST", f"/api/services/{service}/heartbeat", "", {"Content-Length": "0"})
        response = conn.getresponse()
        response.read()
        latencies[k].append(time.monotonic() - t)
        if response.status == 200:
            sent[k] += 1
        else:
            failed[k] += 1
        n += 1


threads = [threading.Thread(target=worker, args=(k,)) for k in range(THREADS)]
for t in threads:
    t.start()
for t in threads:
    t.join()
elapsed = time.monotonic() - start
all_latencies = sorted(x for part in latencies for x in part)
p99 = all_latencies[int(len(all_latencies) * 0.99) - 1] if all_latencies else 0
print(json.dumps({"heartbeats": sum(sent), "failed": sum(failed), "per_s": round(sum(sent) / elapsed, 1),
                  "p99_ms": round(p99 * 1000, 2)}))
