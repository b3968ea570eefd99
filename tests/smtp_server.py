"""A real SMTP server on loopback (aiosmtpd) for mail tests: it records each message and
envelope, and can refuse a recipient (550) or cut the connection after taking the mail."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from aiosmtpd.controller import Controller


class Handler:
    def __init__(self) -> None:
        self.messages: list[bytes] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.sessions: set[int] = set()
        self.greetings = 0
        self.refuse: set[str] = set()
        self.drop: set[str] = set()  # take the mail, then cut the connection before answering

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        self.greetings += 1
        session.host_name = hostname
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.sessions.add(id(session))
        self.messages.append(envelope.original_content or envelope.content)
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        if self.drop & set(envelope.rcpt_tos):
            server.transport.abort()
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp() -> Iterator[tuple[Handler, int]]:
    handler = Handler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    handler.greetings = 0
    try:
        yield handler, port
    finally:
        controller.stop()


class AuthenticatingServer:
    """An SMTP server that, like 楽天あんしんメルアド's, takes mail only after SMTP AUTH with the
    given ID and password (LOGIN/PLAIN; no TLS on loopback)."""

    def __init__(self, username: str, password: str) -> None:
        from aiosmtpd.smtp import AuthResult

        self.handler = Handler()
        self.port = free_port()
        self.logins: list[str] = []

        def authenticate(server, session, envelope, mechanism, auth_data):  # type: ignore[no-untyped-def]
            login = auth_data.login.decode() if isinstance(auth_data.login, bytes) else auth_data.login
            secret = auth_data.password
            secret = secret.decode() if isinstance(secret, bytes) else secret
            ok = (login, secret) == (username, password)
            if ok:
                self.logins.append(login)
            return AuthResult(success=ok)

        self.controller = Controller(
            self.handler,
            hostname="127.0.0.1",
            port=self.port,
            authenticator=authenticate,
            auth_required=True,
            auth_require_tls=False,
        )

    def __enter__(self) -> AuthenticatingServer:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()
