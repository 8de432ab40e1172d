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
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cdp import Browser, terminate_on_sigterm  # noqa: E402


def main():
    terminate_on_sigterm()
    parser = argparse.ArgumentParser()
    parser.add_argument("--page", required=True)
    parser.add_argument("--registry", required=True)
    args = parser.parse_args()
    out = {"done": [], "responses": [], "errors": []}
    requests = {}  # requestId -> {"url", "method", "status", "failure"}
    try:
        with Browser() as b:
            def on_event(event):
                params = event.get("params", {})
                method = event["method"]
                if method == "Network.requestWillBeSent" and params["request"]["url"].startswith(args.registry):
                    requests[params["requestId"]] = {"url": params["request"]["url"], "method": params["request"]["method"],
                                                     "status": None, "failure": None}
                elif params.get("requestId") not in requests:
                    return
                elif method == "Network.responseReceived":
                    requests[params["requestId"]]["status"] = params["response"]["status"]
                elif method == "Network.responseReceivedExtraInfo":
                    # The status as it came off the wire, also for responses the browser then blocks (an <img>
                    # that gets JSON or HTML is cut by opaque-response blocking, without responseReceived).
                    requests[params["requestId"]]["status"] = params.get("statusCode")
                elif method == "Network.loadingFailed":
                    requests[params["requestId"]]["failure"] = params.get("blockedReason") or params.get("errorText")
            b.handlers.append(on_event)
            b.call("Network.enable")
            b.navigate(args.page)
            # The page marks each attack done (whatever its outcome) in document.title.
            b.wait_for("document.title.includes('fetch') && document.title.includes('img') && document.title.includes('form')", timeout=60)
            b.pump(1.0)  # the last responses' events
            out["done"] = b.evaluate("document.title").split()
            out["responses"] = list(requests.values())
    except Exception as e:  # noqa: BLE001
        out["errors"].append(f"{type(e).__name__}: {e}\n{traceback.format_exc(limit=3)}")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
