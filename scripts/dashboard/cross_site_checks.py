#!/usr/bin/python3
"""Opens a page of another origin (a second loopback port) in headless Chromium; the page attacks the registry
the way any web site a user visits could: a no-cors fetch POST, a text/plain form POST, and <img src=/scan>.
Prints one JSON object: {"done": [...], "responses": [{"url", "method", "status", "failure"}], "errors": [...]}
(every request the page sent to the registry, with the status the registry answered).
Run by Tests/ServiceRegistryTests/Security/CrossSiteBrowserTests.swift, which asserts that nothing changed.

  /usr/bin/python3 cross_site_checks.py --page URL --registry URL
"""
import argparse
import json
import os
import sys
import time
import traceback
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cdp import Browser, terminate_on_sigterm  # noqa: E402


def dashboard_credentials(b, registry, service_id):
    """Loads the dashboard, changes the record's port (plain HTTP, as a script would) so that the page's script
    rebuilds its row from /api/services, and returns what the page holds then."""
    b.navigate(registry + "/")
    server_html = b.evaluate("document.documentElement.outerHTML")
    request = urllib.request.Request(f"{registry}/api/services/{service_id}", data=json.dumps({"port": 4321}).encode(), method="PUT")
    request.add_header("Content-Type", "application/json")
    urllib.request.urlopen(request, timeout=10).read()
    b.wait_for(f"(() => {{ const tr = document.querySelector('#services tbody tr[data-id=\"{service_id}\"]');"
               " return tr && tr.querySelector('[data-col=port]').textContent.includes('4321'); })()", timeout=30)
    rebuilt_html = b.evaluate("document.documentElement.outerHTML")
    hrefs = b.evaluate("Array.from(document.querySelectorAll('#services a.service-link')).map(a => a.href)")
    return {"server_html": server_html, "rebuilt_html": rebuilt_html, "hrefs": hrefs}


def main():
    terminate_on_sigterm()
    parser = argparse.ArgumentParser()
    parser.add_argument("--page", required=True)
    parser.add_argument("--registry", required=True)
    parser.add_argument("--credentials-service", type=int,
                        help="id of a record whose URL holds credentials: the dashboard must show none, also in rows its script rebuilds")
    args = parser.parse_args()
    out = {"done": [], "responses": [], "errors": []}
    requests = {}  # requestId -> {"url", "method", "status", "failure"}
    # requestId -> the status as it came off the wire, also for responses the browser then blocks (an <img> that gets
    # JSON or HTML is cut by opaque-response blocking, without responseReceived). Kept apart from `requests` and
    # waited for below: CDP does not order these ExtraInfo events with the others, and once, on a loaded machine, the
    # blocked <img>'s status was missing while its loadingFailed had arrived.
    wire_status = {}
    try:
        with Browser() as b:
            def on_event(event):
                params = event.get("params", {})
                method = event["method"]
                if method == "Network.responseReceivedExtraInfo":
                    wire_status[params["requestId"]] = params.get("statusCode")
                elif method == "Network.requestWillBeSent" and params["request"]["url"].startswith(args.registry):
                    requests[params["requestId"]] = {"url": params["request"]["url"], "method": params["request"]["method"],
                                                     "status": None, "failure": None}
                elif params.get("requestId") not in requests:
                    return
                elif method == "Network.responseReceived":
                    requests[params["requestId"]]["status"] = params["response"]["status"]
                elif method == "Network.loadingFailed":
                    requests[params["requestId"]]["failure"] = params.get("blockedReason") or params.get("errorText")
            b.handlers.append(on_event)
            b.call("Network.enable")
            b.navigate(args.page)
            # The page marks each attack done (whatever its outcome) in document.title.
            b.wait_for("document.title.includes('fetch') && document.title.includes('img') && document.title.includes('form')", timeout=60)
            b.pump(1.0)  # the last responses' events
            deadline = time.time() + 10
            while time.time() < deadline and any(r["status"] is None and i not in wire_status for i, r in requests.items()):
                b.pump(0.2)
            out["done"] = b.evaluate("document.title").split()
            for request_id, request in requests.items():
                if request["status"] is None:
                    request["status"] = wire_status.get(request_id)
            out["responses"] = list(requests.values())
            if args.credentials_service:
                out["dashboard"] = dashboard_credentials(b, args.registry, args.credentials_service)
    except Exception as e:  # noqa: BLE001
        out["errors"].append(f"{type(e).__name__}: {e}\n{traceback.format_exc(limit=3)}")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
