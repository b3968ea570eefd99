"""A fake's life on loopback: a free port on 127.0.0.1, served from a daemon thread."""

from __future__ import annotations

import threading
from http.server import ThreadingHTTPServer
from typing import Any, Self

from tests.fakes.toolkit.handler import FakeHandler
from tests.fakes.toolkit.reply import Reply


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients that time out and hang up are expected; keep test output clean


class LoopbackServer:
    """Base of the fakes: ``start``/``stop`` or ``with``; subclasses answer in ``_serve``."""

    base_url = ""
    http_version = "HTTP/1.1"  # keep-alive, like requests.Session expects
    content_type = "application/json; charset=utf-8"  # of every reply with a body, unless it says
    thread_name = "fake-api"

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> Self:
        if self._httpd is not None:
            return self
        bound = {"fake": self, "protocol_version": self.http_version}
        self._httpd = _QuietServer(("127.0.0.1", 0), type("_Bound", (FakeHandler,), bound))
        self._listening(f"http://127.0.0.1:{self._httpd.server_address[1]}")
        # A short poll interval keeps stop(), and so every test teardown, fast.
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.01},
            name=self.thread_name,
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _listening(self, origin: str) -> None:
        """Called once the port is known; a fake standing in for several hosts sets more URLs."""
        self.base_url = origin

    def _serve(self, method: str, target: str, headers: Any, body: bytes) -> Reply:
        """The reply to one request (called from handler threads)."""
        raise NotImplementedError

    def _bug_reply(self, error: Exception) -> Reply:
        return Reply(500, {"error": f"fake {type(self).__name__} bug: {error!r}"})
