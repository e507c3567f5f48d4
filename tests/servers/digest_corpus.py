"""Writes a signed CloudTrail corpus (log objects and their digests, as
CloudTrail writes them) into a bucket on a local S3 endpoint, optionally
tampered with, and prints a manifest of what it wrote.

usage: digest_corpus.py ENDPOINT BUCKET [--tamper KIND]
KIND: none (default), flip-log, delete-log, add-log, bad-signature,
      delete-digest, missing-hour

Independent of trailsearch's Rust validator on purpose: digests are signed
here with Python's `rsa` (what AWS's own validator verifies with), so a
misreading of the format would have to be made twice, in two languages, and
then also pass `aws cloudtrail validate-logs`.

The corpus (prefix `trails/`, one bucket):
- `management`, account 111122223333, home us-east-1, logging us-east-1 and
  eu-west-1 (one key per region), plus one backfill digest in us-east-1;
- `data_events` (an underscore in the name), the same account and prefix,
  us-east-1, with one hour in which nothing was delivered;
- `org-trail`, an organization trail of o-a1b2c3d4e5 (management account
  999988887777) logging member account 444455556666 in us-east-1.
Four hourly digests per chain; two log objects in each hour but one; two log
objects delivered after the last digest (pending at the window's end).
Test use only: the endpoint must be on loopback.
"""
import base64
import gzip
import hashlib
import json
import random
import sys
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlparse

import boto3
import rsa

ROOT = Path(__file__).resolve().parents[2]
KEYS = {
    "us-east-1": ROOT / "tests/fixtures/digest/test-signing-key.pem",
    "eu-west-1": ROOT / "tests/fixtures/digest/test-signing-key-eu-west-1.pem",
}
PREFIX = "trails"
ORG = "o-a1b2c3d4e5"
FIRST_START = datetime(2026, 11, 30, 10, 0, 0, tzinfo=timezone.utc)
HOURS = 4
# The window a test asks about: the log objects of its last two hours that no
# digest lists yet are pending.
WINDOW = ("2026-11-30T10:00:00Z", "2026-11-30T15:00:00Z")

TRAILS = [
    {"name": "management", "account": "111122223333", "home": "us-east-1",
     "regions": ["us-east-1", "eu-west-1"], "org": None, "offset": 31},
    {"name": "data_events", "account": "111122223333", "home": "us-east-1",
     "regions": ["us-east-1"], "org": None, "offset": 727, "empty_hour": 2},
    {"name": "org-trail", "account": "444455556666", "management": "999988887777",
     "home": "us-east-1", "regions": ["us-east-1"], "org": ORG, "offset": 95},
]


def stamp(t, seconds=True):
    return t.strftime("%Y%m%dT%H%M%SZ" if seconds else "%Y%m%dT%H%MZ")


def iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def account_root(trail):
    org = f"{trail['org']}/" if trail["org"] else ""
    return f"{PREFIX}/AWSLogs/{org}{trail['account']}"


def log_key(trail, region, at, unique):
    return (f"{account_root(trail)}/CloudTrail/{region}/{at:%Y/%m/%d}/"
            f"{trail['account']}_CloudTrail_{region}_{stamp(at, False)}_{unique}.json.gz")


def digest_key(trail, region, end, backfill=False):
    suffix = "_backfill" if backfill else ""
    return (f"{account_root(trail)}/CloudTrail-Digest/{region}/{end:%Y/%m/%d}/"
            f"{trail['account']}_CloudTrail-Digest_{region}_{trail['name']}_{trail['home']}_"
            f"{stamp(end)}{suffix}.json.gz")


def records(rng, trail, region, at, n=3):
    out = []
    for i in range(n):
        t = at - timedelta(minutes=4, seconds=17 * i)
        out.append({
            "eventVersion": "1.09",
            "userIdentity": {"type": "IAMUser", "principalId": "AIDAEXAMPLEINTEGRITY",
                             "arn": f"arn:aws:iam::{trail['account']}:user/auditor",
                             "accountId": trail["account"], "userName": "auditor"},
            "eventTime": iso(t),
            "eventSource": "s3.amazonaws.com",
            "eventName": rng.choice(["GetBucketAcl", "ListBuckets", "PutBucketPolicy"]),
            "awsRegion": region,
            "sourceIPAddress": "198.51.100.7",
            "userAgent": "aws-cli/2.15.0",
            "requestParameters": {"bucketName": "evidence"},
            "responseElements": None,
            "eventID": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "readOnly": True,
            "eventType": "AwsApiCall",
            "managementEvent": True,
            "recipientAccountId": trail["account"],
            "eventCategory": "Management",
        })
    return out


class Corpus:
    def __init__(self):
        self.objects = {}  # key -> (gzip bytes, metadata)
        self.private = {r: rsa.PrivateKey.load_pkcs1(p.read_bytes()) for r, p in KEYS.items()}
        self.public_der = {r: rsa.PublicKey(k.n, k.e).save_pkcs1("DER") for r, k in self.private.items()}
        self.fingerprints = {r: hashlib.md5(der).hexdigest() for r, der in self.public_der.items()}
        self.expected = {"digests": 0, "logs_verified": 0, "logs_pending": 0, "events": 0}
        self.logs = []      # every log key
        self.digests = []   # every digest key, in order written
        self.listed = {}    # log key -> digest key that lists it
        self.event_ids = {}  # log key -> its eventIDs

    def put_log(self, rng, trail, region, at):
        body = json.dumps({"Records": records(rng, trail, region, at)}, separators=(",", ":")).encode()
        unique = "".join(rng.choice("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") for _ in range(16))
        key = log_key(trail, region, at, unique)
        self.objects[key] = (gzip.compress(body, mtime=0), {})
        self.logs.append(key)
        self.event_ids[key] = [r["eventID"] for r in json.loads(body)["Records"]]
        self.expected["events"] += 3
        return key, body

    def put_digest(self, bucket, trail, region, start, end, logs, previous, backfill_at=None):
        key = digest_key(trail, region, end, backfill_at is not None)
        content = {
            "awsAccountId": trail["account"],
            "digestStartTime": iso(start),
            "digestEndTime": iso(end),
            "digestS3Bucket": bucket,
            "digestS3Object": key,
            "digestPublicKeyFingerprint": self.fingerprints[region],
            "digestSignatureAlgorithm": "SHA256withRSA",
            "newestEventTime": iso(end - timedelta(minutes=5)) if logs else None,
            "oldestEventTime": iso(start + timedelta(minutes=1)) if logs else None,
            "previousDigestS3Bucket": bucket if previous else None,
            "previousDigestS3Object": previous["key"] if previous else None,
            "previousDigestHashValue": previous["hash"] if previous else None,
            "previousDigestHashAlgorithm": "SHA-256" if previous else None,
            "previousDigestSignature": previous["signature"] if previous else None,
            "logFiles": [{
                "s3Bucket": bucket, "s3Object": k,
                "hashValue": hashlib.sha256(body).hexdigest(), "hashAlgorithm": "SHA-256",
                "newestEventTime": iso(end - timedelta(minutes=5)),
                "oldestEventTime": iso(start + timedelta(minutes=1)),
            } for k, body in logs],
        }
        raw = json.dumps(content, separators=(",", ":")).encode()
        previous_signature = previous["signature"] if previous else "null"
        to_sign = f"{iso(end)}\n{bucket}/{key}\n{hashlib.sha256(raw).hexdigest()}\n{previous_signature}"
        signature = rsa.sign(to_sign.encode(), self.private[region], "SHA-256").hex()
        metadata = {"signature": signature, "signature-algorithm": "SHA256withRSA"}
        if backfill_at is not None:
            metadata["backfill-generation-timestamp"] = iso(backfill_at)
        self.objects[key] = (gzip.compress(raw, mtime=0), metadata)
        self.digests.append(key)
        self.expected["digests"] += 1
        for k, _ in logs:
            self.listed[k] = key
        self.expected["logs_verified"] += len(logs)
        return {"key": key, "hash": hashlib.sha256(raw).hexdigest(), "signature": signature}

    def build(self, bucket):
        rng = random.Random(15)
        for trail in TRAILS:
            for region in trail["regions"]:
                previous = None
                offset = timedelta(seconds=trail["offset"])
                for hour in range(HOURS):
                    start = FIRST_START + offset + timedelta(hours=hour)
                    end = start + timedelta(hours=1)
                    logs = []
                    if hour != trail.get("empty_hour"):
                        for minute in (5, 35):
                            logs.append(self.put_log(rng, trail, region, start + timedelta(minutes=minute)))
                    previous = self.put_digest(bucket, trail, region, start, end, logs, previous)
                if trail["name"] == "management" and region == "us-east-1":
                    # A log object delivered late, vouched for by a backfill digest.
                    start = FIRST_START + offset + timedelta(hours=1)
                    late = [self.put_log(rng, trail, region, start + timedelta(minutes=40))]
                    self.put_digest(bucket, trail, region, start, start + timedelta(hours=1), late,
                                    None, backfill_at=start + timedelta(hours=3, minutes=20))
                if (trail["name"], region) in (("management", "us-east-1"), ("org-trail", "us-east-1")):
                    # Delivered after the last digest: pending, not unlisted.
                    after = FIRST_START + offset + timedelta(hours=HOURS, minutes=10)
                    self.put_log(rng, trail, region, after)
                    self.expected["logs_pending"] += 1

    def public_key_list(self):
        """What ListPublicKeys answers, per region."""
        return {region: [{
            "Value": base64.b64encode(der).decode(),
            "ValidityStartTime": "2026-11-01T00:00:00Z",
            "ValidityEndTime": "2026-12-31T00:00:00Z",
            "Fingerprint": self.fingerprints[region],
        }] for region, der in self.public_der.items()}


def tamper(corpus, kind, bucket):
    """Changes the corpus as an attacker (or an accident) would; returns what
    changed, and the expected counts with it."""
    e = corpus.expected
    by = lambda name, region: [k for k in corpus.digests if f"_{region}_{name}_" in k and "_backfill" not in k]
    if kind == "none":
        return {}
    if kind == "flip-log":
        key = [k for k in corpus.listed if "/111122223333/CloudTrail/us-east-1/" in k][2]
        body = bytearray(gzip.decompress(corpus.objects[key][0]))
        at = body.index(b"198.51.100.7")
        body[at] = ord("2")  # 298.51.100.7: one byte.
        corpus.objects[key] = (gzip.compress(bytes(body), mtime=0), {})
        e["logs_verified"] -= 1
        e["logs_modified"] = 1
        return {"key": key}
    if kind == "delete-log":
        key = [k for k in corpus.listed if "/CloudTrail/eu-west-1/" in k][4]
        del corpus.objects[key]
        e["logs_verified"] -= 1
        e["logs_missing"] = 1
        e["events"] -= 3
        return {"key": key}
    if kind == "add-log":
        trail = TRAILS[0]
        key, _ = corpus.put_log(random.Random(99), trail, "us-east-1", FIRST_START + timedelta(hours=1, minutes=15))
        e["logs_unlisted"] = 1
        return {"key": key}
    if kind == "bad-signature":
        key = by("management", "eu-west-1")[1]
        data, metadata = corpus.objects[key]
        forged = rsa.sign(b"something else", corpus.private["eu-west-1"], "SHA-256").hex()
        corpus.objects[key] = (data, dict(metadata, signature=forged))
        listed = [k for k, d in corpus.listed.items() if d == key]
        e["digests_invalid"] = 1
        e["logs_verified"] -= len(listed)
        e["logs_unlisted"] = len(listed)
        # The next digest recorded the real signature: its link breaks too.
        e["chain_breaks"] = 1
        return {"key": key, "listed": listed}
    if kind == "delete-digest":
        key = by("org-trail", "us-east-1")[1]
        del corpus.objects[key]
        corpus.digests.remove(key)
        listed = [k for k, d in corpus.listed.items() if d == key]
        e["digests"] -= 1
        e["logs_verified"] -= len(listed)
        e["logs_unlisted"] = len(listed)
        e["chain_breaks"] = 1
        return {"key": key, "listed": listed}
    if kind == "missing-hour":
        # Logging was off for an hour: no digest, no logs; the next digest
        # starts a new chain. Rebuild data_events us-east-1 hours 2 and 3.
        keys = by("data_events", "us-east-1")
        trail = TRAILS[1]
        for k in keys[2:]:
            del corpus.objects[k]
            corpus.digests.remove(k)
            e["digests"] -= 1
        for k in [k for k, d in corpus.listed.items() if d in keys[2:]]:
            del corpus.objects[k]
            corpus.logs.remove(k)
            del corpus.listed[k]
            e["logs_verified"] -= 1
            e["events"] -= 3
        start = FIRST_START + timedelta(seconds=trail["offset"], hours=3)
        rng = random.Random(7)
        logs = [corpus.put_log(rng, trail, "us-east-1", start + timedelta(minutes=m)) for m in (5, 35)]
        corpus.put_digest(bucket, trail, "us-east-1", start, start + timedelta(hours=1), logs, None)
        e["gaps"] = 1
        return {"key": corpus.digests[-1], "from": keys[1]}
    sys.exit(f"unknown tamper kind {kind!r}")


def main():
    args = sys.argv[1:]
    kind = "none"
    if "--tamper" in args:
        i = args.index("--tamper")
        kind = args[i + 1]
        del args[i:i + 2]
    endpoint, bucket = args
    if urlparse(endpoint).hostname not in ("127.0.0.1", "localhost"):
        sys.exit(f"refusing a non-loopback endpoint: {endpoint}")
    corpus = Corpus()
    corpus.build(bucket)
    changed = tamper(corpus, kind, bucket)
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                      aws_access_key_id="testing", aws_secret_access_key="testing")
    s3.create_bucket(Bucket=bucket)
    for key, (data, metadata) in sorted(corpus.objects.items()):
        s3.put_object(Bucket=bucket, Key=key, Body=data, Metadata=metadata)
    expected = {k: 0 for k in ("digests_invalid", "logs_modified", "logs_missing", "logs_unlisted",
                               "chain_breaks", "gaps")}
    expected.update(corpus.expected)
    expected["digests_valid"] = expected["digests"] - expected["digests_invalid"]
    trails = [{
        "name": t["name"], "account": t["account"], "home_region": t["home"],
        "regions": t["regions"], "organization": t["org"],
        "arn": f"arn:aws:cloudtrail:{t['home']}:{t.get('management', t['account'])}:trail/{t['name']}",
    } for t in TRAILS]
    print(json.dumps({
        "bucket": bucket, "prefix": PREFIX, "window": WINDOW, "tamper": kind, "changed": changed,
        "expected": expected, "trails": trails, "public_keys": corpus.public_key_list(),
        "organization": ORG, "logs": corpus.logs, "digests": corpus.digests,
        "event_ids": corpus.event_ids, "listed": corpus.listed,
    }, indent=1))


if __name__ == "__main__":
    main()
