"""The HTTP side of a fake: every method goes to the fake's ``_serve``; its Reply goes back."""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any

from tests.fakes.toolkit.reply import DROP

if TYPE_CHECKING:
    from tests.fakes.toolkit.server import LoopbackServer


class FakeHandler(BaseHTTPRequestHandler):
    fake: LoopbackServer  # set on the subclass LoopbackServer.start binds
    timeout = 30  # idle keep-alive connections eventually release their thread
    # Headers and body go out in separate writes; with Nagle on, delayed ACKs add ~40 ms each.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._respond("GET")

    def do_POST(self) -> None:
        self._respond("POST")

    def do_PUT(self) -> None:
        self._respond("PUT")

    def do_PATCH(self) -> None:
        self._respond("PATCH")

    def do_DELETE(self) -> None:
        self._respond("DELETE")

    def _respond(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            reply = self.fake._serve(method, self.path, self.headers, raw)
        except Exception as err:  # surface fake bugs as a visible 500
            reply = self.fake._bug_reply(err)
        if reply.status == DROP:
            self.close_connection = True
            return
        data = reply.data()
        headers = {"Content-Type": self.fake.content_type} if data else {}
        headers.update(reply.headers)
        try:
            self.send_response(reply.status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
