#!/usr/bin/env python3
"""Registers N services against a registry (keep-alive connections, a few threads).

usage: register.py REGISTRY_URL TARGET_BASE N [mixed TCP_TARGET TTL_IDS_FILE | tcp TCP_TARGET]
Each service gets url TARGET_BASE/svc/<i>, so every service is a distinct target.
mixed (SPEC §9): a third are probed over HTTP as above, a third get health_url TCP_TARGET (tcp://HOST:PORT,
a TCP connect check), a third get ttl_seconds 30 (their url is then not probed: they send heartbeats); the ids
of the TTL services are written to TTL_IDS_FILE, one per line.
tcp: every service gets health_url TCP_TARGET (TCP connect checks only; the url is then not probed).
"""
import http.client
import json
import sys
import threading
from urllib.parse import urlparse

registry, target, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
mixed = len(sys.argv) > 4 and sys.argv[4] == "mixed"
tcp_only = len(sys.argv) > 4 and sys.argv[4] == "tcp"
tcp_target = sys.argv[5] if mixed or tcp_only else None
ttl_ids_file = sys.argv[6] if mixed else None
parsed = urlparse(registry)
errors = []
ttl_ids = []


def worker(indices):
    conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=30)
    for i in indices:
        record = {"name": f"bench-{i}", "url": f"{target}/svc/{i}"}
        if tcp_only or (mixed and i % 3 == 1):
            record["health_url"] = tcp_target
        elif mixed and i % 3 == 2:
            record["ttl_seconds"] = 30
        conn.request("POST", "/api/services", json.dumps(record), {"Content-Type": "application/json"})
        response = conn.getresponse()
        answer = response.read()
        if response.status != 200:
            errors.append(response.status)
        elif "ttl_seconds" in record:
            ttl_ids.append(json.loads(answer)["id"])
    conn.close()


threads = [threading.Thread(target=worker, args=(range(k, count, 4),)) for k in range(4)]
for t in threads:
    t.start()
for t in threads:
    t.join()
if errors:
    sys.exit(f"{len(errors)} registrations failed, e.g. HTTP {errors[0]}")
if ttl_ids_file:
    with open(ttl_ids_file, "w") as f:
        f.write("".join(f"{i}\n" for i in sorted(ttl_ids)))
