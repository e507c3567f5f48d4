#!/usr/bin/env python3
"""A fault-injecting reverse proxy for the end-to-end fault tests.

It sits between trailsearch (--es-url = this proxy) and the test cluster
(--upstream) and forwards everything unchanged, except that `_bulk` requests
may, with seeded probabilities, be:

  whole-429 / whole-503  answered 429 / 503 without being forwarded;
  item                   forwarded in part (with probability --p-item-bulk,
                         default every request): each item is held back with
                         probability --p-item-fail, only the others are sent
                         upstream, and the answer merges the upstream's item
                         results with a synthesized 429 or 503 for every held
                         back item, in the original order;
  reset-before           not forwarded; the connection is reset (RST);
  reset-during           forwarded, then the answer is cut off part-way and
                         the connection reset;
  delay                  held --delay-seconds (beyond the client's timeout),
                         then the connection reset, never forwarded.

With --down-seconds N the cluster "goes down" when the first `_bulk` request
arrives (so the client's start-up requests, GET / and the template check,
still pass) and stays down N seconds: every connection is reset without an
answer. It is not counted against --max-faults; the other faults stop after
--max-faults, so every run ends. --max-faults-per-id K injects no fault into a
request holding an _id that already took part in K faults (for an item fault,
the held-back items take part): a batch's retries are its failed items again,
so no batch fails more than K times in a row (plus the down window), and a
test can keep the retries within its --max-retry-time for certain.

GET /_fault/stats (not forwarded, not counted, answered even while down)
answers what the proxy saw:
  requests, bulk_requests, bulk_bytes (decompressed NDJSON bytes of each
  `_bulk` request received, in order), forwarded_bytes (NDJSON bytes sent
  upstream), received (_id -> times received), forwarded (_id -> times sent
  upstream), faults (kind -> count), down_resets.

    fault_proxy.py --upstream http://127.0.0.1:9200 --seed 1 --p-whole-429 0.3

On start it prints one JSON line to stdout, {"url": "http://127.0.0.1:PORT"}.
Loopback only: it listens on 127.0.0.1 and refuses an upstream elsewhere.
Python standard library only.
"""

import argparse
import gzip
import json
import random
import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from http_util import forward, read_body  # beside this script

LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}
ITEM_ERRORS = {
    429: ("es_rejected_execution_exception", "fault proxy: rejected execution (queue full)"),
    503: ("unavailable_shards_exception", "fault proxy: primary shard is not active"),
}


def reset(sock):
    """Closes a socket abruptly: SO_LINGER 0 makes close() send RST."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass


class State:
    """Counters and the seeded random source, behind one lock."""

    def __init__(self, config):
        self.config = config
        self.lock = threading.Lock()
        self.rng = random.Random(config.seed)
        self.faults_left = config.max_faults
        self.down_until = None
        self.requests = 0
        self.bulk_requests = 0
        self.bulk_bytes = []
        self.forwarded_bytes = 0
        self.received = {}
        self.forwarded = {}
        self.faults = {}
        self.down_resets = 0
        self.faulted = {}  # _id -> faults it took part in

    def is_down(self, bulk):
        with self.lock:
            if self.config.down_seconds <= 0:
                return False
            now = time.monotonic()
            if self.down_until is None:
                if not bulk:
                    return False
                self.down_until = now + self.config.down_seconds
            if now < self.down_until:
                self.down_resets += 1
                return True
            return False

    def choose_fault(self, ids):
        """One fault kind for a bulk request of these _ids, or None."""
        c = self.config
        with self.lock:
            if self.faults_left <= 0:
                return None
            cap = c.max_faults_per_id
            if cap > 0 and any(self.faulted.get(i, 0) >= cap for i in ids):
                return None
            roll = self.rng.random()
            for kind, p in (
                ("whole-429", c.p_whole_429),
                ("whole-503", c.p_whole_503),
                ("reset-before", c.p_reset_before),
                ("reset-during", c.p_reset_during),
                ("delay", c.p_delay),
            ):
                if roll < p:
                    return kind
                roll -= p
            if c.p_item_fail > 0 and roll < c.p_item_bulk:
                return "item"
            return None

    def record_fault(self, kind, ids):
        with self.lock:
            self.faults_left -= 1
            self.faults[kind] = self.faults.get(kind, 0) + 1
            for i in ids:
                self.faulted[i] = self.faulted.get(i, 0) + 1

    def hold_back(self, n):
        """Which of n items to hold back (item faults), and their statuses."""
        with self.lock:
            held = {}
            for i in range(n):
                if self.rng.random() < self.config.p_item_fail:
                    held[i] = self.rng.choice((429, 503))
            return held

    def stats(self):
        with self.lock:
            return {
                "requests": self.requests,
                "bulk_requests": self.bulk_requests,
                "bulk_bytes": list(self.bulk_bytes),
                "forwarded_bytes": self.forwarded_bytes,
                "received": dict(self.received),
                "forwarded": dict(self.forwarded),
                "faults": dict(self.faults),
                "down_resets": self.down_resets,
            }


def split_bulk(ndjson):
    """NDJSON -> [(action_line, source_line, op, _id)]; every op here has a source."""
    lines = ndjson.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    pairs = []
    for i in range(0, len(lines) - 1, 2):
        action = json.loads(lines[i])
        op = next(iter(action))
        pairs.append((lines[i], lines[i + 1], op, action[op].get("_id")))
    if len(lines) % 2:
        raise ValueError("bulk body has an action without a source")
    return pairs


def join_bulk(pairs):
    return b"".join(a + b"\n" + s + b"\n" for a, s, _, _ in pairs)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = False
    request_queue_size = 64

    def __init__(self, config):
        self.config = config
        self.state = State(config)
        super().__init__(("127.0.0.1", config.port), Handler)

    def handle_error(self, request, client_address):
        pass  # resets and clients that went away are the point here


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "trailsearch-fault-proxy"
    sys_version = ""

    def log_message(self, format, *args):  # noqa: A002 - http.server's name
        pass

    def read_body(self):
        return read_body(self)

    def reply(self, status, body, content_type="application/json"):
        self.send_response(status)
        self.send_header("Content-Type", content_type or "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def reset(self):
        self.close_connection = True
        try:
            self.wfile.flush()
        except OSError:
            pass
        reset(self.connection)

    def forward(self, body, content_encoding):
        return forward(
            self.server.config.upstream,
            self.command,
            self.path,
            body,
            self.headers.get("Content-Type"),
            content_encoding,
        )

    def handle_any(self):
        state = self.server.state
        path = urlsplit(self.path).path
        bulk = path.rstrip("/").endswith("/_bulk") or path == "/_bulk"
        if path == "/_fault/stats":
            self.read_body()
            self.reply(200, json.dumps(state.stats()).encode())
            return
        if state.is_down(bulk):
            self.reset()
            return
        body = self.read_body()
        with state.lock:
            state.requests += 1
        if not bulk or self.command != "POST":
            status, payload, content_type = self.forward(body, self.headers.get("Content-Encoding"))
            self.reply(status, payload, content_type)
            return
        self.handle_bulk(body)

    def handle_bulk(self, body):
        state = self.server.state
        gzipped = (self.headers.get("Content-Encoding") or "").lower() == "gzip"
        ndjson = gzip.decompress(body) if gzipped else body
        pairs = split_bulk(ndjson)
        with state.lock:
            state.bulk_requests += 1
            state.bulk_bytes.append(len(ndjson))
            for _, _, _, doc_id in pairs:
                state.received[doc_id] = state.received.get(doc_id, 0) + 1

        def send_upstream(chosen):
            data = join_bulk(chosen)
            with state.lock:
                state.forwarded_bytes += len(data)
                for _, _, _, doc_id in chosen:
                    state.forwarded[doc_id] = state.forwarded.get(doc_id, 0) + 1
            return self.forward(gzip.compress(data, 1) if gzipped else data, "gzip" if gzipped else None)

        ids = [doc_id for _, _, _, doc_id in pairs]
        kind = state.choose_fault(ids)
        if kind in ("whole-429", "whole-503"):
            state.record_fault(kind, ids)
            status = 429 if kind == "whole-429" else 503
            kind_name, reason = ITEM_ERRORS[status]
            answer = {"error": {"type": kind_name, "reason": reason}, "status": status}
            self.reply(status, json.dumps(answer).encode())
            return
        if kind == "reset-before":
            state.record_fault(kind, ids)
            self.reset()
            return
        if kind == "delay":
            state.record_fault(kind, ids)
            time.sleep(self.server.config.delay_seconds)
            self.reset()
            return
        if kind == "reset-during":
            state.record_fault(kind, ids)
            status, payload, content_type = send_upstream(pairs)
            self.send_response(status)
            self.send_header("Content-Type", content_type or "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload[: len(payload) // 2])
            self.reset()
            return
        held = state.hold_back(len(pairs)) if kind == "item" else {}
        if not held:
            status, payload, content_type = send_upstream(pairs)
            self.reply(status, payload, content_type)
            return
        state.record_fault(kind, [pairs[i][3] for i in held])
        chosen = [p for i, p in enumerate(pairs) if i not in held]
        upstream_items = []
        if chosen:
            status, payload, content_type = send_upstream(chosen)
            if status != 200:
                # The upstream refused the part sent: pass its answer on.
                self.reply(status, payload, content_type)
                return
            upstream_items = json.loads(payload).get("items", [])
            if len(upstream_items) != len(chosen):
                self.reply(502, json.dumps({"error": {"type": "proxy_error", "reason": "item count"}}).encode())
                return
        items = []
        upstream_iter = iter(upstream_items)
        for i, (_, _, op, _) in enumerate(pairs):
            if i in held:
                kind_name, reason = ITEM_ERRORS[held[i]]
                items.append({op: {"status": held[i], "error": {"type": kind_name, "reason": reason}}})
            else:
                items.append(next(upstream_iter))
        self.reply(200, json.dumps({"errors": True, "items": items}).encode())

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = handle_any


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--upstream", required=True, help="the cluster to forward to (loopback)")
    parser.add_argument("--port", type=int, default=0, help="0: a free port")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--p-whole-429", type=float, default=0.0)
    parser.add_argument("--p-whole-503", type=float, default=0.0)
    parser.add_argument("--p-item-fail", type=float, default=0.0,
                        help="fraction of a bulk request's items held back (429/503 items)")
    parser.add_argument("--p-item-bulk", type=float, default=1.0,
                        help="probability that a bulk request gets item faults at all")
    parser.add_argument("--p-reset-before", type=float, default=0.0)
    parser.add_argument("--p-reset-during", type=float, default=0.0)
    parser.add_argument("--p-delay", type=float, default=0.0)
    parser.add_argument("--delay-seconds", type=float, default=3.0)
    parser.add_argument("--down-seconds", type=float, default=0.0,
                        help="reset every connection for N s from the first _bulk request")
    parser.add_argument("--max-faults", type=int, default=20,
                        help="stop injecting faults after this many")
    parser.add_argument("--max-faults-per-id", type=int, default=0,
                        help="inject no fault into a request holding an _id that took part in "
                             "this many already (0: no limit); bounds one batch's failures")
    config = parser.parse_args()
    config.upstream = urlsplit(config.upstream)
    if config.upstream.scheme != "http" or config.upstream.hostname not in LOOPBACK_HOSTS:
        parser.error("--upstream must be an http URL on the loopback interface")
    server = Server(config)
    port = server.server_address[1]
    sys.stdout.write(json.dumps({"url": f"http://127.0.0.1:{port}"}) + "\n")
    sys.stdout.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
