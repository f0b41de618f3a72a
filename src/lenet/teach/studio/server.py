"""The studio's HTTP server: the page and its assets, the bundle and the MNIST files the page
reads, and the two calls only a server can answer (docs/studio.md): a drawing's preprocessing
and writing a checkpoint. The page computes everything else in WebAssembly.

It is the standard library's ``ThreadingHTTPServer``: one learner's page makes a few requests,
so a thread per request is plenty, and it adds no dependency. It binds to 127.0.0.1 unless
told otherwise, serves only the files it ships (the
client never names a path on disk), reads at most ``MAX_BODY`` bytes of a request, waits at
most ``TIMEOUT`` seconds for a slow client, and answers what it cannot use with a 4xx and a
JSON ``{"error": message}``, then goes on serving.
"""

from __future__ import annotations

import collections
import functools
import ipaddress
import json
import threading
import webbrowser
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .app import DATA_FILES, RequestError, Studio

__all__ = ["MAX_BODY", "TIMEOUT", "StudioServer", "is_loopback"]

#: the largest request body read (a 512x512 drawing as JSON is about 1.5 MB)
MAX_BODY = 4 * 2**20
#: seconds a connection may stay silent before the server drops it
TIMEOUT = 20.0
#: requests remembered (``StudioServer.requests``)
REQUESTS_KEPT = 1000

#: the files the page is made of: URL path -> (file in lenet/teach/studio/assets, content type)
ASSETS = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/i18n.js": ("i18n.js", "text/javascript; charset=utf-8"),
    "/studio.js": ("studio.js", "text/javascript; charset=utf-8"),
    "/controls.js": ("controls.js", "text/javascript; charset=utf-8"),
    "/engine.js": ("engine.js", "text/javascript; charset=utf-8"),
    "/lenet-core.js": ("lenet-core.js", "text/javascript; charset=utf-8"),
    "/trainer.js": ("trainer.js", "text/javascript; charset=utf-8"),  # the training worker's
    "/lenet-core.wasm": ("lenet-core.wasm", "application/wasm"),
    "/studio.css": ("studio.css", "text/css; charset=utf-8"),
}

#: the JSON API: (method, path) -> the Studio method that answers it
ROUTES = {
    ("GET", "/bundle.json"): "bundle",
    ("POST", "/api/prepare"): "prepare",
    ("POST", "/api/checkpoint"): "checkpoint",
}


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@functools.cache  # a few small files, read once
def _asset(name: str) -> bytes:
    return resources.files("lenet.teach.studio").joinpath("assets").joinpath(name).read_bytes()


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    timeout = TIMEOUT
    protocol_version = "HTTP/1.1"
    server_version = "lenet-studio"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's name
        pass  # the terminal shows the address and errors, not every request

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, answer: Any) -> None:
        self._send(status, json.dumps(answer).encode(), "application/json")

    def _error(self, status: int, message: str) -> None:
        self.close_connection = True  # what follows a refused request is not trusted either
        self._json(status, {"error": message})

    def _body(self) -> dict[str, Any]:
        length = self.headers.get("Content-Length")
        if length is None:
            raise RequestError(411, "a POST request needs a Content-Length")
        try:
            size = int(length)
        except ValueError:
            raise RequestError(400, f"Content-Length must be a number, got {length!r}") from None
        if size < 0:
            raise RequestError(400, f"Content-Length must not be negative, got {size}")
        if size > MAX_BODY:
            self.close_connection = True  # the body is not read: the connection cannot go on
            raise RequestError(
                413, f"the request body is {size:,} bytes; at most {MAX_BODY:,} are read"
            )
        raw = self.rfile.read(size)
        if len(raw) < size:
            self.close_connection = True
            raise RequestError(400, f"the request body ended after {len(raw)} of {size} bytes")
        try:
            body = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as bad:
            raise RequestError(400, f"the request body is not JSON: {bad}") from None
        if not isinstance(body, dict):
            raise RequestError(
                400, f"the request body must be a JSON object, got {type(body).__name__}"
            )
        return body

    def _handle(self, method: str) -> None:
        url = urlsplit(self.path)
        self.server.requests.append((method, url.path))
        try:
            if method in ("GET", "HEAD") and url.path in ASSETS:
                name, content_type = ASSETS[url.path]
                self._send(200, _asset(name), content_type)
                return
            if method in ("GET", "HEAD") and url.path.lstrip("/") in DATA_FILES:
                data = self.server.studio.data_file(url.path.lstrip("/"))
                self._send(200, data, "application/gzip")
                return
            route = ROUTES.get((method if method != "HEAD" else "GET", url.path))
            if route is None:
                known = {p for _, p in ROUTES} | set(ASSETS) | {"/" + n for n in DATA_FILES}
                if url.path in known:
                    raise RequestError(405, f"{method} is not answered at {url.path}")
                raise RequestError(404, f"no such page or API call: {url.path}")
            if method == "POST":
                body = self._body()
            else:
                body = {k: v[-1] for k, v in parse_qs(url.query).items()}
            answer = getattr(self.server.studio, route)(body)
            self._json(200, answer)
        except RequestError as refused:
            self._error(refused.status, str(refused))
        except Exception as failed:  # a bug: say so, and keep serving
            self._error(
                500, f"the studio failed on this request: {type(failed).__name__}: {failed}"
            )

    def do_GET(self) -> None:  # noqa: N802 - the base class's name
        self._handle("GET")

    def do_HEAD(self) -> None:  # noqa: N802
        self._handle("HEAD")

    def do_POST(self) -> None:  # noqa: N802
        self._handle("POST")

    def do_PUT(self) -> None:  # noqa: N802
        self._handle("PUT")

    def do_DELETE(self) -> None:  # noqa: N802
        self._handle("DELETE")

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """The base class's own refusals (a malformed request line, headers too long) as JSON."""
        self.close_connection = True
        if getattr(self, "request_version", "HTTP/0.9") == "HTTP/0.9":
            self.request_version = "HTTP/1.0"  # a status line even for a line that is not HTTP
        try:
            self._error(code, message or HTTPStatus(code).phrase)
        except OSError:
            pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    studio: Studio
    #: the latest requests, (method, path): what the page asked of the server
    requests: collections.deque[tuple[str, str]]


class StudioServer:
    """A running studio: ``url``, ``serve_forever()`` (blocks until ``close()`` or Ctrl-C),
    or ``start()`` to serve from a background thread; ``close()`` stops it and frees the
    port."""

    def __init__(self, studio: Studio, host: str = "127.0.0.1", port: int = 0) -> None:
        if not isinstance(port, int) or isinstance(port, bool) or not 0 <= port <= 65535:
            raise ValueError(f"port must be 0 (any free port) to 65535, got {port!r}")
        self.studio = studio
        self._httpd = _Server((host, port), _Handler)
        self._httpd.studio = studio
        self._httpd.requests = collections.deque(maxlen=REQUESTS_KEPT)
        self.host, self.port = host, self._httpd.server_address[1]
        self._thread: threading.Thread | None = None
        self._closed = False

    @property
    def requests(self) -> list[tuple[str, str]]:
        """The latest requests served, (method, path), oldest first."""
        return list(self._httpd.requests)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    def serve_forever(self) -> None:
        try:
            self._httpd.serve_forever(poll_interval=0.2)
        finally:
            self.close()

    def start(self) -> StudioServer:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True
        )
        self._thread.start()
        return self

    def open_browser(self) -> bool:
        return webbrowser.open(self.url)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=10)
        self._httpd.server_close()
        self.studio.close()

    def __enter__(self) -> StudioServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
