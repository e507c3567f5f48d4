#!/usr/bin/env python3
"""An authenticating reverse proxy for the end-to-end auth tests.

It stands in for a secured cluster in front of the (unauthenticated) test
server: every request is authenticated (AWS SigV4 checked independently with
botocore, HTTP basic, or an Elasticsearch API key), then forwarded unchanged
(method, path and query, body bytes, Content-Type, Content-Encoding) to
--upstream, and the upstream status and body are relayed back.

    auth_proxy.py --mode sigv4 --service es --region eu-west-1 \
        --access-key AKID --secret-key SECRET --upstream http://127.0.0.1:9200
    auth_proxy.py --mode basic --user U --password P --upstream URL [--tls-dir DIR]
    auth_proxy.py --mode apikey --api-key K --upstream URL

On start it prints one JSON line to stdout, {"url": "http(s)://127.0.0.1:PORT"}.
Every request is logged as one JSON line on stderr (method, path, whether it
was accepted and why not), written before the answer is sent, so a client
that has its answer can read the whole log. Header values and secrets are
never logged.

With --tls-dir it makes a throwaway CA and a server certificate for
127.0.0.1 and localhost, writes the CA to DIR/ca.pem and serves HTTPS.

Loopback only: it listens on 127.0.0.1 and refuses an upstream elsewhere.
"""

import argparse
import base64
import datetime
import hashlib
import hmac
import ipaddress
import json
import os
import re
import ssl
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from unittest import mock
from urllib.parse import unquote, urlsplit

import botocore.auth
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from http_util import forward, read_body  # beside this script

SIGV4_TIMESTAMP = "%Y%m%dT%H%M%SZ"
MAX_CLOCK_SKEW = datetime.timedelta(minutes=15)
AUTHORIZATION_RE = re.compile(
    r"^AWS4-HMAC-SHA256\s+"
    r"Credential=(?P<credential>[^,\s]+)\s*,\s*"
    r"SignedHeaders=(?P<signed_headers>[^,\s]+)\s*,\s*"
    r"Signature=(?P<signature>[0-9a-f]{64})\s*$"
)
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}

_log_lock = threading.Lock()
# botocore takes "now" from botocore.auth.get_current_datetime; it is patched
# per verification (to the request's X-Amz-Date), one at a time.
_signing_lock = threading.Lock()


def log(record):
    line = json.dumps(record, sort_keys=True)
    with _log_lock:
        sys.stderr.write(line + "\n")
        sys.stderr.flush()


class Rejected(Exception):
    """Authentication failed; the message is safe to show and log."""


# --- SigV4 -------------------------------------------------------------------


def canonical_query_params(query):
    """The query's (name, value) pairs, percent-decoded, in received order.

    SigV4 canonicalizes the query by URI-encoding each decoded name and value
    (RFC 3986 unreserved characters stay, everything else is %XX), then
    sorting. botocore does exactly that for `AWSRequest.params`, but when the
    query only comes in the URL it uses the text verbatim, which is right
    only if the sender already encoded it that way. The sender here need not
    have (a `,` or `*` is legal unencoded in a query), and AWS decodes and
    re-encodes whatever it receives, so this does too.
    """
    pairs = []
    for part in query.split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        pairs.append((unquote(name), unquote(value)))
    return pairs


def botocore_authorization(method, url, headers, body, params, access_key,
                           secret_key, service, region, amz_date):
    """The Authorization header botocore computes for this request at amz_date."""
    request = AWSRequest(method=method, url=url, data=body)
    if params:
        request.params = params
    for name, value in headers:
        request.headers[name] = value
    signer = SigV4Auth(Credentials(access_key, secret_key), service, region)
    when = datetime.datetime.strptime(amz_date, SIGV4_TIMESTAMP)
    with _signing_lock, mock.patch.object(
        botocore.auth, "get_current_datetime", return_value=when
    ):
        signer.add_auth(request)
    return request.headers["Authorization"]


def verify_sigv4(config, method, url, header_pairs, body):
    """Raises Rejected unless the request carries a valid SigV4 signature.

    Returns a short description of what was checked.
    """

    def header(name):
        values = [v for k, v in header_pairs if k.lower() == name]
        if len(values) > 1:
            raise Rejected(f"more than one {name} header")
        return values[0] if values else None

    authorization = header("authorization")
    if not authorization:
        raise Rejected("missing Authorization header")
    match = AUTHORIZATION_RE.match(authorization.strip())
    if not match:
        raise Rejected("Authorization header is not AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...")
    credential = match["credential"].split("/")
    if len(credential) != 5 or credential[4] != "aws4_request":
        raise Rejected("Credential is not AKID/date/region/service/aws4_request")
    access_key, scope_date, region, service, _ = credential
    if not hmac.compare_digest(access_key, config.access_key):
        raise Rejected("The security token included in the request is invalid (unknown access key)")
    if region != config.region:
        raise Rejected(f"Credential should be scoped to a valid region, not {region!r} (expected {config.region!r})")
    if service != config.service:
        raise Rejected(f"Credential should be scoped to correct service: {config.service!r}, not {service!r}")

    signed = match["signed_headers"].split(";")
    if signed != sorted(set(signed)) or any(n != n.lower() for n in signed):
        raise Rejected("SignedHeaders are not lowercase, sorted and unique")
    for required in ("host", "x-amz-date", "x-amz-content-sha256"):
        if required not in signed:
            raise Rejected(f"SignedHeaders must include {required}")

    amz_date = header("x-amz-date")
    try:
        when = datetime.datetime.strptime(amz_date or "", SIGV4_TIMESTAMP)
    except ValueError:
        raise Rejected("X-Amz-Date is missing or not YYYYMMDDTHHMMSSZ") from None
    if scope_date != amz_date[:8]:
        raise Rejected("Credential date does not match X-Amz-Date")
    now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    if abs(now - when) > MAX_CLOCK_SKEW:
        raise Rejected("Signature expired: X-Amz-Date is more than 15 minutes from now")

    content_sha256 = header("x-amz-content-sha256")
    if content_sha256 != hashlib.sha256(body).hexdigest():
        raise Rejected("x-amz-content-sha256 does not match the SHA-256 of the received body")

    signed_pairs = []
    for name in signed:
        values = [v for k, v in header_pairs if k.lower() == name]
        if not values:
            raise Rejected(f"signed header {name} is missing from the request")
        signed_pairs.extend((name, v) for v in values)

    query = urlsplit(url).query
    expected = botocore_authorization(
        method, url, signed_pairs, body, canonical_query_params(query),
        config.access_key, config.secret_key, config.service, config.region, amz_date,
    )
    got = parse_authorization(expected)
    if got["credential"] != match["credential"]:
        raise Rejected("Credential scope differs from botocore's")
    if got["signed_headers"] != match["signed_headers"]:
        raise Rejected("SignedHeaders differ from what botocore signs (a header botocore never signs?)")
    if not hmac.compare_digest(got["signature"], match["signature"]):
        why = "The request signature we calculated does not match the signature you provided"
        if query:
            # Diagnose, without accepting: would botocore's verbatim use of
            # the URL's query text have matched? Then the sender signed the
            # query unencoded, not as SigV4 specifies.
            raw = parse_authorization(botocore_authorization(
                method, url, signed_pairs, body, None,
                config.access_key, config.secret_key, config.service, config.region, amz_date,
            ))
            if hmac.compare_digest(raw["signature"], match["signature"]):
                why += " (it matches the query string signed verbatim, not URI-encoded per SigV4)"
        raise Rejected(why)
    return f"sigv4 {service}/{region}"


def parse_authorization(value):
    match = AUTHORIZATION_RE.match(value)
    if not match:
        raise RuntimeError("botocore produced an unexpected Authorization header")
    return match.groupdict()


# --- basic and API key ---------------------------------------------------------


def verify_basic(config, header_pairs):
    values = [v for k, v in header_pairs if k.lower() == "authorization"]
    if len(values) != 1:
        raise Rejected("missing authentication credentials for REST request")
    scheme, _, token = values[0].strip().partition(" ")
    if scheme.lower() != "basic":
        raise Rejected("missing authentication credentials for REST request (not Basic)")
    try:
        decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        raise Rejected("Basic credentials are not base64 user:password") from None
    user, sep, password = decoded.partition(":")
    ok_user = hmac.compare_digest(user.encode(), config.user.encode())
    ok_password = hmac.compare_digest(password.encode(), config.password.encode())
    if not (sep and ok_user and ok_password):
        raise Rejected("unable to authenticate user for REST request")
    return "basic"


def verify_api_key(config, header_pairs):
    values = [v for k, v in header_pairs if k.lower() == "authorization"]
    if len(values) != 1:
        raise Rejected("missing authentication credentials for REST request")
    scheme, _, key = values[0].strip().partition(" ")
    if scheme.lower() != "apikey":
        raise Rejected("missing authentication credentials for REST request (not ApiKey)")
    if not hmac.compare_digest(key.strip().encode(), config.api_key.encode()):
        raise Rejected("unable to authenticate with provided API key")
    return "apikey"


# --- TLS -----------------------------------------------------------------------


def make_tls_context(directory):
    """A throwaway CA (written to DIR/ca.pem) and a server cert it signed."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    os.makedirs(directory, exist_ok=True)
    now = datetime.datetime.now(datetime.timezone.utc)
    start, end = now - datetime.timedelta(hours=1), now + datetime.timedelta(days=2)

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "trailsearch e2e test CA")])
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True,
                crl_sign=True, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ca_ski, critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=False,
                crl_sign=False, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.SubjectAlternativeName([
                x509.DNSName("localhost"),
                x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
            ]),
            critical=False,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    pem = serialization.Encoding.PEM
    ca_path = os.path.join(directory, "ca.pem")
    cert_path = os.path.join(directory, "server.pem")
    key_path = os.path.join(directory, "server-key.pem")
    with open(ca_path, "wb") as f:
        f.write(ca_cert.public_bytes(pem))
    with open(cert_path, "wb") as f:
        f.write(cert.public_bytes(pem))
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key.private_bytes(
            pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert_path, key_path)
    return context


# --- the server ----------------------------------------------------------------


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = False

    def __init__(self, config, tls_context):
        self.config = config
        self.tls_context = tls_context
        self.scheme = "https" if tls_context else "http"
        super().__init__(("127.0.0.1", config.port), Handler)

    def get_request(self):
        sock, address = self.socket.accept()
        if self.tls_context:
            # The handshake happens in the request's thread (Handler.setup).
            sock = self.tls_context.wrap_socket(
                sock, server_side=True, do_handshake_on_connect=False
            )
        return sock, address

    def handle_error(self, request, client_address):
        error = sys.exc_info()[1]
        log({"event": "connection error", "why": f"{type(error).__name__}: {error}"})


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "trailsearch-auth-proxy"
    sys_version = ""

    def setup(self):
        if self.server.tls_context:
            self.request.settimeout(30)
            try:
                self.request.do_handshake()
            except (ssl.SSLError, OSError) as e:
                log({"event": "tls handshake failed", "why": f"{type(e).__name__}: {e}"})
                raise
        super().setup()

    def log_message(self, format, *args):  # noqa: A002 - http.server's name
        pass  # every request is logged once, as JSON, by handle_any

    def read_body(self):
        return read_body(self)

    def reply(self, status, body, content_type="application/json", extra=()):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in extra:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def authenticate(self, body):
        config = self.server.config
        pairs = list(self.headers.items())
        if config.mode == "sigv4":
            host = self.headers.get("Host") or "127.0.0.1:%d" % self.server.server_address[1]
            url = f"{self.server.scheme}://{host}{self.path}"
            return verify_sigv4(config, self.command, url, pairs, body)
        if config.mode == "basic":
            return verify_basic(config, pairs)
        return verify_api_key(config, pairs)

    def handle_any(self):
        body = self.read_body()
        record = {
            "method": self.command,
            "path": self.path,
            "body_bytes": len(body),
            "gzip": (self.headers.get("Content-Encoding") or "").lower() == "gzip",
        }
        try:
            record["auth"] = self.authenticate(body)
        except Rejected as e:
            status = 403 if self.server.config.mode == "sigv4" else 401
            record.update(ok=False, status=status, why=str(e))
            log(record)
            answer = {
                "error": {
                    "root_cause": [{"type": "security_exception", "reason": str(e)}],
                    "type": "security_exception",
                    "reason": str(e),
                },
                "status": status,
            }
            extra = ()
            if status == 401:
                scheme = "Basic" if self.server.config.mode == "basic" else "ApiKey"
                extra = (("WWW-Authenticate", f'{scheme} realm="security", charset="UTF-8"'),)
            self.reply(status, json.dumps(answer).encode(), extra=extra)
            return
        except Exception as e:  # a bug here must show, not pass as a rejection
            record.update(ok=False, status=500, why=f"proxy error: {type(e).__name__}: {e}")
            log(record)
            self.reply(500, json.dumps({"error": {"type": "proxy_error", "reason": record["why"]}}).encode())
            return

        status, payload, content_type = self.forward(body)
        record.update(ok=True, status=status)
        log(record)
        self.reply(status, payload, content_type or "application/json")

    def forward(self, body):
        return forward(
            self.server.config.upstream,
            self.command,
            self.path,
            body,
            self.headers.get("Content-Type"),
            self.headers.get("Content-Encoding"),
        )

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = handle_any


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mode", required=True, choices=["sigv4", "basic", "apikey"])
    parser.add_argument("--upstream", required=True, help="the cluster to forward to (loopback)")
    parser.add_argument("--port", type=int, default=0, help="0: a free port")
    parser.add_argument("--tls-dir", help="serve HTTPS; write the test CA to DIR/ca.pem")
    parser.add_argument("--service", choices=["es", "aoss"], default="es")
    parser.add_argument("--region", default="eu-west-1")
    parser.add_argument("--access-key")
    parser.add_argument("--secret-key")
    parser.add_argument("--user")
    parser.add_argument("--password")
    parser.add_argument("--api-key")
    config = parser.parse_args()

    needed = {"sigv4": ["access_key", "secret_key"], "basic": ["user", "password"], "apikey": ["api_key"]}
    missing = [n for n in needed[config.mode] if getattr(config, n) is None]
    if missing:
        parser.error(f"--mode {config.mode} needs " + ", ".join("--" + n.replace("_", "-") for n in missing))
    config.upstream = urlsplit(config.upstream)
    if config.upstream.scheme not in ("http", "https") or config.upstream.hostname not in LOOPBACK_HOSTS:
        parser.error("--upstream must be an http(s) URL on the loopback interface")

    tls_context = make_tls_context(config.tls_dir) if config.tls_dir else None
    server = Server(config, tls_context)
    port = server.server_address[1]
    sys.stdout.write(json.dumps({"url": f"{server.scheme}://127.0.0.1:{port}"}) + "\n")
    sys.stdout.flush()
    log({"event": "listening", "mode": config.mode, "port": port, "tls": bool(tls_context)})
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
