#!/usr/bin/python3
"""Dashboard benchmark: seeds N services into a running registry, then measures
  1. server render time of GET / (time to the last byte, sequential keep-alive requests), beside GET /api/services;
  2. in headless Chromium: time from navigation start until the full server-rendered table is painted
     (performance mark `dashboard:table-painted`, set by the page script in the frame after parsing), plus
     DOMContentLoaded, first contentful paint and the moment the change stream is open (the page is live).
Bounded: N services, RUNS requests, BROWSER_RUNS navigations."""
import argparse
import http.client
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts", "dashboard"))
from cdp import Browser, terminate_on_sigterm  # noqa: E402


def seed(host, port, n, hang_port, closed_port):
    conn = http.client.HTTPConnection(host, port, timeout=10)
    started = time.time()
    for i in range(n):
        # Half the targets hang (accept, never answer), half refuse: the page must not care.
        target = f"http://127.0.0.1:{hang_port if i % 2 == 0 else closed_port}/health/{i}"
        body = json.dumps({"name": f"svc-{i:04d}", "url": target, "port": 3000 + i,
                           "status": ["active", "active", "inactive", "failed"][i % 4],
                           "description": f"Benchmark service {i} <b>escaped</b> & \"quoted\"",
                           "labels": {"team": f"team{i % 7}", "env": "bench"}})
        conn.request("POST", "/api/services", body, {"Content-Type": "application/json"})
        r = conn.getresponse()
        r.read()
        if r.status != 200:
            raise SystemExit(f"seed failed at {i}: HTTP {r.status}")
    conn.close()
    return time.time() - started


def timed_gets(host, port, path, runs):
    conn = http.client.HTTPConnection(host, port, timeout=30)
    times, size = [], 0
    for _ in range(runs):
        t = time.perf_counter()
        conn.request("GET", path)
        r = conn.getresponse()
        body = r.read()
        times.append((time.perf_counter() - t) * 1000)
        size = len(body)
        assert r.status == 200, r.status
    conn.close()
    return times, size


def summary(values):
    values = sorted(values)
    return {"median": round(statistics.median(values), 1), "min": round(values[0], 1),
            "p90": round(values[int(len(values) * 0.9) - 1 if len(values) >= 10 else -1], 1), "max": round(values[-1], 1)}


def main():
    terminate_on_sigterm()
    p = argparse.ArgumentParser()
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--services", type=int, default=1000)
    p.add_argument("--runs", type=int, default=20)
    p.add_argument("--browser-runs", type=int, default=7)
    p.add_argument("--hang-port", type=int, required=True)
    p.add_argument("--closed-port", type=int, required=True)
    a = p.parse_args()
    base = f"http://{a.host}:{a.port}"

    seconds = seed(a.host, a.port, a.services, a.hang_port, a.closed_port)
    print(f"seeded {a.services} services in {seconds:.1f}s")
    timed_gets(a.host, a.port, "/", 3)  # warm up
    page, page_size = timed_gets(a.host, a.port, "/", a.runs)
    listing, list_size = timed_gets(a.host, a.port, "/api/services", a.runs)
    result = {"services": a.services,
              "server_render_ms": summary(page), "page_bytes": page_size,
              "api_list_ms": summary(listing), "api_list_bytes": list_size}

    painted, dcl, fcp, refreshed = [], [], [], []
    with Browser() as b:
        for domain in ("Page", "Runtime"):
            b.call(domain + ".enable")
        b.viewport(1280, 800)
        for i in range(a.browser_runs + 1):
            b.navigate(base + "/")
            b.wait_for("performance.getEntriesByName('dashboard:table-painted').length && "
                       "performance.getEntriesByName('dashboard:live').length", timeout=30)
            m = b.evaluate("""(() => {
                const nav = performance.getEntriesByType('navigation')[0];
                const paint = performance.getEntriesByName('first-contentful-paint')[0];
                return { rows: document.querySelectorAll('#services tbody tr').length,
                         painted: performance.getEntriesByName('dashboard:table-painted')[0].startTime,
                         refreshed: performance.getEntriesByName('dashboard:live')[0].startTime,
                         dcl: nav.domContentLoadedEventEnd, fcp: paint ? paint.startTime : null }; })()""")
            assert m["rows"] == min(a.services, 100), m   # one page of the view (SPEC §10)
            if i == 0:
                continue  # the first navigation fills the cache (script and stylesheet are cacheable for good)
            painted.append(m["painted"]); dcl.append(m["dcl"]); refreshed.append(m["refreshed"])
            if m["fcp"] is not None:
                fcp.append(m["fcp"])
    result.update({"browser_table_painted_ms": summary(painted), "browser_dom_content_loaded_ms": summary(dcl),
                   "browser_first_contentful_paint_ms": summary(fcp) if fcp else None,
                   "browser_live_ms": summary(refreshed)})
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
