#!/usr/bin/env python3
"""A stand-in for Kibana (7.10 to 9.x) or OpenSearch Dashboards 2, for the
saved-object import tests: no Kibana runs on these machines, so this checks
the requests trailsearch sends and answers the way the real products do.

    kibana_stub.py --flavour kibana|osd|redacted [--version V] [--port 0]
                   [--user U --password P] [--refuse ID,...]

- GET /api/status, shaped as each version's own route answers it: Kibana
  7.x's legacy status (`status.overall.state`, `status.statuses[].id` =
  `core:elasticsearch@7.17.18`: 7.x answers the new shape only with
  `?v8format=true`), Kibana 8.0+'s (`status.overall.level`,
  `status.core.elasticsearch`; `version.build_flavor` from 8.10), OpenSearch
  Dashboards 2's legacy one (`core:opensearch@2.17.0`...), or with
  `redacted` Kibana 9's answer to an anonymous caller, which names no
  product and no version.
- Objects in a layout newer than the version knows fail the whole import
  with 422, as Kibana's document migrator does ("Document ... has property
  "map" which belongs to a more recent version of Kibana [8.1.0]. The last
  known version is [8.0.0]"): the stub knows each version's last `map`
  migration (7.10.0, 7.14.0, 8.0.0, 8.1.0, 8.4.0).
- With --new-ids, every imported object comes back with a `destinationId`
  of its own, as Kibana 8+ answers in a space other than the default when
  the IDs are taken in another space. The `securitytenant` header (Dashboards'
  security plugin) is logged.
- POST /api/saved_objects/_import: checks, as the products do, the XSRF
  header (`kbn-xsrf` for Kibana and redacted, `osd-xsrf` for Dashboards; a
  missing one is a 400 with the product's message), a multipart/form-data
  body whose `file` part is named `*.ndjson` (else 400 "Invalid file
  extension"), one saved object per line, types the product knows (else
  `unsupported_type`; `map` is Kibana's only), references that resolve in
  the file or among objects imported before (else a `missing_references`
  error for that object), and `overwrite=true` (without
  it, objects imported before are `conflict` errors). IDs in --refuse get an
  `unknown` error as a strict mapping would give. Imported objects are kept,
  so a second import shows whether IDs are stable.
- With --user/--password, every request must carry those basic credentials
  (401 otherwise).

On start it prints {"url": "http://127.0.0.1:PORT"} on stdout. Every request
is logged on stderr as one JSON line, written before the answer is sent:
method, path, the headers that matter (never Authorization's value), whether
it was accepted, the problems found, and for imports the multipart details and
the objects read from the file. Loopback only.
"""

import argparse
import base64
import email.parser
import email.policy
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

KNOWN_TYPES = {"index-pattern", "search", "visualization", "dashboard", "config", "query", "url"}
# Kibana's Maps app adds `map`; Dashboards has no such type.
KIBANA_TYPES = KNOWN_TYPES | {"map"}
LOCK = threading.Lock()
STORE = {}  # (type, id) -> object, across imports

KIBANA_STATUS = {
    "name": "kibana-stub",
    "uuid": "5b2de169-2785-441b-ae8c-186a1936b17d",
    "version": {
        "number": "8.15.3",
        "build_hash": "6ee0e6c5b1e4c5d2bd7d3d2b0b3c1c3a0f8a9e11",
        "build_number": 77069,
        "build_snapshot": False,
        "build_flavor": "traditional",
        "build_date": "2024-10-10T14:05:42.162Z",
    },
    "status": {
        "overall": {"level": "available", "summary": "All services and plugins are available"},
        "core": {
            "elasticsearch": {"level": "available", "summary": "Elasticsearch is available"},
            "savedObjects": {"level": "available", "summary": "SavedObjects service has completed migrations"},
        },
        "plugins": {},
    },
    "metrics": {"last_updated": "2024-10-10T14:05:42.162Z", "collection_interval_in_millis": 5000},
}

OSD_STATUS = {
    "name": "opensearch-dashboards-stub",
    "uuid": "0f0d5b3c-3d0e-4c34-9c55-0d1e3f2a4b6c",
    "version": {"number": "2.17.0", "build_hash": "b2b8e7c0b4c1a7e8f0d4", "build_number": 7869, "build_snapshot": False},
    "status": {
        "overall": {"since": "2024-10-10T14:05:42.162Z", "state": "green", "title": "Green",
                    "nickname": "Looking good", "icon": "success", "uiColor": "secondary"},
        "statuses": [
            {"id": "core:opensearch@2.17.0", "message": "OpenSearch is available", "since": "2024-10-10T14:05:42.162Z",
             "state": "green", "icon": "success", "uiColor": "secondary"},
            {"id": "core:savedObjects@2.17.0", "message": "SavedObjects service has completed migrations",
             "since": "2024-10-10T14:05:42.162Z", "state": "green", "icon": "success", "uiColor": "secondary"},
        ],
    },
    "metrics": {"last_updated": "2024-10-10T14:05:42.162Z", "collection_interval_in_millis": 5000},
}

REDACTED_STATUS = {"status": {"overall": {"level": "available"}}}

# The last migration each Kibana version registers for `map` (x-pack maps'
# saved_object_migrations.ts): a map declaring a later one is refused.
MAP_MIGRATIONS = ["7.10.0", "7.12.0", "7.14.0", "8.0.0", "8.1.0", "8.4.0"]


def semver(text):
    return tuple(int(p) for p in text.split("-")[0].split(".")[:3])


def last_known(kind, version):
    if kind != "map":
        return None
    known = [m for m in MAP_MIGRATIONS if semver(m) <= semver(version)]
    return known[-1] if known else None


def kibana_status(version):
    """Kibana's GET /api/status at `version`, in that version's default shape."""
    body = json.loads(json.dumps(KIBANA_STATUS))
    body["version"]["number"] = version
    major, minor = semver(version)[:2]
    if (major, minor) < (8, 10):
        # build_flavor and build_date came with 8.10.
        del body["version"]["build_flavor"]
        del body["version"]["build_date"]
    if major < 8:
        body["status"] = {
            "overall": {"since": "2024-10-10T14:05:42.162Z", "state": "green", "title": "Green",
                        "nickname": "Looking good", "icon": "success", "uiColor": "secondary"},
            "statuses": [
                {"id": f"core:elasticsearch@{version}", "message": "Elasticsearch is available",
                 "since": "2024-10-10T14:05:42.162Z", "state": "green", "icon": "success", "uiColor": "secondary"},
                {"id": f"core:savedObjects@{version}", "message": "SavedObjects service has completed migrations",
                 "since": "2024-10-10T14:05:42.162Z", "state": "green", "icon": "success", "uiColor": "secondary"},
            ],
        }
    return body


def log(entry):
    with LOCK:
        sys.stderr.write(json.dumps(entry, sort_keys=True) + "\n")
        sys.stderr.flush()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "kibana-stub"

    def log_message(self, *args):
        pass

    def reply(self, status, body, entry):
        entry["status"] = status
        entry["ok"] = 200 <= status < 300 and not entry["problems"]
        log(entry)
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        # The name header each product adds to its answers.
        self.send_header("osd-name" if self.server.flavour == "osd" else "kbn-name", "stub")
        self.end_headers()
        self.wfile.write(data)

    def entry(self):
        wanted = ["content-type", "content-encoding", "kbn-xsrf", "osd-xsrf", "kbn-version", "osd-version",
                  "securitytenant"]
        headers = {k: self.headers[k] for k in wanted if self.headers.get(k) is not None}
        if self.headers.get("authorization") is not None:
            headers["authorization"] = "(present)"
        return {"method": self.command, "path": self.path, "headers": headers, "problems": []}

    def authorised(self, entry):
        user, password = self.server.credentials
        if user is None:
            return True
        expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        if self.headers.get("authorization") == expected:
            return True
        entry["problems"].append("missing or wrong basic credentials")
        self.reply(401, {"statusCode": 401, "error": "Unauthorized", "message": "Unauthorized"}, entry)
        return False

    def do_GET(self):
        entry = self.entry()
        if not self.authorised(entry):
            return
        if urlsplit(self.path).path == "/api/status":
            flavour = self.server.flavour
            if flavour == "kibana":
                body = kibana_status(self.server.version)
            else:
                body = {"osd": OSD_STATUS, "redacted": REDACTED_STATUS}[flavour]
            return self.reply(200, body, entry)
        entry["problems"].append("unexpected GET")
        self.reply(404, {"statusCode": 404, "error": "Not Found", "message": "Not Found"}, entry)

    def do_POST(self):
        entry = self.entry()
        length = int(self.headers.get("Content-Length", 0))
        raw = self.rfile.read(length)
        if not self.authorised(entry):
            return
        url = urlsplit(self.path)
        if url.path != "/api/saved_objects/_import":
            entry["problems"].append("unexpected POST")
            return self.reply(404, {"statusCode": 404, "error": "Not Found", "message": "Not Found"}, entry)
        product = "osd" if self.server.flavour == "osd" else "kbn"
        if self.headers.get(f"{product}-xsrf") is None and self.headers.get(f"{product}-version") is None:
            entry["problems"].append(f"no {product}-xsrf header")
            return self.reply(400, {"statusCode": 400, "error": "Bad Request",
                                    "message": f"Request must contain a {product}-xsrf header."}, entry)
        if self.headers.get("content-encoding"):
            entry["problems"].append("content-encoding " + self.headers["content-encoding"])
        overwrite = parse_qs(url.query).get("overwrite") == ["true"]
        entry["overwrite"] = overwrite
        content_type = self.headers.get("content-type", "")
        if not content_type.startswith("multipart/form-data"):
            entry["problems"].append("not multipart/form-data: " + content_type)
            return self.reply(415, {"statusCode": 415, "error": "Unsupported Media Type",
                                    "message": "Unsupported Media Type"}, entry)
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + raw
        )
        if not message.is_multipart() or message.defects:
            entry["problems"].append(f"malformed multipart body: {message.defects}")
            return self.reply(400, {"statusCode": 400, "error": "Bad Request", "message": "Invalid multipart payload"},
                              entry)
        parts = list(message.iter_parts())
        entry["parts"] = [{"name": p.get_param("name", header="content-disposition"),
                           "filename": p.get_filename(), "content_type": p.get_content_type()} for p in parts]
        files = [p for p in parts if p.get_param("name", header="content-disposition") == "file"]
        if len(files) != 1:
            entry["problems"].append("no single part named file")
            return self.reply(400, {"statusCode": 400, "error": "Bad Request",
                                    "message": "[request body.file]: expected value of type [Stream]"}, entry)
        filename = files[0].get_filename() or ""
        if not filename.endswith(".ndjson"):
            ext = "." + filename.rsplit(".", 1)[-1] if "." in filename else ""
            entry["problems"].append("file not named *.ndjson: " + filename)
            return self.reply(400, {"statusCode": 400, "error": "Bad Request",
                                    "message": f"Invalid file extension {ext}"}, entry)
        payload = files[0].get_payload(decode=True)
        objects = []
        for number, line in enumerate(payload.decode("utf-8").split("\n"), 1):
            if not line.strip():
                continue
            try:
                objects.append(json.loads(line))
            except ValueError as e:
                entry["problems"].append(f"line {number} is not JSON: {e}")
                return self.reply(400, {"statusCode": 400, "error": "Bad Request",
                                        "message": f"Unexpected token in JSON at line {number}"}, entry)
        entry["objects"] = objects
        self.import_objects(objects, overwrite, entry)

    def import_objects(self, objects, overwrite, entry):
        if self.server.flavour != "osd":
            for o in objects:
                kind = o.get("type")
                declared = (o.get("migrationVersion") or {}).get(kind)
                known = last_known(kind, self.server.version)
                if declared and known and semver(declared) > semver(known):
                    return self.reply(422, {
                        "statusCode": 422, "error": "Unprocessable Entity",
                        "message": f'Document "{o.get("id")}" has property "{kind}" which belongs to a more recent '
                                   f"version of Kibana [{declared}]. The last known version is [{known}]"}, entry)
        errors, results = [], []
        in_file = {(o.get("type"), o.get("id")) for o in objects}
        with LOCK:
            known = set(STORE) | in_file
        for o in objects:
            kind, oid = o.get("type"), o.get("id")
            title = (o.get("attributes") or {}).get("title")
            meta = {"title": title, "icon": "app"}

            def error(err):
                errors.append({"id": oid, "type": kind, "title": title, "meta": meta, "error": err})

            if not isinstance(o.get("attributes"), dict) or not oid or not kind:
                entry["problems"].append(f"object without type, id or attributes: {o}")
                error({"type": "unknown", "message": "Bad Request", "statusCode": 400})
                continue
            if kind not in (KNOWN_TYPES if self.server.flavour == "osd" else KIBANA_TYPES):
                error({"type": "unsupported_type"})
                continue
            missing = [{"type": r.get("type"), "id": r.get("id")} for r in o.get("references", [])
                       if (r.get("type"), r.get("id")) not in known]
            if missing:
                error({"type": "missing_references", "references": missing})
                continue
            if oid in self.server.refuse:
                error({"type": "unknown", "statusCode": 400,
                       "message": f"mapping set to strict, dynamic introduction of [x] within [{kind}] is not allowed"})
                continue
            with LOCK:
                if (kind, oid) in STORE and not overwrite:
                    error({"type": "conflict"})
                    continue
                STORE[(kind, oid)] = o
            result = {"type": kind, "id": oid, "meta": meta}
            if self.server.new_ids:
                # Kibana 8+ in a space other than the default, the IDs taken in another space.
                result["destinationId"] = "new-" + oid
            results.append(result)
        with LOCK:
            entry["stored"] = len(STORE)
        body = {"success": not errors, "successCount": len(results), "successResults": results, "warnings": []}
        if errors:
            body["errors"] = errors
        self.reply(200, body, entry)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--flavour", required=True, choices=["kibana", "osd", "redacted"])
    parser.add_argument("--version", default="8.15.3", help="the Kibana version to answer as")
    parser.add_argument("--port", type=int, default=0, help="0: a free port")
    parser.add_argument("--user")
    parser.add_argument("--password")
    parser.add_argument("--refuse", default="", help="comma-separated IDs to refuse")
    parser.add_argument("--new-ids", action="store_true",
                        help="give every imported object a new ID (destinationId), as Kibana 8+ does in a "
                             "non-default space when the IDs are taken in another space")
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    server.flavour = args.flavour
    server.version = args.version
    server.new_ids = args.new_ids
    server.credentials = (args.user, args.password)
    server.refuse = {i for i in args.refuse.split(",") if i}
    print(json.dumps({"url": f"http://127.0.0.1:{server.server_address[1]}"}), flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
