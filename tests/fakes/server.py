"""A real HTTP server on 127.0.0.1 for faking a remote service: routing, scripts, request log.

Subclasses implement :meth:`FakeServer.route`. Tests then steer the fake with
:meth:`FakeServer.script` ("the next N requests to this path get these replies") and read
:attr:`FakeServer.requests` to assert what a client sent, and when.
"""

from __future__ import annotations

import json
import sys
import threading
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class Reply:
    """One HTTP answer: status, body bytes, headers, and an optional delay before answering."""

    status: int = 200
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    delay_s: float = 0.0

    @classmethod
    def json(cls, obj: Any, status: int = 200, **kwargs: Any) -> Reply:
        """A JSON body with ``Content-Type: application/json``."""
        headers = {"Content-Type": "application/json; charset=utf-8", **kwargs.pop("headers", {})}
        return cls(status, json.dumps(obj, ensure_ascii=False).encode(), headers, **kwargs)

    @classmethod
    def text(
        cls, text: str, status: int = 200, content_type: str = "text/plain", **kwargs: Any
    ) -> Reply:
        """A text body (HTML, XML, a truncated JSON document...) with the given content type."""
        headers = {"Content-Type": f"{content_type}; charset=utf-8", **kwargs.pop("headers", {})}
        return cls(status, text.encode(), headers, **kwargs)

    @classmethod
    def redirect(cls, location: str | None, status: int = 307) -> Reply:
        """A redirect; ``location=None`` leaves the Location header out (a malformed redirect)."""
        return cls(status, b"", {"Location": location} if location is not None else {})

    @classmethod
    def busy(cls, status: int = 503, retry_after: float | None = None) -> Reply:
        """A rate-limit/overload answer, with ``Retry-After`` when given."""
        headers = {"Retry-After": f"{retry_after:g}"} if retry_after is not None else {}
        return cls.text(
            "<html><body>Service busy</body></html>", status, "text/html", headers=headers
        )

    def with_delay(self, delay_s: float) -> Reply:
        """The same reply, sent after ``delay_s`` seconds (a slow server, past client timeouts)."""
        return Reply(self.status, self.body, self.headers, delay_s)


@dataclass(frozen=True)
class LoggedRequest:
    """What a client sent: method, path, decoded query, headers, and when (time.monotonic())."""

    method: str
    path: str
    raw_query: str
    query: Mapping[str, list[str]]
    headers: Mapping[str, str]
    time: float

    @property
    def user_agent(self) -> str:
        return self.headers.get("user-agent", "")

    def param(self, name: str) -> str | None:
        """The first value of query parameter ``name`` ('+' and %20 decoded to spaces)."""
        values = self.query.get(name)
        return values[0] if values else None


Matcher = str | Callable[[LoggedRequest], bool]


@dataclass(frozen=True)
class Delay:
    """A scripted step that answers as the route would, but only after ``seconds``."""

    seconds: float


@dataclass
class _Script:
    matches: Callable[[LoggedRequest], bool]
    replies: list[Reply | Delay]


class FakeServer:
    """Base of every fake: starts on an ephemeral port, logs requests, plays scripted replies.

    Use as a context manager or call :meth:`start` / :meth:`stop`. :attr:`url` is the base URL
    to give the client under test. HEAD requests are routed like GET and answered without body.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._log: list[LoggedRequest] = []
        self._scripts: list[_Script] = []
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.errors: list[str] = []  # tracebacks of exceptions raised by route()

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> Self:
        """Bind 127.0.0.1 on a free port and serve in a daemon thread."""
        server = _Server(("127.0.0.1", 0), _make_handler(self))
        self._server = server
        # A short poll interval keeps stop() (one per test) from costing half a second.
        self._thread = threading.Thread(
            target=server.serve_forever, args=(0.005,), name=type(self).__name__, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; delayed replies still waiting are woken and dropped."""
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:54321`` (no trailing slash)."""
        if self._server is None:
            raise RuntimeError("the fake server is not running")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # -- request log -----------------------------------------------------------------------
    @property
    def requests(self) -> list[LoggedRequest]:
        """Every request received so far, oldest first (a copy)."""
        with self._lock:
            return list(self._log)

    def requests_to(self, path_prefix: str, method: str | None = None) -> list[LoggedRequest]:
        """Requests whose path starts with ``path_prefix`` (and of ``method``, when given)."""
        return [
            r
            for r in self.requests
            if r.path.startswith(path_prefix) and (method is None or r.method == method)
        ]

    def clear_log(self) -> None:
        with self._lock:
            self._log.clear()

    # -- scripted replies ------------------------------------------------------------------
    def script(self, match: Matcher, *replies: Reply | Delay) -> None:
        """Answer the next requests that ``match`` with ``replies``, in order, then route normally.

        A :class:`Delay` step answers with the normal route, late (a slow server).
        ``match`` is a path prefix (``"/ws/2/artist/"``) or a predicate on :class:`LoggedRequest`.
        Scripts are checked in the order they were added.
        """
        predicate = match if callable(match) else (lambda r, p=match: r.path.startswith(p))
        with self._lock:
            self._scripts.append(_Script(predicate, list(replies)))

    def fail_next(
        self, match: Matcher, count: int = 1, status: int = 503, retry_after: float | None = None
    ) -> None:
        """The next ``count`` matching requests get ``status`` (503, 429...), with Retry-After."""
        self.script(match, *[Reply.busy(status, retry_after)] * count)

    def slow_next(self, match: Matcher, delay_s: float, count: int = 1) -> None:
        """The next ``count`` matching requests get their normal answer, ``delay_s`` late."""
        self.script(match, *[Delay(delay_s)] * count)

    def check_healthy(self) -> None:
        """Fail loudly if route() ever raised: a broken fake must not pass for a broken client."""
        if self.errors:
            raise AssertionError(f"{type(self).__name__} raised while routing:\n{self.errors[0]}")

    def route(self, request: LoggedRequest) -> Reply:
        """The fake's normal answer to ``request``; subclasses implement the service here."""
        raise NotImplementedError

    # -- internals -------------------------------------------------------------------------
    def _reply_for(self, request: LoggedRequest) -> Reply:
        with self._lock:
            self._log.append(request)
            scripted = None
            for script in self._scripts:
                if script.replies and script.matches(request):
                    scripted = script.replies.pop(0)
                    break
        if isinstance(scripted, Reply):
            return scripted
        try:
            reply = self.route(request)
        except Exception:  # a bug in the fake: answer 500 and keep it for check_healthy()
            with self._lock:
                self.errors.append(traceback.format_exc())
            return Reply.text("fake server error", 500)
        if isinstance(scripted, Delay):
            return reply.with_delay(scripted.seconds)
        return reply

    def _wait(self, seconds: float) -> None:
        self._stopping.wait(seconds)


def _make_handler(fake: FakeServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, so the client's pooled connections are reused
        timeout = 30
        # Headers and body in one buffered write, sent at once: otherwise Nagle's algorithm and
        # delayed ACKs add ~40 ms to every keep-alive request and slow every test.
        wbufsize = 1 << 16
        disable_nagle_algorithm = True

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)  # keep the connection's byte stream in step
            parts = urlsplit(self.path)
            request = LoggedRequest(
                method=self.command,
                path=parts.path,
                raw_query=parts.query,
                query=parse_qs(parts.query, keep_blank_values=True),
                headers={k.lower(): v for k, v in self.headers.items()},
                time=time.monotonic(),
            )
            reply = fake._reply_for(request)
            if reply.delay_s:
                fake._wait(reply.delay_s)
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(reply.body)

        do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = _serve

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the request log replaces stderr noise

    return Handler


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # slow replies must not hold up stop()

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that time out close the socket mid-reply: expected here, not worth a traceback.
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)
