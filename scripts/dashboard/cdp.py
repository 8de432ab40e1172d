"""A small Chrome DevTools Protocol client for headless Chromium (used by the dashboard's browser tests and
benchmark). One browser process per run, one page; the process group is killed on close, on SIGTERM, and
(through PR_SET_PDEATHSIG) when the Python process dies."""
import base64
import ctypes
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request

import websocket  # Debian's python3-websocket (run with /usr/bin/python3)


class CDPError(Exception):
    pass


def _die_with_parent():
    os.setsid()
    try:
        ctypes.CDLL("libc.so.6").prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


class Browser:
    def __init__(self, chromium=None, width=1280, height=800):
        chromium = chromium or shutil.which("chromium") or "/usr/bin/chromium"
        if not os.path.exists(chromium):
            raise CDPError("chromium not found (apt-get install -y chromium)")
        self.profile = tempfile.mkdtemp(prefix="dashboard-chromium-")
        self.stderr = open(os.path.join(self.profile, "stderr.log"), "wb")
        self.process = subprocess.Popen(
            [chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
             "--remote-debugging-port=0", "--remote-allow-origins=*", f"--user-data-dir={self.profile}",
             "--no-first-run", "--no-default-browser-check", "--disable-extensions",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--metrics-recording-only", "--password-store=basic", "--use-mock-keychain",
             f"--window-size={width},{height}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=self.stderr, preexec_fn=_die_with_parent)
        self.next_id = 0
        self.events = []          # every event received, in order
        self.handlers = []        # callables(event) run as events arrive
        self.ws = None
        try:
            port = self._devtools_port(timeout=30)
            page = self._page_target(port)
            self.ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=30, suppress_origin=True)
        except Exception:
            self.close()
            raise

    def _devtools_port(self, timeout):
        path = os.path.join(self.profile, "DevToolsActivePort")
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise CDPError(f"chromium exited with {self.process.returncode}: {self._stderr_tail()}")
            try:
                with open(path) as f:
                    first = f.readline().strip()
                if first:
                    return int(first)
            except (FileNotFoundError, ValueError):
                pass
            time.sleep(0.05)
        raise CDPError(f"chromium did not open its DevTools port within {timeout}s: {self._stderr_tail()}")

    def _page_target(self, port):
        deadline = time.time() + 10
        while time.time() < deadline:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=5) as r:
                pages = [t for t in json.load(r) if t.get("type") == "page"]
            if pages:
                return pages[0]
            time.sleep(0.05)
        raise CDPError("no page target")

    def _stderr_tail(self):
        try:
            with open(os.path.join(self.profile, "stderr.log"), "rb") as f:
                return f.read()[-2000:].decode("utf-8", "replace")
        except OSError:
            return ""

    # ---- protocol -------------------------------------------------------------------------------
    def send(self, method, params=None):
        """Sends a command without waiting (used from event handlers, e.g. to dismiss a dialog)."""
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params or {}}))
        return self.next_id

    def call(self, method, params=None, timeout=30):
        id = self.send(method, params)
        deadline = time.time() + timeout
        while True:
            message = self._receive(deadline - time.time())
            if message is None:
                if time.time() >= deadline:
                    raise CDPError(f"{method}: no reply within {timeout}s")
                continue
            if message.get("id") == id:
                if "error" in message:
                    raise CDPError(f"{method}: {message['error']}")
                return message.get("result", {})

    def _receive(self, timeout):
        self.ws.settimeout(max(0.01, min(timeout, 0.2)))
        try:
            raw = self.ws.recv()
        except websocket.WebSocketTimeoutException:
            return None
        message = json.loads(raw)
        if "method" in message:
            self.events.append(message)
            for handler in list(self.handlers):
                handler(message)
        return message

    def pump(self, seconds):
        """Processes events for a while."""
        deadline = time.time() + seconds
        while time.time() < deadline:
            self._receive(deadline - time.time())

    def evaluate(self, expression, timeout=30):
        result = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                                "awaitPromise": True, "userGesture": True}, timeout=timeout)
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            text = details.get("exception", {}).get("description") or details.get("text")
            raise CDPError(f"evaluate failed: {text}\n  in: {expression[:200]}")
        return result.get("result", {}).get("value")

    def wait_for(self, expression, timeout=10, interval=0.05):
        """Polls a JS expression until it is truthy; returns its value, or raises after `timeout`."""
        deadline = time.time() + timeout
        last = None
        while True:
            try:
                last = self.evaluate(expression)
            except CDPError:
                last = None  # e.g. during a navigation
            if last:
                return last
            if time.time() >= deadline:
                raise CDPError(f"timed out after {timeout}s waiting for: {expression}")
            self.pump(interval)

    def navigate(self, url, timeout=30):
        """Loads `url` and returns once the new document has finished loading (deferred scripts have run).
        A marker on the old document tells the documents apart, even when the URL is the same."""
        try:
            self.evaluate("window.__cdpOldDocument = true")
        except CDPError:
            pass
        result = self.call("Page.navigate", {"url": url})
        if result.get("errorText"):
            raise CDPError(f"{url}: {result['errorText']}")
        self.wait_for("!window.__cdpOldDocument && document.readyState === 'complete'", timeout=timeout)

    def viewport(self, width, height, mobile=False, dark=False):
        self.call("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile})
        self.call("Emulation.setEmulatedMedia",
                  {"features": [{"name": "prefers-color-scheme", "value": "dark" if dark else "light"}]})

    def screenshot(self, path):
        data = self.call("Page.captureScreenshot", {"format": "png"})["data"]
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))
        return path

    def close(self):
        try:
            if self.ws is not None:
                self.ws.close()
        except Exception:
            pass
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.process.wait(timeout=10)
        self.stderr.close()
        shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def terminate_on_sigterm():
    """Turns SIGTERM into SystemExit so `finally`/`with` blocks close the browser."""
    def handler(signum, frame):
        raise SystemExit(128 + signum)
    signal.signal(signal.SIGTERM, handler)
