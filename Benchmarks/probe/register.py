#!/usr/bin/env python3
"""Registers N services against a registry (keep-alive connections, a few threads).

usage: register.py REGISTRY_URL TARGET_BASE N
Each service gets url TARGET_BASE/svc/<i>, so every service is a distinct target.
"""
import http.client
import json
import sys
import threading
from urllib.parse import urlparse

registry, target, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
parsed = urlparse(registry)
errors = []


def worker(indices):
    conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=30)
    for i in indices:
        body = json.dumps({"name": f"bench-{i}", "url": f"{target}/svc/{i}"})
        conn.request("POST", "/api/services", body, {"Content-Type": "application/json"})
        response = conn.getresponse()
        response.read()
        if response.status != 200:
            errors.append(response.status)
    conn.close()


threads = [threading.Thread(target=worker, args=(range(k, count, 4),)) for k in range(4)]
for t in threads:
    t.start()
for t in threads:
    t.join()
if errors:
    sys.exit(f"{len(errors)} registrations failed, e.g. HTTP {errors[0]}")
