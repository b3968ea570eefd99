"""A minimal OpenID Connect provider on loopback, for testing st.login end to end.

Discovery, an authorization endpoint that signs the configured user straight in (redirecting
back with a code, as a provider does after the user consents), a token endpoint returning an
RS256 id_token with the nonce, a JWKS endpoint and userinfo. Written from OpenID Connect Core
1.0 (authorization code flow); like the mock server in Streamlit's own test suite.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from joserfc import jwt
from joserfc.jwk import RSAKey

from tests.fakes.toolkit.reply import Reply
from tests.fakes.toolkit.routes import Routes
from tests.fakes.toolkit.server import LoopbackServer

CLIENT_ID = "ichigen-test-client"
CLIENT_SECRET = "ichigen-test-secret"


@dataclass
class FakeOidc(LoopbackServer):
    email: str = "tencho@example.jp"
    name: str = "店長 一元"
    base_url: str = ""
    key: RSAKey = field(default_factory=lambda: RSAKey.generate_key(2048, parameters={"kid": "test-key"}))
    codes: dict[str, dict[str, str]] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)

    http_version = "HTTP/1.0"
    content_type = "application/json"

    def __post_init__(self) -> None:
        super().__init__()
        self._routes = Routes(
            {
                ("GET", "/.well-known/openid-configuration"): self._discovery,
                ("GET", "/jwks"): self._jwks,
                ("GET", "/authorize"): self._authorize,
                ("GET", "/userinfo"): self._userinfo,
                ("POST", "/token"): self._token,
            }
        )

    @property
    def metadata_url(self) -> str:
        return f"{self.base_url}/.well-known/openid-configuration"

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

    # -- serving

    @staticmethod
    def _json(payload: Any, status: int = 200) -> Reply:
        return Reply(status, payload)

    def _serve(self, method: str, target: str, headers: Any, body: bytes) -> Reply:
        url = urlsplit(target)
        self.requests.append(url.path)
        # A GET's parameters are in the query, a POST's in its form body.
        form = body.decode() if method == "POST" else url.query
        route = self._routes.match(method, url.path)
        if route is None:
            return self._json({"error": "not_found"}, 404)
        return route[0]({k: v[0] for k, v in parse_qs(form).items()})

    def _discovery(self, query: dict[str, str]) -> Reply:
        return self._json(self.discovery())

    def _jwks(self, query: dict[str, str]) -> Reply:
        return self._json({"keys": [self.key.as_dict(private=False)]})

    def _userinfo(self, query: dict[str, str]) -> Reply:
        return self._json({"sub": "user-1", "email": self.email, "name": self.name})

    def _authorize(self, query: dict[str, str]) -> Reply:
        if query.get("client_id") != CLIENT_ID or query.get("response_type") != "code":
            return self._json({"error": "invalid_request"}, 400)
        code = secrets.token_urlsafe(16)
        self.codes[code] = {"nonce": query.get("nonce", ""), "redirect_uri": query["redirect_uri"]}
        location = f"{query['redirect_uri']}?{urlencode({'code': code, 'state': query['state']})}"
        return Reply(302, None, {"Location": location})

    def _token(self, form: dict[str, str]) -> Reply:
        grant = self.codes.pop(form.get("code", ""), None)
        if form.get("grant_type") != "authorization_code" or grant is None:
            return self._json({"error": "invalid_grant"}, 400)
        if form.get("redirect_uri") != grant["redirect_uri"]:
            return self._json({"error": "invalid_grant", "error_description": "redirect_uri mismatch"}, 400)
        id_token = jwt.encode({"alg": "RS256", "kid": "test-key"}, self.claims(grant["nonce"]), self.key)
        return self._json(
            {
                "access_token": secrets.token_urlsafe(16),
                "token_type": "Bearer",
                "expires_in": 600,
                "id_token": id_token,
            }
        )
