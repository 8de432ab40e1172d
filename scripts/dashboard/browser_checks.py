#!/usr/bin/python3
"""Drives the dashboard in headless Chromium through the DevTools protocol and prints one JSON object:
{"checks": [{"name", "ok", "detail"}], "screenshots": [...], "errors": [...], "network_errors": [...]}.

Run by Tests/ServiceRegistryTests/Dashboard/DashboardBrowserTests.swift, which starts the registries, seeds them
and asserts that every expected check is present and ok. One browser for the whole run.

  /usr/bin/python3 browser_checks.py --base URL --auth-base URL --token T --expect JSON --flip-file PATH --artifacts DIR

`--flow resubscribe` runs only the re-subscription checks instead (DashboardResubscribeBrowserTests.swift): the
driver holds every one of `--max-event-streams` streams itself, then lets them go.

  /usr/bin/python3 browser_checks.py --flow resubscribe --base URL --max-event-streams N --artifacts DIR
"""
import argparse
import json
import os
import socket
import sys
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cdp import Browser, CDPError, terminate_on_sigterm  # noqa: E402

ROW_NAMES = "Array.from(document.querySelectorAll('#services tbody tr')).map(tr => tr.querySelector('[data-col=name]').textContent)"


def js(value):
    return json.dumps(value)


def ensure(condition, message):
    if not condition:
        raise AssertionError(message)


def api(base, method, path, body=None, token=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method=method)
    if body is not None:
        request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(request, timeout=10) as r:
            text = r.read().decode()
            is_json = r.headers.get("Content-Type", "").startswith("application/json")
            return r.status, (json.loads(text) if text and is_json else None), text
    except urllib.error.HTTPError as e:
        text = e.read().decode()
        try:
            return e.code, json.loads(text), text
        except ValueError:
            return e.code, None, text


class Session:
    def __init__(self, browser, artifacts):
        self.b = browser
        self.artifacts = artifacts
        self.checks = []
        self.screenshots = []
        self.errors = []          # console errors and uncaught exceptions
        self.network_errors = []  # "Failed to load resource" entries (HTTP error statuses), with their URL
        self.dialogs = []         # alert/confirm/prompt dialogs (there must be none)
        self.requests = []        # (time, method, url)
        browser.handlers.append(self.on_event)
        for domain in ("Page", "Runtime", "Log", "Network"):
            browser.call(domain + ".enable")

    def on_event(self, event):
        method, params = event["method"], event.get("params", {})
        if method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            self.errors.append("exception: " + (details.get("exception", {}).get("description") or details.get("text", "")))
        elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            self.errors.append("console." + params["type"] + ": " + " ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", [])))
        elif method == "Log.entryAdded":
            entry = params.get("entry", {})
            if entry.get("level") == "error":
                if entry.get("source") == "network":
                    self.network_errors.append({"url": entry.get("url", ""), "text": entry.get("text", "")})
                else:
                    self.errors.append("log: " + entry.get("text", "") + " " + entry.get("url", ""))
        elif method == "Page.javascriptDialogOpening":
            self.dialogs.append(params.get("type", "") + ": " + params.get("message", ""))
            self.b.send("Page.handleJavaScriptDialog", {"accept": False})
        elif method == "Network.requestWillBeSent":
            request = params.get("request", {})
            self.requests.append((time.time(), request.get("method"), request.get("url")))

    def check(self, name, body):
        started = time.time()
        try:
            detail = body()
            self.checks.append({"name": name, "ok": True, "detail": detail or "", "seconds": round(time.time() - started, 3)})
        except Exception as e:  # noqa: BLE001 - every failure becomes a failed check with its reason
            self.checks.append({"name": name, "ok": False, "detail": f"{type(e).__name__}: {e}",
                                "trace": traceback.format_exc(limit=3), "seconds": round(time.time() - started, 3)})

    def shot(self, name, width, height, mobile=False, dark=False):
        self.b.viewport(width, height, mobile=mobile, dark=dark)
        self.b.pump(0.3)  # let layout settle
        path = os.path.join(self.artifacts, name)
        self.screenshots.append(self.b.screenshot(path))
        return path

    # ---- page helpers ---------------------------------------------------------------------------
    def rows(self):
        return self.b.evaluate(ROW_NAMES)

    def set_value(self, selector, value):
        self.b.evaluate(f"""(() => {{ const e = document.querySelector({js(selector)});
            if (!e) throw new Error('no element ' + {js(selector)});
            if (e.type === 'checkbox') e.checked = {js(bool(value))}; else e.value = {js(value)};
            e.dispatchEvent(new Event('input', {{bubbles: true}})); e.dispatchEvent(new Event('change', {{bubbles: true}})); }})()""")

    def click(self, selector):
        self.b.evaluate(f"""(() => {{ const e = document.querySelector({js(selector)});
            if (!e) throw new Error('no element ' + {js(selector)}); e.click(); }})()""")

    def cell(self, name, col):
        return self.b.evaluate(f"""(() => {{ for (const tr of document.querySelectorAll('#services tbody tr')) {{
            if (tr.querySelector('[data-col=name]').textContent === {js(name)}) return tr.querySelector('[data-col={col}]').textContent; }}
            return null; }})()""")

    def wait_rows(self, want, timeout=5, ordered=False):
        """Waits until the table shows `want` (names; in that order if `ordered`): view changes load the server's page."""
        expr = ROW_NAMES if ordered else ROW_NAMES + ".slice().sort()"
        target = want if ordered else sorted(want)
        try:
            self.b.wait_for(f"JSON.stringify({expr}) === {js(json.dumps(target, separators=(',', ':')))}", timeout=timeout)
        except Exception:
            raise AssertionError(f"rows {self.rows()}, want {want}")
        return self.rows()

    def wait_live(self, timeout=10):
        self.b.wait_for("document.body.dataset.live === 'open'", timeout=timeout)


def main_flow(s, base, expect, flip_file):
    b = s.b
    counts = expect["counts"]
    xss = expect["xss_name"]

    def server_render():
        status, _, html = api(base, "GET", "/")
        ensure(status == 200, f"GET / answered {status}")
        ensure(html.count("<tr data-id=") == counts["total"], f"server-rendered rows: {html.count('<tr data-id=')}")
        ensure("&lt;img src=x onerror=alert(1)&gt;" in html, "the hostile name is not escaped in the HTML")
        ensure("<img" not in html and "<script>alert" not in html, "raw markup from data reached the HTML")
        return "rows and escaping in the server's HTML"
    s.check("server_render_escapes", server_render)

    def page_load():
        b.viewport(1280, 800)
        started = time.time()
        b.navigate(base + "/")
        rows = s.rows()
        ensure(len(rows) == counts["total"], f"{len(rows)} rows before the script ran, want {counts['total']}")
        s.wait_live()   # the change stream is open
        rows = s.rows()
        ensure(len(rows) == counts["total"], f"{len(rows)} rows once live")
        rebuilt = b.evaluate("document.body.dataset.rowsRebuilt")
        ensure(rebuilt == "0", f"going live rebuilt {rebuilt} unchanged server-rendered rows")
        list_requests = [u for _, m, u in s.requests if "/api/services" in u]
        ensure(not list_requests, f"the page asked for the list: {list_requests}")
        shown = b.evaluate("Object.fromEntries(Array.from(document.querySelectorAll('[data-count]')).map(e => [e.dataset.count, Number(e.textContent)]))")
        ensure(shown == counts, f"counts {shown}, want {counts}")
        return f"{len(rows)} rows, counts {shown}, {time.time() - started:.2f}s"
    s.check("page_loads_with_services_and_counts", page_load)

    def xss_as_text():
        ensure(not s.dialogs, f"dialogs opened: {s.dialogs}")
        ensure(b.evaluate("document.querySelectorAll('img').length") == 0, "an <img> element was injected")
        ensure(b.evaluate("document.querySelectorAll('script').length") == 1, "a <script> element was injected")
        ensure(xss in s.rows(), f"{xss!r} is not shown as text: {s.rows()}")
        ensure(s.cell(xss, "description") == expect["xss_description"], "the hostile description is not shown as text")
        return "name and description shown verbatim, no element, no dialog"
    s.check("hostile_name_renders_as_text", xss_as_text)

    def console_clean_on_load():
        b.pump(0.2)
        ensure(not s.errors and not s.network_errors, f"console errors: {s.errors} {s.network_errors}")
        return "no errors"
    s.check("console_clean_after_load", console_clean_on_load)

    def filters():
        results = {}
        for selector, value, want in [("#filter-status", "failed", expect["failed_names"]),
                                      ("#filter-health", "unknown", expect["unknown_names"]),
                                      ("#filter-source", "systemd", expect["systemd_names"])]:
            s.set_value(selector, value)
            rows = s.wait_rows(want)
            summary = b.evaluate("document.getElementById('summary').textContent")
            ensure(summary == f"Showing {len(want)} of {counts['total']} services", f"summary {summary!r}")
            ensure(b.evaluate(f"location.search.includes({js(selector.split('-')[1] + '=' + value)})"), "the URL does not keep the filter")
            results[value] = rows
            s.set_value(selector, "")
            b.wait_for(f"{ROW_NAMES}.length === {counts['total']}", timeout=5)
        ensure(len(s.rows()) == counts["total"], "clearing the filters does not show every row")
        return json.dumps(results)
    s.check("filters_narrow_the_table", filters)

    def search():
        s.set_value("#filter-q", "WORK")     # case-insensitive, name
        b.wait_for(f"JSON.stringify({ROW_NAMES}) === {js(json.dumps(['beta-worker'], separators=(',', ':')))}", timeout=3)
        s.set_value("#filter-q", "frontend")  # description
        b.wait_for(f"JSON.stringify({ROW_NAMES}) === {js(json.dumps(['alpha-api'], separators=(',', ':')))}", timeout=3)
        s.set_value("#filter-q", "no such thing")
        b.wait_for("!document.getElementById('empty').hidden && " + ROW_NAMES + ".length === 0", timeout=3)
        s.set_value("#filter-q", "")
        b.wait_for(f"{ROW_NAMES}.length === {counts['total']}", timeout=3)
        return "by name, by description, nothing"
    s.check("search_narrows_the_table", search)

    def sorting():
        names = s.rows()
        s.click("th[data-sort=name] a")     # already ascending by name: now descending
        s.wait_rows(sorted(names, key=str.lower, reverse=True), ordered=True)
        ensure(b.evaluate("document.querySelector('th[data-sort=name]').getAttribute('aria-sort')") == "descending", "aria-sort")
        s.click("th[data-sort=health] a")
        b.wait_for("document.querySelector('th[data-sort=health]').getAttribute('aria-sort') === 'ascending'", timeout=5)
        health = [s.cell(n, "health") for n in s.rows()]
        ensure(health[0] == "unhealthy", f"unhealthy first when sorted by health: {health}")
        s.click("th[data-sort=name] a")
        s.wait_rows(sorted(names, key=str.lower), ordered=True)
        ensure(b.evaluate("location.search") == "", f"the URL keeps a default view: {b.evaluate('location.search')}")
        return "name desc/asc, health"
    s.check("sorting_by_column", sorting)

    def view_survives_live_update():
        s.set_value("#filter-status", "active")
        want = sorted(expect["active_names"], key=str.lower)
        s.wait_rows(want, ordered=True)
        s.click("th[data-sort=name] a")   # descending
        want = list(reversed(want))
        s.wait_rows(want, ordered=True)
        b.viewport(1280, 420)
        b.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
        scroll = b.evaluate("window.scrollY")
        ensure(scroll > 0, "the page does not scroll at 1280x420")
        b.evaluate("document.querySelector('#services tbody tr:last-child [data-col=details] a').focus()")
        focused = b.evaluate("document.activeElement.getAttribute('href')")
        # Another row on screen changes through the API: its event updates that row; the view then reloads its rows.
        changed = want[0]
        status, found, _ = api(base, "GET", "/api/services?q=" + urllib.request.quote(changed))
        ensure(status == 200 and found, f"cannot find {changed}: {status}")
        before = b.evaluate("document.body.dataset.updatedAt")
        status, _, _ = api(base, "PUT", f"/api/services/{found[0]['id']}", {"description": "changed live"})
        ensure(status == 200, f"PUT answered {status}")
        b.wait_for(f"document.body.dataset.updatedAt !== {js(before)}", timeout=5)
        b.pump(3.5)   # the reload that follows a change on screen (at most every 3 s)
        ensure(s.cell(changed, "description") == "changed live", f"description {s.cell(changed, 'description')!r}")
        after = s.rows()
        ensure(after == want, f"{want} -> {after}")
        ensure(b.evaluate("window.scrollY") == scroll, f"scroll {scroll} -> {b.evaluate('window.scrollY')}")
        ensure(b.evaluate("document.activeElement.getAttribute('href')") == focused, "focus lost")
        b.viewport(1280, 800)
        s.set_value("#filter-status", "")
        s.click("th[data-sort=name] a")   # back to ascending
        b.wait_for("document.querySelector('th[data-sort=name]').getAttribute('aria-sort') === 'ascending'", timeout=5)
        return f"{len(after)} rows, sort, scroll {scroll}px and focus kept through a live update"
    s.check("filters_sort_scroll_focus_survive_live_update", view_survives_live_update)

    def created_changed_deleted_live():
        # SPEC §10: a service created, changed and deleted through the API shows up, changes and disappears without a
        # reload and without any request for the full list.
        b.wait_for(f"{ROW_NAMES}.length === {counts['total']}", timeout=5)
        b.evaluate("window.__noReload = 1")
        since = time.time()
        status, created, _ = api(base, "POST", "/api/services", {"name": "aaa-live", "url": "http://127.0.0.1:9/", "description": "new"})
        ensure(status == 200, f"POST answered {status}")
        b.wait_for(f"{ROW_NAMES}.includes('aaa-live')", timeout=6)
        ensure(b.evaluate("document.querySelector('[data-count=total]').textContent") == str(counts["total"] + 1), "total not updated")
        shown_after = time.time() - since
        status, _, _ = api(base, "PUT", f"/api/services/{created['id']}", {"description": "edited"})
        b.wait_for(f"""(() => {{ const tr = document.querySelector('#services tbody tr[data-id="{created['id']}"]');
            return tr && tr.querySelector('[data-col=description]').textContent === 'edited'; }})()""", timeout=6)
        api(base, "DELETE", f"/api/services/{created['id']}")
        b.wait_for(f"!document.querySelector('#services tbody tr[data-id=\"{created['id']}\"]')", timeout=6)
        b.wait_for(f"document.querySelector('[data-count=total]').textContent === {js(str(counts['total']))}", timeout=6)
        ensure(b.evaluate("window.__noReload === 1"), "the page reloaded")
        urls = [u for t, m, u in s.requests if t >= since]
        lists = [u for u in urls if "/api/services" in u]
        ensure(not lists, f"list requests: {lists}")
        return f"created row shown after {shown_after:.2f}s; requests: {sorted(set(u.split('?')[0] for u in urls))}"
    s.check("created_changed_deleted_live_without_list_requests", created_changed_deleted_live)

    def turns_unhealthy_without_reload():
        name = expect["flip_name"]
        ensure(s.cell(name, "health") == "healthy", f"{name} should start healthy, is {s.cell(name, 'health')}")
        b.evaluate("window.__noReload = 1")
        rebuilt = int(b.evaluate("document.body.dataset.rowsRebuilt"))
        # The Swift test watches for this file and makes the service's target answer 503 and checks it now; the change
        # stream brings the new health to the row.
        open(flip_file, "w").close()
        started = time.time()
        b.wait_for(f"""(() => {{ for (const tr of document.querySelectorAll('#services tbody tr'))
            if (tr.querySelector('[data-col=name]').textContent === {js(name)}) return tr.querySelector('[data-col=health]').textContent === 'unhealthy';
            return false; }})()""", timeout=10)
        took = time.time() - started
        b.wait_for(f"document.querySelector('[data-count=unhealthy]').textContent === {js(str(counts['unhealthy'] + 1))}", timeout=5)
        ensure(b.evaluate("window.__noReload === 1"), "the page reloaded")
        b.pump(3.5)   # the view reload that follows: it must keep the rows it already has
        now_rebuilt = int(b.evaluate("document.body.dataset.rowsRebuilt"))
        ensure(now_rebuilt == rebuilt + 1, f"{now_rebuilt - rebuilt} rows rebuilt for one change")
        return f"shown {took:.2f}s after the flip was asked for"
    s.check("service_turning_unhealthy_shows_without_reload", turns_unhealthy_without_reload)

    def keyboard():
        b.navigate(base + "/")
        b.call("Input.dispatchKeyEvent", {"type": "keyDown", "key": "Tab", "code": "Tab", "windowsVirtualKeyCode": 9})
        b.call("Input.dispatchKeyEvent", {"type": "keyUp", "key": "Tab", "code": "Tab", "windowsVirtualKeyCode": 9})
        first = b.evaluate("document.activeElement.className")
        ensure(first == "skip-link", f"first Tab stop is {first!r}, want the skip link")
        focusable = b.evaluate("Array.from(document.querySelectorAll('th a.sort, #scan-button, #filter-q, #filter-status, summary')).every(e => e.tabIndex >= 0)")
        ensure(focusable, "a control is not focusable")
        return "skip link first; sort headers, filters and buttons focusable"
    s.check("keyboard_accessible", keyboard)

    def add_service():
        b.evaluate("document.getElementById('add-service').open = true")
        s.set_value("#add-name", "zeta-new")
        s.set_value("#add-url", "http://127.0.0.1:8089/")
        s.set_value("#add-description", "added from the browser")
        s.set_value("#add-port", "8089")
        s.set_value("#add-labels", "team=web\nenv = test")
        s.click("#add-form button[type=submit]")
        b.wait_for(f"{ROW_NAMES}.includes('zeta-new')", timeout=5)
        status, services, _ = api(base, "GET", "/api/services?q=zeta-new")
        ensure(status == 200 and len(services) == 1, f"API: {status} {services}")
        ensure(services[0]["port"] == 8089 and services[0]["labels"] == {"team": "web", "env": "test"}, f"stored {services[0]}")
        expect["added_id"] = services[0]["id"]
        return f"id {services[0]['id']}"
    s.check("add_service_through_form", add_service)

    def validation_shown_by_field():
        s.set_value("#add-name", "bad-one")
        s.set_value("#add-url", "ftp://example.com/")
        s.set_value("#add-port", "70000")
        s.click("#add-form button[type=submit]")
        b.wait_for("document.querySelector('#add-form [data-error-for=port]').textContent", timeout=5)
        port_error = b.evaluate("document.querySelector('#add-form [data-error-for=port]').textContent")
        url_error = b.evaluate("document.querySelector('#add-form [data-error-for=url]').textContent")
        ensure("65535" in port_error, f"port error {port_error!r}")
        ensure(url_error, "no error beside the url field")
        ensure(b.evaluate("document.getElementById('add-port').getAttribute('aria-invalid')") == "true", "port not marked invalid")
        ensure(b.evaluate("document.querySelector('#add-form [data-error-for=name]').textContent") == "", "error on the wrong field")
        ensure("bad-one" not in s.rows(), "an invalid service was added")
        return f"port: {port_error!r}; url: {url_error!r}"
    s.check("validation_error_shown_beside_field", validation_shown_by_field)

    def scan_button():
        s.click("#scan-button")
        text = b.wait_for("document.getElementById('scan-result').textContent.replace('Scanning\u2026', '')", timeout=10)
        # The API is the oracle: the page must say what POST /api/scan says (discovery may or may not work here).
        status, data, _ = api(base, "POST", "/api/scan")
        if status == 200:
            ensure(text.startswith("Discovered "), f"scan answered 200 but the page says {text!r}")
        else:
            ensure(text == "Scan failed: " + data["detail"], f"scan answered {status} {data}, the page says {text!r}")
        ensure(b.evaluate("!!document.querySelector('a[href=\"/scan\"]')"), "no link to /scan")
        return text
    s.check("scan_button_reports_result", scan_button)

    def screenshots():
        b.navigate(base + "/")
        s.wait_live()
        s.shot("dashboard-1280x800.png", 1280, 800)
        s.shot("dashboard-1280x800-dark.png", 1280, 800, dark=True)
        s.shot("dashboard-390x844.png", 390, 844, mobile=True)
        width = b.evaluate("document.documentElement.scrollWidth")
        ensure(width <= 390, f"horizontal scrolling at phone width: {width}px")
        dark_bg = b.evaluate("getComputedStyle(document.body).backgroundColor")
        s.shot("dashboard-390x844-dark.png", 390, 844, mobile=True, dark=True)
        dark_now = b.evaluate("getComputedStyle(document.body).backgroundColor")
        ensure(dark_bg != dark_now, "prefers-color-scheme: dark changes nothing")
        b.viewport(1280, 800)
        return ", ".join(os.path.basename(p) for p in s.screenshots)
    s.check("screenshots_and_phone_width", screenshots)

    def service_page():
        status, services, _ = api(base, "GET", "/api/services?q=" + urllib.request.quote(expect["history_name"]))
        record = services[0]
        b.navigate(f"{base}/services/{record['id']}")
        ensure(b.evaluate("document.querySelector('.service-title').textContent") == record["name"], "title")
        fields = b.evaluate("Object.fromEntries(Array.from(document.querySelectorAll('[data-field]')).map(e => [e.dataset.field, e.textContent]))")
        for key in ("id", "name", "url", "status", "health_status", "description", "source", "port", "last_error", "created_at"):
            ensure(key in fields, f"field {key} missing: {sorted(fields)}")
        ensure(fields["last_error"] == record["last_error"], f"last_error {fields['last_error']!r}")
        labels = b.evaluate("Array.from(document.querySelectorAll('.labels li')).map(li => li.textContent)")
        ensure(labels == [k + v for k, v in sorted(record["labels"].items())], f"labels {labels}")
        timeline = b.evaluate("Array.from(document.querySelectorAll('#timeline li .event-text')).map(e => e.textContent)")
        ensure(timeline == expect["history_texts"], f"timeline {timeline}, want {expect['history_texts']}")
        s.shot("service-1280x800.png", 1280, 800)
        s.shot("service-390x844.png", 390, 844, mobile=True)
        width = b.evaluate("document.documentElement.scrollWidth")
        ensure(width <= 390, f"horizontal scrolling on the service page at phone width: {width}px")
        b.viewport(1280, 800)
        return f"{len(fields)} fields, {len(timeline)} transitions"
    s.check("service_page_fields_labels_history", service_page)

    def service_page_updates_live():
        # SPEC §9/§10: the service page's chart, uptime bar and fields follow the service without a reload, and what
        # the user is typing in the edit form stays.
        status, services, _ = api(base, "GET", "/api/services?q=" + urllib.request.quote(expect["flip_name"]))
        ensure(status == 200 and services, f"cannot find {expect['flip_name']}")
        id = services[0]["id"]
        b.navigate(f"{base}/services/{id}")
        b.wait_for("document.body.dataset.live === 'open'", timeout=10)
        ensure(b.evaluate("!!document.querySelector('[data-live=uptime] svg[role=img] title')"), "no labelled chart")
        before = b.evaluate("document.querySelector('[data-live=uptime]').outerHTML")
        checked = b.evaluate("document.querySelector('[data-live=fields]').textContent")
        s.set_value("#edit-description", "typed, not saved")
        b.evaluate("window.__noReload = 1")
        status, _, _ = api(base, "POST", f"/api/services/{id}/check")
        ensure(status == 200, f"check now answered {status}")
        started = time.time()
        b.wait_for(f"document.querySelector('[data-live=uptime]').outerHTML !== {js(before)}", timeout=10)
        took = time.time() - started
        ensure(b.evaluate("document.querySelector('[data-live=fields]').textContent") != checked, "fields not updated")
        ensure(b.evaluate("window.__noReload === 1"), "the page reloaded")
        ensure(b.evaluate("document.getElementById('edit-description').value") == "typed, not saved", "the edit form was replaced")
        return f"chart and fields updated {took:.2f}s after the check"
    s.check("service_page_updates_live", service_page_updates_live)

    def hostile_service_page():
        status, services, _ = api(base, "GET", "/api/services")
        record = next(r for r in services if r["name"] == xss)
        b.navigate(f"{base}/services/{record['id']}")
        ensure(not s.dialogs, f"dialogs: {s.dialogs}")
        ensure(b.evaluate("document.querySelectorAll('img').length") == 0, "<img> injected on the service page")
        ensure(b.evaluate("document.querySelector('.service-title').textContent") == xss, "title not verbatim")
        ensure(b.evaluate("document.title").startswith(xss), "document title not verbatim")
        ensure(b.evaluate("document.getElementById('edit-name').value") == xss, "form value not verbatim")
        return "verbatim in title, heading, fields and form"
    s.check("hostile_name_on_service_page", hostile_service_page)

    def edit_service():
        id = expect.get("added_id")
        ensure(id, "nothing was added")
        b.navigate(f"{base}/services/{id}")
        b.evaluate("window.__before = 1")
        s.set_value("#edit-port", "0")
        s.click("#edit-form button[type=submit]")
        b.wait_for("document.querySelector('#edit-form [data-error-for=port]').textContent", timeout=5)
        s.set_value("#edit-port", "8089")
        s.set_value("#edit-description", "edited by the browser")
        s.click("#edit-form button[type=submit]")
        b.wait_for("!window.__before && document.querySelector('[data-field=description]') && "
                   "document.querySelector('[data-field=description]').textContent === 'edited by the browser'", timeout=5)
        _, record, _ = api(base, "GET", f"/api/services/{id}")
        ensure(record["description"] == "edited by the browser" and record["port"] == 8089
               and record["labels"] == {"team": "web", "env": "test"}, f"stored {record}")
        return "422 beside port, then saved; only the changed field was sent"
    s.check("edit_service_through_form", edit_service)

    def check_now():
        id = expect.get("added_id")
        b.navigate(f"{base}/services/{id}")
        b.evaluate("window.__before = 1")
        s.click("#check-button")
        # The real prober probes it now (nothing listens on its port) and the page reloads with the result.
        outcome = b.wait_for("!window.__before ? 'reloaded' : (document.getElementById('action-result').textContent.startsWith('Check failed') "
                             "? document.getElementById('action-result').textContent : '')", timeout=10)
        ensure(outcome == "reloaded", f"check now: {outcome}")
        b.wait_for("document.body.dataset.page !== undefined", timeout=5)
        status, service, _ = api(base, "GET", f"/api/services/{id}")
        ensure(status == 200 and service["health_status"] == "unhealthy" and service["last_error"],
               f"after check now: {status} {service}")
        return f"reloaded; health {service['health_status']}: {service['last_error']}"
    s.check("check_now_button", check_now)

    def delete_service():
        id = expect.get("added_id")
        b.navigate(f"{base}/services/{id}")
        s.click("#delete-button")
        b.wait_for("document.getElementById('delete-dialog').open", timeout=3)
        s.click("#delete-confirm")
        b.wait_for("location.pathname === '/' && document.body.dataset.page === 'index'", timeout=5)
        ensure("zeta-new" not in s.rows(), "the deleted service is still listed")
        status, _, _ = api(base, "GET", f"/api/services/{id}")
        ensure(status == 404, f"GET after delete: {status}")
        return "gone from the table and the API"
    s.check("delete_service_through_form", delete_service)

    def paging_in_place():
        # More services than a page: the server renders 100 rows and a pager; Next loads page 2 in place.
        for i in range(120):
            status, _, _ = api(base, "POST", "/api/services", {"name": "page-%03d" % i, "url": "http://127.0.0.1:9/"})
            ensure(status == 200, f"POST page-{i}: {status}")
        b.navigate(base + "/")
        s.wait_live()
        total = int(b.evaluate("document.querySelector('[data-count=total]').textContent"))
        ensure(len(s.rows()) == 100, f"{len(s.rows())} rows on page 1 of {total}")
        first_page = s.rows()
        b.evaluate("window.__noReload = 1")
        s.click("#pager a[rel=next]")
        b.wait_for(f"{ROW_NAMES}.length === {total - 100}", timeout=5)
        ensure(b.evaluate("location.search") == "?page=2", f"URL {b.evaluate('location.search')}")
        ensure(b.evaluate("window.__noReload === 1"), "the page reloaded")
        ensure(not set(first_page) & set(s.rows()), "page 2 repeats rows of page 1")
        ensure(b.evaluate("document.getElementById('summary').textContent") == f"Showing 101–{total} of {total} matching ({total} in all)",
               b.evaluate("document.getElementById('summary').textContent"))
        ensure(len(first_page + s.rows()) == total, "pages 1 and 2 do not hold every service")
        # Without JavaScript the same link is a plain navigation: the server renders page 2.
        status, _, html = api(base, "GET", "/?page=2")
        ensure(status == 200 and html.count("<tr data-id=") == total - 100, f"GET /?page=2: {status}, {html.count('<tr data-id=')} rows")
        return f"{total} services: 100 + {total - 100} rows"
    s.check("paging_in_place", paging_in_place)

    def console_errors():
        b.pump(0.3)
        ensure(not s.errors, f"console errors: {s.errors}")
        ensure(not s.dialogs, f"dialogs: {s.dialogs}")
        # The browser logs every HTTP error status of a fetch; only those this run provoked on purpose are allowed.
        added = expect.get("added_id")
        allowed = {(base + "/api/services", 422), (f"{base}/api/services/{added}", 422),      # the validation checks
                   (base + "/api/scan", 503),                                                 # no systemd here
                   (f"{base}/api/services/{added}/check", 404), (f"{base}/api/services/{added}/check", 503)}
        unexpected = [e for e in s.network_errors if not any(e["url"] == url and f"status of {code} " in e["text"] for url, code in allowed)]
        ensure(not unexpected, f"unexpected failed requests: {unexpected}")
        return f"no console errors; {len(s.network_errors)} deliberate HTTP errors (422, scan, check)"
    s.check("no_console_errors", console_errors)


def auth_flow(s, base, token):
    b = s.b

    def token_asked_once_and_after_401():
        b.navigate(base + "/")
        ensure(b.evaluate("document.body.dataset.auth") == "token", "the page does not know a token is needed")
        b.evaluate("document.getElementById('add-service').open = true")
        s.set_value("#add-name", "auth-one")
        s.set_value("#add-url", "http://127.0.0.1:8090/")
        s.click("#add-form button[type=submit]")
        b.wait_for("document.getElementById('token-dialog').open", timeout=5)
        s.set_value("#token-input", "wrong-token")
        s.click("#token-ok")
        b.wait_for("document.getElementById('token-dialog').open && document.getElementById('token-message').textContent.includes('refused')", timeout=5)
        s.set_value("#token-input", token)
        s.click("#token-ok")
        b.wait_for(f"{ROW_NAMES}.includes('auth-one')", timeout=5)
        ensure(b.evaluate("localStorage.getItem('service-registry.api-token')") == token, "token not kept")
        # A second write does not ask again.
        s.set_value("#add-name", "auth-two")
        s.set_value("#add-url", "http://127.0.0.1:8091/")
        s.click("#add-form button[type=submit]")
        b.wait_for(f"{ROW_NAMES}.includes('auth-two')", timeout=5)
        ensure(not b.evaluate("document.getElementById('token-dialog').open"), "asked again")
        # After a reload the stored token is still used.
        b.navigate(base + "/")
        return "asked, refused, asked again, kept in localStorage"
    s.check("token_asked_once_kept_and_after_401", token_asked_once_and_after_401)

    def stored_token_survives_reload():
        s.click("#scan-button")
        text = b.wait_for("document.getElementById('scan-result').textContent.replace('Scanning\u2026', '')", timeout=10)
        ensure(not b.evaluate("document.getElementById('token-dialog').open"), "asked for the token again after a reload")
        ensure("token" not in text.lower(), f"scan answered {text!r}")
        return text
    s.check("stored_token_used_after_reload", stored_token_survives_reload)

    def no_errors_with_token():
        b.pump(0.3)
        ensure(not s.errors and not s.dialogs, f"console errors: {s.errors} dialogs: {s.dialogs}")
        allowed = {(base + "/api/services", 401), (base + "/api/scan", 503)}
        unexpected = [e for e in s.network_errors if e["url"].startswith(base)
                      and not any(e["url"] == url and f"status of {code} " in e["text"] for url, code in allowed)]
        ensure(not unexpected, f"unexpected failed requests: {unexpected}")
        return "only the deliberate 401 and the scan's 503"
    s.check("no_console_errors_with_token", no_errors_with_token)


class HeldStream:
    """A client of `GET /api/events` on a raw socket that keeps its stream open until closed: it takes one of the
    registry's `--max-event-streams` places (the refused ones get a short 503, read here whole)."""

    def __init__(self, base, timeout=10):
        parts = urllib.parse.urlsplit(base)
        self.sock = socket.create_connection((parts.hostname, parts.port), timeout=timeout)
        self.sock.sendall(f"GET /api/events HTTP/1.1\r\nHost: {parts.netloc}\r\nAccept: text/event-stream\r\n\r\n".encode())
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = self.sock.recv(4096)
            if not chunk:
                break
            data += chunk
        head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1")
        lines = head.split("\r\n")
        self.status = int(lines[0].split(" ")[1]) if lines[0].startswith("HTTP/") else 0
        self.headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}

    def close(self):
        self.sock.close()


def hold_streams(base, count, timeout=10):
    """Opens `count` streams that the registry admits (200). A stream the browser just left may hold its place a
    moment longer (the registry notices the closed connection on its next poll): refused ones are tried again."""
    held = []
    deadline = time.time() + timeout
    try:
        while len(held) < count:
            stream = HeldStream(base)
            if stream.status == 200:
                held.append(stream)
                continue
            stream.close()
            ensure(stream.status == 503, f"GET /api/events answered {stream.status}")
            ensure(time.time() < deadline, f"only {len(held)} of {count} streams admitted within {timeout}s")
            time.sleep(0.1)
        # Every place is taken: the next stream is refused, with the Retry-After the page waits for.
        extra = HeldStream(base)
        extra.close()
        ensure(extra.status == 503, f"stream {count + 1} answered {extra.status}, not 503: is --max-event-streams {count}?")
        ensure(extra.headers.get("retry-after") == "5", f"Retry-After {extra.headers.get('retry-after')!r}")
    except Exception:
        for stream in held:
            stream.close()
        raise
    return held


def resubscribe_flow(s, base, cap):
    """SPEC §10/§12: past --max-event-streams the page's stream is refused (503, Retry-After: 5) and EventSource gives
    up; the page subscribes again by itself once a place is free, without a reload, and shows changes live again."""
    b = s.b
    responses = []   # (time, status, headers) of every /api/events response the page got

    def on_response(event):
        if event["method"] == "Network.responseReceived":
            response = event["params"].get("response", {})
            if urllib.parse.urlsplit(response.get("url", "")).path == "/api/events":
                headers = {k.lower(): v for k, v in response.get("headers", {}).items()}
                responses.append((time.time(), response.get("status"), headers))
    b.handlers.append(on_response)

    def wait_response(after, status, timeout):
        """The first /api/events response with `status` after index `after`, waiting up to `timeout` seconds."""
        deadline = time.time() + timeout
        while True:
            for index in range(after, len(responses)):
                if responses[index][1] == status:
                    return index
            if time.time() >= deadline:
                raise AssertionError(f"no /api/events {status} within {timeout}s; responses since: "
                                     f"{[r[1] for r in responses[after:]]}, live={b.evaluate('document.body.dataset.live')!r}")
            b.pump(0.05)

    held = []
    state = {}

    def release():
        for stream in held:
            stream.close()
        held.clear()

    def refused(path):
        """Fills every place, loads `path`, and waits for the page's stream to be refused, as the page shows it."""
        held[:] = hold_streams(base, cap)
        try:
            mark = len(responses)
            b.navigate(base + path)
            first = wait_response(mark, 503, timeout=10)
            ensure(responses[first][2].get("retry-after") == "5", f"the 503's headers: {responses[first][2]}")
            b.wait_for("document.body.dataset.live === 'reconnecting'", timeout=5)
            b.evaluate("window.__noReload = 1")
            return first
        except Exception:
            release()   # the next checks start from free places
            raise

    def resubscribed(after):
        """Lets the held streams go; the page must subscribe again on its own (a 200) and go live, without a reload."""
        release()
        released = time.time()
        ok = wait_response(after, 200, timeout=15)
        b.wait_for("document.body.dataset.live === 'open'", timeout=5)
        ensure(b.evaluate("window.__noReload === 1"), "the page reloaded")
        return responses[ok][0] - released

    def list_page_refused():
        first = refused("/")
        state["after"] = first + 1
        status = b.evaluate("document.getElementById('refresh-status').textContent")
        ensure("reconnecting" in status, f"the page does not say it is reconnecting: {status!r}")
        return f"503 with Retry-After: 5; status {status!r}"
    s.check("list_page_stream_refused_while_full", list_page_refused)

    def list_page_tries_again():
        # While every place stays taken the page keeps trying, no sooner than the Retry-After.
        ensure("after" in state, "the page was not refused first")
        first = state["after"] - 1
        second = wait_response(state["after"], 503, timeout=15)
        state["after"] = second + 1
        gap = responses[second][0] - responses[first][0]
        ensure(gap >= 4.5, f"tried again after {gap:.2f}s, before the Retry-After (5 s)")
        ensure(all(r[1] == 503 for r in responses[first:]), f"statuses {[r[1] for r in responses[first:]]}")
        ensure(b.evaluate("document.body.dataset.live") == "reconnecting", "live while every stream is held")
        return f"refused again (503) {gap:.1f}s later"
    s.check("list_page_tries_again_while_full", list_page_tries_again)

    def list_page_resubscribes():
        ensure("after" in state, "the page was not refused first")
        took = resubscribed(state["after"])
        status = b.evaluate("document.getElementById('refresh-status').textContent")
        ensure(status == "", f"the interruption is still reported: {status!r}")
        return f"subscribed again (200) {took:.1f}s after the held streams closed"
    s.check("list_page_resubscribes_once_a_stream_is_free", list_page_resubscribes)

    def list_page_live_again():
        since = time.time()
        mark = len(responses)
        status, created, _ = api(base, "POST", "/api/services", {"name": "resubscribed-live", "url": "http://127.0.0.1:9/"})
        ensure(status == 200, f"POST answered {status}")
        state["created_id"] = created["id"]
        b.wait_for(f"{ROW_NAMES}.includes('resubscribed-live')", timeout=6)
        shown = time.time() - since
        ensure(b.evaluate("window.__noReload === 1"), "the page reloaded")
        # The new row changes the rows the page follows, so it closes its stream and opens the next at once: with
        # every place taken by that stream, the registry must admit the new one (no 503, no "reconnecting").
        wait_response(mark, 200, timeout=5)
        b.pump(0.5)
        ensure(all(r[1] == 200 for r in responses[mark:]), f"statuses since the POST: {[r[1] for r in responses[mark:]]}")
        ensure(b.evaluate("document.body.dataset.live") == "open", "not live after following the new rows")
        lists = [u for t, m, u in s.requests if t >= since and urllib.parse.urlsplit(u).path == "/api/services"
                 and "limit" not in urllib.parse.parse_qs(urllib.parse.urlsplit(u).query)]
        ensure(not lists, f"the page asked for the full list: {lists}")
        return f"created row shown {shown:.2f}s after the POST, no reload, no full-list request"
    s.check("list_page_shows_changes_live_after_resubscribing", list_page_live_again)

    def service_page_resubscribes():
        release()   # whatever an earlier failed check left held
        ensure("created_id" in state, "nothing was created")
        b.navigate("about:blank")   # the list page's stream goes: hold_streams takes its place once it is free
        first = refused(f"/services/{state['created_id']}")
        took = resubscribed(first + 1)
        return f"refused (503), subscribed again (200) {took:.1f}s after the held streams closed"
    s.check("service_page_resubscribes_once_a_stream_is_free", service_page_resubscribes)

    def service_page_live_again():
        ensure("created_id" in state, "nothing was created")
        since = time.time()
        status, _, _ = api(base, "PUT", f"/api/services/{state['created_id']}", {"description": "changed after resubscribing"})
        ensure(status == 200, f"PUT answered {status}")
        b.wait_for("(document.querySelector('[data-field=description]') || {}).textContent === 'changed after resubscribing'",
                   timeout=6)
        ensure(b.evaluate("window.__noReload === 1"), "the page reloaded")
        return f"description updated {time.time() - since:.2f}s after the PUT, no reload"
    s.check("service_page_shows_changes_live_after_resubscribing", service_page_live_again)

    def no_page_errors():
        b.pump(0.3)
        ensure(not s.errors and not s.dialogs, f"console errors: {s.errors} dialogs: {s.dialogs}")
        # The refused streams are the only HTTP errors.
        unexpected = [e for e in s.network_errors
                      if not (urllib.parse.urlsplit(e["url"]).path == "/api/events" and "status of 503 " in e["text"])]
        ensure(not unexpected, f"unexpected failed requests: {unexpected}")
        return f"{len(s.network_errors)} refused streams (503) logged, nothing else"
    s.check("no_console_errors_while_resubscribing", no_page_errors)

    release()


def main():
    terminate_on_sigterm()
    parser = argparse.ArgumentParser()
    parser.add_argument("--flow", choices=("main", "resubscribe"), default="main")
    parser.add_argument("--base", required=True)
    parser.add_argument("--auth-base")
    parser.add_argument("--token")
    parser.add_argument("--expect", help="JSON: what the test seeded (main flow)")
    parser.add_argument("--flip-file", help="main flow")
    parser.add_argument("--max-event-streams", type=int, help="the registry's cap (resubscribe flow)")
    parser.add_argument("--artifacts", required=True)
    args = parser.parse_args()
    if args.flow == "main" and (args.expect is None or args.flip_file is None):
        parser.error("the main flow needs --expect and --flip-file")
    if args.flow == "resubscribe" and not args.max_event_streams:
        parser.error("the resubscribe flow needs --max-event-streams")
    out = {"checks": [], "screenshots": [], "errors": [], "network_errors": []}
    try:
        with Browser() as browser:
            s = Session(browser, args.artifacts)
            if args.flow == "resubscribe":
                resubscribe_flow(s, args.base, args.max_event_streams)
            else:
                main_flow(s, args.base, json.loads(args.expect), args.flip_file)
                if args.auth_base:
                    auth_flow(s, args.auth_base, args.token)
            out = {"checks": s.checks, "screenshots": s.screenshots, "errors": s.errors,
                   "network_errors": s.network_errors, "dialogs": s.dialogs}
    except Exception as e:  # noqa: BLE001
        out["checks"].append({"name": "browser", "ok": False, "detail": f"{type(e).__name__}: {e}", "trace": traceback.format_exc()})
    text = json.dumps(out, indent=1)
    try:
        os.makedirs(args.artifacts, exist_ok=True)
        with open(os.path.join(args.artifacts, "report.json"), "w") as f:
            f.write(text)
    except OSError:
        pass
    print(text)


if __name__ == "__main__":
    main()
