"""Request plumbing shared by the test servers: reading a body, forwarding upstream."""

import http.client
import json


def read_body(handler):
    """The body of the request `handler` (a BaseHTTPRequestHandler) is serving."""
    if "chunked" in (handler.headers.get("Transfer-Encoding") or "").lower():
        chunks = []
        while True:
            size = int(handler.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while handler.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(chunks)
            chunks.append(handler.rfile.read(size))
            handler.rfile.readline()
    length = int(handler.headers.get("Content-Length") or 0)
    return handler.rfile.read(length) if length else b""


def forward(upstream, method, path, body, content_type, content_encoding):
    """Sends one request to `upstream` (a urlsplit result); returns (status,
    body, content type), a 502 with the reason when the upstream is unreachable."""
    connection_class = http.client.HTTPSConnection if upstream.scheme == "https" else http.client.HTTPConnection
    connection = connection_class(upstream.hostname, upstream.port, timeout=120)
    headers = {"Content-Length": str(len(body))}
    if content_type is not None:
        headers["Content-Type"] = content_type
    if content_encoding:
        headers["Content-Encoding"] = content_encoding
    try:
        connection.request(method, upstream.path.rstrip("/") + path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read(), response.getheader("Content-Type")
    except OSError as e:
        why = f"upstream {type(e).__name__}: {e}"
        return 502, json.dumps({"error": {"type": "proxy_error", "reason": why}}).encode(), None
    finally:
        connection.close()
