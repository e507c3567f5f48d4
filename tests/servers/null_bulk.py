"""A bulk endpoint that accepts every item and does nothing else, counting
what it received, so a loader's own cost can be measured (and a loader that
skips work is caught: GET /_null/stats returns the counts).

usage: null_bulk.py [PORT]   (0 or nothing: a free port; prints {"url": ...})
Loopback only.
"""
import gzip
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

STATS = {"requests": 0, "items": 0, "bytes": 0}
LOCK = threading.Lock()
ROOT = {"name": "null", "cluster_name": "null", "version": {"number": "3.0.0", "distribution": "opensearch"},
        "tagline": "The OpenSearch Project: https://opensearch.org/"}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def body(self):
        raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.headers.get("Content-Encoding") == "gzip":
            raw = gzip.decompress(raw)
        return raw

    def do_GET(self):
        if self.path.startswith("/_null/stats"):
            with LOCK:
                return self.reply(200, dict(STATS))
        if self.path == "/":
            return self.reply(200, ROOT)
        # Templates exist; everything else is empty.
        return self.reply(200, {"index_templates": []} if "_index_template" in self.path else {})

    def do_PUT(self):
        self.body()
        self.reply(200, {"acknowledged": True})

    def do_POST(self):
        raw = self.body()
        if "_bulk" not in self.path:
            return self.reply(200, {})
        lines = raw.count(b"\n")
        items = lines // 2
        with LOCK:
            STATS["requests"] += 1
            STATS["items"] += items
            STATS["bytes"] += len(raw)
        self.reply(200, {"errors": False, "items": [{"create": {"status": 201}}] * items})


def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    print(json.dumps({"url": "http://127.0.0.1:%d" % server.server_address[1]}), flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
