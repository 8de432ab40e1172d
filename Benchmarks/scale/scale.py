#!/usr/bin/python3
"""Client side of Benchmarks/scale.sh (stdlib, plus python3-websocket for the browser). Loopback only; every loop is
bounded in count and time. Subcommands (each prints one JSON object on stdout):

  ids PORT                 ids of every service, paged with limit=1000&after= : {"count", "mid"}
  sse PORT [options]       SUBSCRIBERS raw-socket clients of GET /api/events (spread over a few processes) while
                           a writer PUTs a description "scale-<run token> t=<send time> n=<seq>" at RATE changes/s for SECONDS
                           over CONNECTIONS keep-alive connections, each service at most once per permutation of
                           the ids (so no two changes of one service fall into one 100 ms batch: nothing coalesces).
                           Delivery latency = time a subscriber's read returned the event minus the send time of
                           the PUT (so it includes the PUT's own commit). Counted per subscriber: the first
                           delivery of each n.
  tab PORT [options]       headless Chromium: PAINT_RUNS navigations of / (after one warm-up) for the
                           `dashboard:table-painted` mark and First Contentful Paint; then a fresh load left idle
                           for IDLE_SECONDS while 1% of the services per minute get a new description (spread
                           evenly), summing CDP encodedDataLength of every request of the tab (event streams
                           included) over the window.
"""
import argparse
import http.client
import json
import multiprocessing
import os
import random
import re
import selectors
import socket
import sys
import threading
import time

HOST = "127.0.0.1"


def all_ids(port):
    c = http.client.HTTPConnection(HOST, port, timeout=60)
    ids, after = [], None
    for _ in range(10000):  # at most 10,000,000 services
        c.request("GET", "/api/services?limit=1000" + (f"&after={after}" if after is not None else ""))
        r = c.getresponse()
        page = json.loads(r.read())
        assert r.status == 200, r.status
        ids += [s["id"] for s in page]
        if not r.getheader("Link") or not page:
            break
        after = page[-1]["id"]
    c.close()
    return ids


def pct(values, p):
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p))]


# ---- description writer ------------------------------------------------------------------------------------------
class Writer:
    """PUTs descriptions at `rate` per second over `connections` keep-alive connections for `seconds`: change k is
    due at start + k/rate (sent at once when late), on service order[k % len(order)]."""

    def __init__(self, port, ids, rate, seconds, connections, tag="scale"):
        self.port, self.rate, self.seconds, self.connections, self.tag = port, rate, seconds, connections, tag
        self.order = list(ids)
        random.shuffle(self.order)
        self.ok = self.failed = 0
        self.put_ms = []
        self.lock = threading.Lock()
        self.started = self.finished = None
        self.stop = threading.Event()

    def _run(self, worker):
        c = http.client.HTTPConnection(HOST, self.port, timeout=10)
        total = int(self.rate * self.seconds)
        for k in range(worker, total, self.connections):
            if self.stop.is_set():
                break
            due = self.started + k / self.rate
            delay = due - time.time()
            if delay > 0:
                time.sleep(delay)
            if time.time() > self.started + self.seconds + 5:
                break  # far behind: stop (the achieved rate says so)
            sid = self.order[k % len(self.order)]
            sent = time.time()
            body = json.dumps({"description": f"{self.tag} t={sent:.6f} n={k}"})
            try:
                c.request("PUT", f"/api/services/{sid}", body, {"Content-Type": "application/json"})
                r = c.getresponse()
                r.read()
                good = r.status == 200
            except (OSError, http.client.HTTPException):
                good = False
                c.close()
                c = http.client.HTTPConnection(HOST, self.port, timeout=10)
            with self.lock:
                if good:
                    self.ok += 1
                    self.put_ms.append((time.time() - sent) * 1000)
                else:
                    self.failed += 1
        c.close()

    def run(self):
        self.started = time.time()
        threads = [threading.Thread(target=self._run, args=(w,), daemon=True) for w in range(self.connections)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=self.seconds + 30)
        self.finished = time.time()
        return self

    def report(self):
        elapsed = max(1e-9, self.finished - self.started)
        return {"puts_ok": self.ok, "puts_failed": self.failed, "seconds": round(elapsed, 2),
                "achieved_per_s": round(self.ok / elapsed, 1), "target_per_s": self.rate,
                "put_p50_ms": round(pct(self.put_ms, 0.5) or 0, 2), "put_p99_ms": round(pct(self.put_ms, 0.99) or 0, 2)}


# ---- SSE subscribers ---------------------------------------------------------------------------------------------
# A token per run, so descriptions left by an earlier run (sent again when a probe changes such a record) never count.
RUN = "scale-%08x" % random.getrandbits(32)
MARK = re.compile(RUN.encode() + rb" t=(\d+\.\d+) n=(\d+)")


def subscriber_process(port, count, stop, queue, deadline, path="/api/events"):
    """`count` subscribers on raw sockets in one selector loop. Each read is stamped when it returns; complete
    events (up to the last blank line) are scanned for the writer's marker. Chunked framing is left in the
    buffer: a chunk is one whole batch of events, so its size lines never split a marker."""
    sel = selectors.DefaultSelector()
    socks = []
    for i in range(count):
        s = socket.create_connection((HOST, port), timeout=10)
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\nAccept: text/event-stream\r\n\r\n".encode())
        s.setblocking(False)
        state = {"buf": b"", "seen": {}, "headers": False, "events": 0, "bytes": 0}
        sel.register(s, selectors.EVENT_READ, state)
        socks.append((s, state))
    ready_sent = False
    while not stop.is_set() and time.time() < deadline:
        for key, _ in sel.select(timeout=0.2):
            try:
                data = key.fileobj.recv(1 << 20)
            except BlockingIOError:
                continue
            now = time.time()
            st = key.data
            if not data:
                sel.unregister(key.fileobj)
                continue
            st["bytes"] += len(data)
            buf = st["buf"] + data
            if not st["headers"]:
                end = buf.find(b"\r\n\r\n")
                if end < 0:
                    st["buf"] = buf
                    continue
                st["status"] = buf.split(b" ", 2)[1].decode()
                st["headers"] = True
                buf = buf[end + 4:]
            cut = buf.rfind(b"\n\n")
            if cut < 0:
                st["buf"] = buf
                continue
            done, st["buf"] = buf[:cut + 2], buf[cut + 2:]
            st["events"] += done.count(b"\nevent: ") + done.startswith(b"event: ")
            seen = st["seen"]
            for m in MARK.finditer(done):
                n = int(m.group(2))
                if n not in seen:
                    seen[n] = now - float(m.group(1))
        if not ready_sent and all(st["headers"] for _, st in socks):
            queue.put(("ready", os.getpid()))
            ready_sent = True
    latencies, counts, statuses, events, nbytes = [], [], [], 0, 0
    for s, st in socks:
        latencies += st["seen"].values()
        counts.append(len(st["seen"]))
        statuses.append(st.get("status", "none"))
        events += st["events"]
        nbytes += st["bytes"]
        s.close()
    queue.put(("done", {"latencies": latencies, "counts": counts, "statuses": statuses, "events": events,
                        "bytes": nbytes}))


def cmd_sse(a):
    ids = all_ids(a.port)
    procs = min(a.processes, a.subscribers)
    per = [a.subscribers // procs + (1 if i < a.subscribers % procs else 0) for i in range(procs)]
    ctx = multiprocessing.get_context("fork")
    stop, queue = ctx.Event(), ctx.Queue()
    deadline = time.time() + a.seconds + 120
    workers = [ctx.Process(target=subscriber_process, args=(a.port, n, stop, queue, deadline, "/api/events" + ("?" + a.query if a.query else ""))) for n in per]
    for w in workers:
        w.start()
    ready = 0
    t = time.time()
    while ready < procs and time.time() < t + 30:
        try:
            kind, _ = queue.get(timeout=1)
            ready += kind == "ready"
        except Exception:
            pass
    if ready < procs:
        stop.set()
        raise SystemExit("subscribers did not connect within 30 s")
    writer = Writer(a.port, ids, a.rate, a.seconds, a.connections, tag=RUN).run()
    time.sleep(a.drain)
    stop.set()
    results = []
    while len(results) < procs:
        kind, value = queue.get(timeout=120)
        if kind == "done":
            results.append(value)
    for w in workers:
        w.join(timeout=10)
    latencies = [x for r in results for x in r["latencies"]]
    counts = [x for r in results for x in r["counts"]]
    statuses = sorted({x for r in results for x in r["statuses"]})
    out = writer.report()
    expected = out["puts_ok"] * a.subscribers
    out.update({"subscribers": a.subscribers, "statuses": statuses, "received": len(latencies), "expected": expected,
                "min_per_subscriber": min(counts) if counts else 0,
                "events_total": sum(r["events"] for r in results), "stream_bytes": sum(r["bytes"] for r in results),
                "p50_ms": round(1000 * (pct(latencies, 0.5) or 0), 1), "p99_ms": round(1000 * (pct(latencies, 0.99) or 0), 1),
                "max_ms": round(1000 * (max(latencies) if latencies else 0), 1)})
    print(json.dumps(out))


# ---- the dashboard in headless Chromium -----------------------------------------------------------------------------
def cmd_tab(a):
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts", "dashboard"))
    from cdp import Browser, CDPError, terminate_on_sigterm
    terminate_on_sigterm()
    base = f"http://{HOST}:{a.port}"
    painted_expr = "performance.getEntriesByName('dashboard:table-painted').length > 0"
    measure_expr = """(() => {
        const p = performance.getEntriesByName('dashboard:table-painted')[0];
        const f = performance.getEntriesByName('first-contentful-paint')[0];
        return { painted: p ? p.startTime : null, fcp: f ? f.startTime : null,
                 rows: document.querySelectorAll('tbody tr').length }; })()"""
    out = {"paint_ms": [], "fcp_ms": [], "rows": None}
    with Browser() as b:
        b.call("Page.enable")
        b.call("Runtime.enable")
        b.viewport(1280, 800)
        try:
            for i in range(a.paint_runs + 1):
                b.navigate(base + "/", timeout=a.timeout)
                b.wait_for(painted_expr, timeout=a.timeout)
                m = b.evaluate(measure_expr)
                out["rows"] = m["rows"]
                if i == 0:
                    continue  # the first navigation fills the cache (script and stylesheet)
                out["paint_ms"].append(round(m["painted"], 1))
                if m["fcp"] is not None:
                    out["fcp_ms"].append(round(m["fcp"], 1))
        except CDPError as e:
            out["paint_error"] = str(e)[:200]

        # The idle tab: a fresh load, then IDLE_SECONDS with 1% of the services changing per minute.
        requests, window = {}, {"open": False}

        def on_event(ev):
            method, p = ev["method"], ev.get("params", {})
            if method == "Network.requestWillBeSent":
                requests[p["requestId"]] = {"url": p["request"]["url"], "seen": 0, "counted": 0,
                                            "in_window": window["open"]}
            r = requests.get(p.get("requestId"))
            if r is None:
                return
            if method == "Network.dataReceived":
                n = p.get("encodedDataLength", 0)
                r["seen"] += n
                if window["open"]:
                    r["counted"] += n
            elif method == "Network.loadingFinished":
                # The total includes the response headers and any bytes dataReceived did not report.
                rest = max(0, int(p.get("encodedDataLength", 0)) - r["seen"])
                r["seen"] += rest
                if window["open"]:
                    r["counted"] += rest
                r["finished"] = True

        b.handlers.append(on_event)
        try:
            # A tab still busy with the last paint run may take a while to answer.
            b.call("Network.enable", timeout=a.timeout)
            b.navigate(base + "/", timeout=a.timeout)
            b.wait_for(painted_expr, timeout=a.timeout)
        except CDPError as e:
            out["idle_error"] = str(e)[:200]
            print(json.dumps(out))
            return
        b.pump(a.settle)
        ids = all_ids(a.port)
        per_minute = max(1, round(len(ids) * a.change_fraction))
        writer = Writer(a.port, ids, per_minute / 60.0, a.idle_seconds, 1, tag="idle")
        for r in requests.values():
            r["counted"] = 0
        window["open"] = True
        started = time.time()
        thread = threading.Thread(target=writer.run, daemon=True)
        thread.start()
        b.pump(a.idle_seconds)
        window["open"] = False
        elapsed = time.time() - started
        writer.stop.set()
        thread.join(timeout=15)
        total = sum(r["counted"] for r in requests.values())
        by_path = {}
        for r in requests.values():
            if r["counted"] or r["in_window"]:
                path = r["url"].replace(base, "").split("?")[0]
                e = by_path.setdefault(path, {"requests": 0, "bytes": 0})
                e["requests"] += 1 if r["in_window"] else 0
                e["bytes"] += r["counted"]
        out.update({"idle_seconds": round(elapsed, 1), "idle_bytes": total,
                    "idle_bytes_per_s": round(total / elapsed), "idle_changes": writer.ok,
                    "idle_changes_per_min": per_minute, "idle_by_path": by_path})
    print(json.dumps(out))


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    i = sub.add_parser("ids")
    i.add_argument("port", type=int)
    s = sub.add_parser("sse")
    s.add_argument("port", type=int)
    s.add_argument("--subscribers", type=int, default=100)
    s.add_argument("--processes", type=int, default=4)
    s.add_argument("--rate", type=float, default=1000)
    s.add_argument("--seconds", type=float, default=10)
    s.add_argument("--connections", type=int, default=8)
    s.add_argument("--drain", type=float, default=3)
    s.add_argument("--query", default="", help="query string of /api/events, e.g. timings=none")
    t = sub.add_parser("tab")
    t.add_argument("port", type=int)
    t.add_argument("--paint-runs", type=int, default=3)
    t.add_argument("--idle-seconds", type=float, default=60)
    t.add_argument("--change-fraction", type=float, default=0.01, help="of the services, per minute")
    t.add_argument("--settle", type=float, default=2)
    t.add_argument("--timeout", type=float, default=180)
    a = p.parse_args()
    if a.cmd == "ids":
        ids = all_ids(a.port)
        print(json.dumps({"count": len(ids), "mid": ids[len(ids) // 2] if ids else 0}))
    elif a.cmd == "sse":
        cmd_sse(a)
    else:
        cmd_tab(a)


if __name__ == "__main__":
    main()
