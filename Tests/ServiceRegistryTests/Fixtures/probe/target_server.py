#!/usr/bin/env python3
"""Probe target for the prober's tests: a threaded HTTP(S) server with a large listen backlog.

Prints its port on the first line of stdout once listening. Routes:
  /ok 200, /nocontent 204, /fail503 503, /redirect 302 -> /ok, /hang (accepts, never answers),
  /big (50 MB body, streamed), /dynamic (answers the code set by /control?code=N),
  /flip302 (alternates: 302 with a ~90 KB Location header, then 200, then 302...),
  /_hits?prefix=P (JSON: count and arrival times of requests whose path starts with P).
Any other path under /count/ answers 200 (used to tell services apart in the request log).
"""
import json
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

lock = threading.Lock()
hits = []  # (monotonic time, path)
dynamic_code = [200]
flips = [0]
# Just under libcurl's 100 KB limit for one header line.
long_location = "/" + "L" * 90_000


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, code, body=b"", headers=()):
        self.send_response(code)
        for name, value in headers:
            self.send_header(name, value)
        if code != 204:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body and code != 204:
            self.wfile.write(body)

    def do_GET(self):
        url = urlparse(self.path)
        path = url.path
        if path == "/_hits":
            prefix = parse_qs(url.query).get("prefix", [""])[0]
            with lock:
                times = [t for t, p in hits if p.startswith(prefix)]
            self.reply(200, json.dumps({"count": len(times), "times": times, "now": time.monotonic()}).encode())
            return
        if path == "/control":
            dynamic_code[0] = int(parse_qs(url.query)["code"][0])
            self.reply(200, b"ok")
            return
        with lock:
            hits.append((time.monotonic(), path))
        if path == "/ok" or path.startswith("/count/"):
            self.reply(200, b"ok\n")
        elif path == "/nocontent":
            self.reply(204)
        elif path == "/fail503":
            self.reply(503, b"unavailable\n")
        elif path == "/redirect":
            self.reply(302, b"", [("Location", "/ok")])
        elif path == "/dynamic":
            self.reply(dynamic_code[0], b"dynamic\n")
        elif path == "/flip302":
            with lock:
                flips[0] += 1
                redirect = flips[0] % 2 == 1
            if redirect:
                self.reply(302, b"", [("Location", long_location)])
            else:
                self.reply(200, b"ok\n")
        elif path == "/hang":
            time.sleep(600)
        elif path == "/big":
            total = 50 * 1024 * 1024
            chunk = b"x" * 65536
            self.send_response(200)
            self.send_header("Content-Length", str(total))
            self.end_headers()
            try:
                for _ in range(total // len(chunk)):
                    self.wfile.write(chunk)
            except (BrokenPipeError, ConnectionResetError):
                pass
        else:
            self.reply(404, b"not found\n")


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024


def main():
    server = Server(("127.0.0.1", 0), Handler)
    if len(sys.argv) == 3:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(sys.argv[1], sys.argv[2])
        server.socket = context.wrap_socket(server.socket, server_side=True)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
