#!/usr/bin/env python3
"""An abusive client for Benchmarks/abuse.sh: holds IDLE idle connections and SLOW slowloris connections (one byte
per connection per second, a head that never ends) to 127.0.0.1:PORT, reconnecting any the server closes, while a
second thread times GET /health on a fresh connection every 0.2 s. Runs SECONDS, then prints one JSON object.

usage: client.py PORT IDLE SLOW SECONDS
Prints "ready" on stderr once the connections are open. Loopback only; bounded in time and count.
"""
import http.client
import json
import selectors
import socket
import sys
import threading
import time

port, idle_count, slow_count, seconds = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
selector = selectors.DefaultSelector()
stats = {"connects": 0, "closed_by_server": 0, "connect_failures": 0}


def open_one(kind):
    s = socket.socket()
    s.setblocking(False)
    try:
        s.connect(("127.0.0.1", port))
    except BlockingIOError:
        pass
    except OSError:
        stats["connect_failures"] += 1
        s.close()
        return None
    stats["connects"] += 1
    selector.register(s, selectors.EVENT_READ, kind)
    return s


latencies = []
health_failures = [0]
stop = threading.Event()


def sample_health():
    while not stop.is_set():
        start = time.monotonic()
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            c.request("GET", "/health")
            r = c.getresponse()
            r.read()
            c.close()
            if r.status == 200:
                latencies.append(time.monotonic() - start)
            else:
                health_failures[0] += 1
        except OSError:
            health_failures[0] += 1
        stop.wait(0.2)


slow = set()
for _ in range(idle_count):
    open_one("idle")
for _ in range(slow_count):
    s = open_one("slow")
    if s:
        slow.add(s)
time.sleep(0.5)
for s in list(slow):
    try:
        s.send(b"GET /health HTTP/1.1\r\nHost: x\r\n")
    except OSError:
        pass
print("ready", file=sys.stderr, flush=True)
sampler = threading.Thread(target=sample_health)
sampler.start()
deadline = time.monotonic() + seconds
next_trickle = time.monotonic() + 1
held = []
while time.monotonic() < deadline:
    for key, _ in selector.select(timeout=0.1):
        s, kind = key.fileobj, key.data
        try:
            data = s.recv(4096)
        except OSError:
            data = b""
        if not data:  # closed by the server: reconnect, as an attacker would
            stats["closed_by_server"] += 1
            selector.unregister(s)
            slow.discard(s)
            s.close()
            fresh = open_one(kind)
            if fresh and kind == "slow":
                slow.add(fresh)
                try:
                    fresh.send(b"GET /health HTTP/1.1\r\nHost: x\r\n")
                except OSError:
                    pass
    if time.monotonic() >= next_trickle:
        next_trickle += 1
        held.append(len(selector.get_map()))
        for s in list(slow):
            try:
                s.send(b"x")
            except OSError:
                pass
stop.set()
sampler.join()
for key in list(selector.get_map().values()):
    key.fileobj.close()
latencies.sort()


def pct(p):
    return round(latencies[min(len(latencies) - 1, int(len(latencies) * p))] * 1000, 1) if latencies else None


print(json.dumps({
    "held_avg": round(sum(held) / len(held)) if held else 0,
    "held_min": min(held) if held else 0,
    **stats,
    "health_requests": len(latencies) + health_failures[0],
    "health_failures": health_failures[0],
    "health_p50_ms": pct(0.5),
    "health_p99_ms": pct(0.99),
    "health_max_ms": round(latencies[-1] * 1000, 1) if latencies else None,
}))
