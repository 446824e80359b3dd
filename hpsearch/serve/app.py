"""The HTTP side of ``hpsearch serve``: the standard library's threading server, three routes.

``GET /?study=NAME``: the page of ``report --html`` for the study (built by the same
:func:`~hpsearch.report.html.build_html`, with its live settings), or the first study served.
``GET /api/changes?study=NAME&since=CURSOR``: JSON, what changed since the cursor (see
:class:`~hpsearch.serve.watch.StudyWatch`). ``GET /api/studies``: JSON, the studies served.
Nothing else: no route takes a file path, SQL or anything but a study name, and a study name
is looked up among the database's studies, never put into a query as text.

Security: without a token (a server on loopback) only requests whose ``Host`` names this
machine are answered (a page elsewhere cannot reach it by pointing a name at 127.0.0.1); a token (when set) is checked on every request in constant time
(:func:`hmac.compare_digest`), from the ``Authorization: Bearer`` header, the ``token`` query
parameter (which also sets an ``HttpOnly; SameSite=Strict`` cookie, so the link printed at start
opens the page) or that cookie. Every answer carries ``X-Frame-Options: DENY``, a
Content-Security-Policy with ``frame-ancestors 'none'`` (and scripts only inline, connections
only to this server), ``X-Content-Type-Options: nosniff``, ``Referrer-Policy: no-referrer`` and
``Cache-Control: no-store``.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import threading
import time
from http import HTTPStatus
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from hpsearch.errors import HpsearchError, StudyError

try:
    from importlib.metadata import version as _version

    _PLOTLY_VERSION = _version("plotly")
except Exception:  # not installed as a distribution: the page says so when it is built
    _PLOTLY_VERSION = "0"
from hpsearch.serve.watch import StudyWatch

__all__ = ["ServeApp", "make_server", "is_loopback", "HEADERS", "COOKIE", "PLOTLY_PATH"]

COOKIE = "hpsearch_token"
#: Where the page loads plotly.js from: one copy the browser keeps (its address names plotly's
#: version), instead of 4.6 MB inlined into every page.
PLOTLY_PATH = f"plotly-{_PLOTLY_VERSION}.min.js"
#: Sent with every answer.
HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    # plotly.js needs eval for some traces; nothing is loaded from another origin.
    "Content-Security-Policy": ("default-src 'none'; script-src 'self' 'unsafe-inline' 'unsafe-eval'; "
                                "style-src 'unsafe-inline'; img-src data: blob:; font-src data:; "
                                "connect-src 'self'; base-uri 'none'; form-action 'none'; "
                                "frame-ancestors 'none'"),
}


class ServeApp:
    """What the server answers, without the HTTP: tests call it directly.

    ``storage``: a read-only :class:`~hpsearch.storage.Storage`. ``studies``: the names served
    (empty: every study of the database, read again as studies appear). ``token``: None (no
    check) or the secret every request must carry. ``every``: how often a page asks, in ms.
    ``page_ttl``: a built page is served again for this many seconds (the page catches up from
    its cursor, so a cached page loses nothing)."""

    def __init__(self, storage: Any, studies: list[str] | None = None, *, token: str | None = None,
                 stale_after: float = 120.0, every: int = 1000, page_ttl: float = 10.0,
                 max_points: int | None = None) -> None:
        from hpsearch.report.html import DEFAULT_MAX_POINTS

        self.storage = storage
        self.fixed = list(studies or [])
        for name in self.fixed:
            storage.get_study(name)  # an unknown study: StudyError now, not on the first request
        self.token = token
        self.stale_after = stale_after
        self.every = every
        self.page_ttl = page_ttl
        self.max_points = max_points or DEFAULT_MAX_POINTS
        self._watches: dict[str, StudyWatch] = {}
        self._pages: dict[str, tuple[float, bytes]] = {}
        self._lock = threading.Lock()
        self._build_locks: dict[str, threading.Lock] = {}
        self._plotly: bytes | None = None

    def plotly(self) -> bytes:
        """plotly.js, as the package ships it."""
        if self._plotly is None:
            from plotly.offline import get_plotlyjs

            self._plotly = get_plotlyjs().encode("utf-8")
        return self._plotly

    def studies(self) -> list[str]:
        return self.fixed or list(self.storage.study_names())

    def watch(self, name: str) -> StudyWatch:
        if name not in self.studies():
            raise StudyError(f"no study {name!r} is served here")
        with self._lock:
            w = self._watches.get(name)
            if w is None:
                w = self._watches[name] = StudyWatch(self.storage, name, stale_after=self.stale_after)
                self._build_locks[name] = threading.Lock()
            return w

    def page(self, name: str | None) -> bytes:
        """The study's page (the first study's without a name). A page built less than
        ``page_ttl`` seconds ago is sent as it is; an older one too, while a new one is built
        in the background (the page catches up from its cursor either way): only the first
        request for a study waits for the build."""
        names = self.studies()
        if name is None:
            if not names:
                raise StudyError("the database holds no study yet")
            name = names[0]
        self.watch(name)
        cached = self._pages.get(name)
        if cached is None:
            return self._build(name)
        if time.monotonic() - cached[0] >= self.page_ttl and self._build_locks[name].acquire(blocking=False):
            self._build_locks[name].release()
            threading.Thread(target=self._build, args=(name,), daemon=True).start()
        return cached[1]

    def warm(self) -> None:
        """Build the first page of each study served by name (or of the first study), so
        that the first visitor does not wait for it."""
        for name in self.fixed or self.studies()[:1]:
            self._build(name)

    def _build(self, name: str) -> bytes:
        w = self.watch(name)
        with self._build_locks[name]:
            from hpsearch.report.html import build_html, load_study_data

            cursor = w.cursor()  # before reading: the page catches up on whatever follows
            data = load_study_data(self.storage, name, max_points=self.max_points)
            ranked = data.ranked()
            live = {"api": "api/changes", "study": name, "cursor": cursor, "every": self.every,
                    "maximize": data.study.maximize, "studies": self.studies(),
                    "best": ranked[0].value if ranked else None, "palette": _palette()}
            body = build_html([data], max_points=self.max_points, live=live,
                              title=f"hpsearch: {name}", plotly_src=PLOTLY_PATH).encode("utf-8")
            self._pages[name] = (time.monotonic(), body)
            return body

    def changes(self, name: str, since: str) -> dict[str, Any]:
        return self.watch(name).changes(since, studies=self.studies())

    def allowed(self, headers: Any, query: dict[str, list[str]]) -> bool:
        """Whether the request carries the token (always, when there is none)."""
        if self.token is None:
            return True
        offered = []
        auth = headers.get("Authorization") or ""
        if auth.startswith("Bearer "):
            offered.append(auth[len("Bearer "):].strip())
        offered += query.get("token", [])
        cookie = SimpleCookie()
        try:
            cookie.load(headers.get("Cookie") or "")
        except Exception:  # a malformed cookie header is no token
            pass
        if COOKIE in cookie:
            offered.append(cookie[COOKIE].value)
        expected = self.token.encode("utf-8")
        ok = False
        for value in offered:  # every offer compared in full: no early exit on a match
            ok |= hmac.compare_digest(value.encode("utf-8", "replace"), expected)
        return ok


def is_loopback(host: str) -> bool:
    """Whether ``host`` is reachable only from this machine (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _loopback_host(header: str | None) -> bool:
    """Whether a Host header names this machine (``localhost:8080``, ``[::1]:8080``...)."""
    if not header:
        return False
    host = urlsplit("//" + header.strip()).hostname or ""
    return is_loopback(host)


def _palette() -> list[str]:
    from hpsearch.report.html_figures import PALETTE

    return list(PALETTE)



class _Handler(BaseHTTPRequestHandler):
    app: ServeApp
    server_version = "hpsearch"
    sys_version = ""
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's name
        pass  # no access log on the terminal

    def _send(self, status: int, body: bytes, ctype: str, extra: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in {**HEADERS, **(extra or {})}.items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _text(self, status: int, text: str) -> None:
        self._send(status, (text + "\n").encode("utf-8"), "text/plain; charset=utf-8")

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        parts = urlsplit(self.path)
        query = parse_qs(parts.query, max_num_fields=8)
        app = self.app
        if app.token is None and not _loopback_host(self.headers.get("Host")):
            # Without a token the server listens on loopback only; a page of another site that
            # points its own name at 127.0.0.1 (DNS rebinding) sends its name as Host.
            self._text(HTTPStatus.FORBIDDEN, "403: without a token only localhost is served")
            return
        if not app.allowed(self.headers, query):
            self._text(HTTPStatus.UNAUTHORIZED, "401: this server needs its token (?token=...)")
            return
        extra = {}
        if app.token is not None and query.get("token"):
            extra["Set-Cookie"] = f"{COOKIE}={app.token}; HttpOnly; SameSite=Strict; Path=/"
        study: str | None = query["study"][0] if query.get("study") else None
        try:
            if parts.path == "/":
                self._send(HTTPStatus.OK, app.page(study), "text/html; charset=utf-8", extra)
            elif parts.path == "/api/changes":
                if study is None:
                    self._text(HTTPStatus.BAD_REQUEST, "400: ?study= is missing")
                    return
                from hpsearch.report.html import finite_json

                since = (query.get("since") or ["0.0"])[0]
                body = json.dumps(finite_json(app.changes(study, since)), separators=(",", ":"),
                                  allow_nan=False).encode("utf-8")
                self._send(HTTPStatus.OK, body, "application/json", extra)
            elif parts.path == "/" + PLOTLY_PATH:
                self._send(HTTPStatus.OK, app.plotly(), "text/javascript; charset=utf-8",
                           {**extra, "Cache-Control": "private, max-age=604800, immutable"})
            elif parts.path == "/api/studies":
                body = json.dumps(app.studies()).encode("utf-8")
                self._send(HTTPStatus.OK, body, "application/json", extra)
            else:
                self._text(HTTPStatus.NOT_FOUND, "404: not here")
        except StudyError as exc:
            self._text(HTTPStatus.NOT_FOUND, f"404: {exc}")
        except HpsearchError as exc:
            self._text(HTTPStatus.SERVICE_UNAVAILABLE, f"503: {exc}")

    do_HEAD = do_GET

    def _refuse(self) -> None:
        self._text(HTTPStatus.METHOD_NOT_ALLOWED, "405: this server only reads")

    do_POST = do_PUT = do_DELETE = do_PATCH = _refuse


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # Ctrl-C does not wait for open connections
    allow_reuse_address = True


def make_server(app: ServeApp, host: str = "127.0.0.1", port: int = 8080) -> ThreadingHTTPServer:
    """A server bound to ``host:port`` (port 0: any free one; ``server.server_address`` says
    which), answering with ``app``; ``serve_forever()`` runs it."""
    handler = type("Handler", (_Handler,), {"app": app})
    if ":" in host:
        import socket

        server_cls = type("Server6", (_Server,), {"address_family": socket.AF_INET6})
        return server_cls((host, port), handler)
    return _Server((host, port), handler)
