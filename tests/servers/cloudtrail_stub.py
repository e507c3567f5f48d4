"""A small stand-in for CloudTrail's ListPublicKeys and DescribeTrails and
Organizations' DescribeOrganization (moto has no ListPublicKeys), answering
from a manifest written by digest_corpus.py.

usage: cloudtrail_stub.py MANIFEST
Prints {"url": ...} on its first line, then logs one JSON line per request
to stderr. Keys are answered per region, the region read from the SigV4
credential scope, as CloudTrail keeps one key pair per region. The Value
blob is the DER key in base64, as JSON carries blobs (SDKs decode it; the
AWS CLI leaves blobs undecoded and prints that base64).
Test use only: listens on 127.0.0.1.
"""
import calendar
import json
import re
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from http_util import read_body

manifest = json.load(open(sys.argv[1]))


def epoch(text):
    return calendar.timegm(time.strptime(text, "%Y-%m-%dT%H:%M:%SZ"))


def region_of(handler):
    scope = re.search(r"Credential=[^/]+/\d{8}/([^/]+)/", handler.headers.get("Authorization") or "")
    return scope.group(1) if scope else None


def answer(target, request, region):
    if target.endswith(".ListPublicKeys"):
        start, end = request.get("StartTime"), request.get("EndTime")
        keys = []
        for key in manifest["public_keys"].get(region, []):
            valid_from, valid_to = epoch(key["ValidityStartTime"]), epoch(key["ValidityEndTime"])
            if (end is None or valid_from <= end) and (start is None or start <= valid_to):
                keys.append({
                    "Value": key["Value"],
                    "ValidityStartTime": valid_from,
                    "ValidityEndTime": valid_to,
                    "Fingerprint": key["Fingerprint"],
                })
        return 200, {"PublicKeyList": keys}
    if target.endswith(".DescribeTrails"):
        return 200, {"trailList": [{
            "Name": t["name"], "S3BucketName": manifest["bucket"], "S3KeyPrefix": manifest["prefix"],
            "HomeRegion": t["home_region"], "TrailARN": t["arn"],
            "IsMultiRegionTrail": len(t["regions"]) > 1,
            "IsOrganizationTrail": t["organization"] is not None,
            "LogFileValidationEnabled": True,
        } for t in manifest["trails"]]}
    if target.endswith(".DescribeOrganization"):
        return 200, {"Organization": {"Id": manifest["organization"], "MasterAccountId": "999988887777"}}
    return 400, {"__type": "UnknownOperationException", "message": f"the stub does not answer {target}"}


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        target = self.headers.get("X-Amz-Target") or ""
        request = json.loads(read_body(self) or b"{}")
        region = region_of(self)
        status, body = answer(target, request, region)
        sys.stderr.write(json.dumps({"target": target, "region": region, "request": request,
                                     "status": status}) + "\n")
        sys.stderr.flush()
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(json.dumps({"url": f"http://127.0.0.1:{server.server_address[1]}"}), flush=True)
server.serve_forever()
