"""A minimal OpenID Connect provider on loopback, for testing st.login end to end.

Discovery, an authorization endpoint that signs the configured user straight in (redirecting
back with a code, as a provider does after the user consents), a token endpoint returning an
RS256 id_token with the nonce, a JWKS endpoint and userinfo. Written from OpenID Connect Core
1.0 (authorization code flow); like the mock server in Streamlit's own test suite.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from joserfc import jwt
from joserfc.jwk import RSAKey

CLIENT_ID = "ichigen-test-client"
CLIENT_SECRET = "ichigen-test-secret"


@dataclass
class FakeOidc:
    email: str = "tencho@example.jp"
    name: str = "店長 一元"
    base_url: str = ""
    key: RSAKey = field(default_factory=lambda: RSAKey.generate_key(2048, parameters={"kid": "test-key"}))
    codes: dict[str, dict[str, str]] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    @property
    def metadata_url(self) -> str:
        return f"{self.base_url}/.well-known/openid-configuration"

    def __enter__(self) -> FakeOidc:
        handler = type("_Bound", (_Handler,), {"provider": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.base_url,
            "authorization_endpoint": f"{self.base_url}/authorize",
            "token_endpoint": f"{self.base_url}/token",
            "jwks_uri": f"{self.base_url}/jwks",
            "userinfo_endpoint": f"{self.base_url}/userinfo",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        }

    def claims(self, nonce: str) -> dict[str, Any]:
        now = int(time.time())
        return {
            "iss": self.base_url,
            "sub": "user-1",
            "aud": CLIENT_ID,
            "iat": now,
            "exp": now + 600,
            "nonce": nonce,
            "email": self.email,
            "email_verified": True,
            "name": self.name,
        }


class _Handler(BaseHTTPRequestHandler):
    provider: FakeOidc

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return

    def _json(self, payload: Any, status: int = 200) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        self.provider.requests.append(url.path)
        if url.path == "/.well-known/openid-configuration":
            return self._json(self.provider.discovery())
        if url.path == "/jwks":
            return self._json({"keys": [self.provider.key.as_dict(private=False)]})
        if url.path == "/authorize":
            if query.get("client_id") != CLIENT_ID or query.get("response_type") != "code":
                return self._json({"error": "invalid_request"}, 400)
            code = secrets.token_urlsafe(16)
            self.provider.codes[code] = {
                "nonce": query.get("nonce", ""),
                "redirect_uri": query["redirect_uri"],
            }
            self.send_response(302)
            self.send_header(
                "Location", f"{query['redirect_uri']}?{urlencode({'code': code, 'state': query['state']})}"
            )
            self.end_headers()
            return None
        if url.path == "/userinfo":
            return self._json({"sub": "user-1", "email": self.provider.email, "name": self.provider.name})
        return self._json({"error": "not_found"}, 404)

    def do_POST(self) -> None:
        url = urlsplit(self.path)
        self.provider.requests.append(url.path)
        length = int(self.headers.get("Content-Length", 0))
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        if url.path != "/token":
            return self._json({"error": "not_found"}, 404)
        grant = self.provider.codes.pop(form.get("code", ""), None)
        if form.get("grant_type") != "authorization_code" or grant is None:
            return self._json({"error": "invalid_grant"}, 400)
        if form.get("redirect_uri") != grant["redirect_uri"]:
            return self._json({"error": "invalid_grant", "error_description": "redirect_uri mismatch"}, 400)
        id_token = jwt.encode(
            {"alg": "RS256", "kid": "test-key"}, self.provider.claims(grant["nonce"]), self.provider.key
        )
        return self._json(
            {
                "access_token": secrets.token_urlsafe(16),
                "token_type": "Bearer",
                "expires_in": 600,
                "id_token": id_token,
            }
        )
