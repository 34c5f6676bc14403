"""A real OpenID Connect provider for tests: oidc-provider-mock (authlib's authorization
server under Flask) on a thread at 127.0.0.1, with registered clients (secret and redirect
URI checked), required nonces, RS256 ID tokens published as a JWKS, and PKCE S256 enforced.

The mock provider accepts PKCE parameters but does not check them, so `RequirePkce` wraps it:
the authorization step must carry an S256 challenge, and the token step must present the
verifier that hashes to it. A client that skips or fumbles PKCE fails here as it would at a
strict provider."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import oidc_provider_mock
import werkzeug.serving

Environ = dict[str, Any]
StartResponse = Callable[..., Any]


class RequirePkce:
    """WSGI middleware in front of the provider: PKCE S256 on every authorization code."""

    def __init__(self, app: Callable[[Environ, StartResponse], Iterable[bytes]]) -> None:
        self.app = app
        self.challenges: dict[str, str] = {}
        self.lock = threading.Lock()

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "")
        if path == "/oauth2/authorize" and method == "POST":
            query = parse_qs(environ.get("QUERY_STRING", ""))
            challenge = query.get("code_challenge", [""])[0]
            if not challenge or query.get("code_challenge_method") != ["S256"]:
                return _refuse(start_response, "invalid_request", "PKCE S256 is required")

            def remember(status: str, headers: list[tuple[str, str]], *exc: Any) -> Any:
                for name, value in headers:
                    if name.lower() == "location":
                        code = parse_qs(urlsplit(value).query).get("code")
                        if code:
                            with self.lock:
                                self.challenges[code[0]] = challenge
                return start_response(status, headers, *exc)

            return self.app(environ, remember)
        if path == "/oauth2/token" and method == "POST":
            body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
            environ["wsgi.input"] = io.BytesIO(body)
            form = parse_qs(body.decode())
            if form.get("grant_type") == ["authorization_code"]:
                with self.lock:
                    challenge = self.challenges.pop(form.get("code", [""])[0], None)
                verifier = form.get("code_verifier", [""])[0]
                if challenge is None or not verifier or s256(verifier) != challenge:
                    return _refuse(start_response, "invalid_grant", "PKCE verifier does not match")
        return self.app(environ, start_response)


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _refuse(start_response: StartResponse, error: str, description: str) -> list[bytes]:
    start_response("400 Bad Request", [("Content-Type", "application/json")])
    return [json.dumps({"error": error, "error_description": description}).encode()]


@dataclass(frozen=True)
class OidcProvider:
    issuer: str

    def register_client(self, redirect_uri: str) -> tuple[str, str]:
        """(client id, client secret) of a new client allowed to return to `redirect_uri`."""
        response = httpx.post(
            f"{self.issuer}/oauth2/clients",
            json={
                "redirect_uris": [redirect_uri],
                "token_endpoint_auth_method": "client_secret_basic",
            },
        )
        assert response.status_code == 201, response.text
        client = response.json()
        return client["client_id"], client["client_secret"]

    def add_user(self, sub: str, email: str, email_verified: bool = True) -> None:
        response = httpx.put(
            f"{self.issuer}/users/{sub}",
            json={"email": email, "email_verified": email_verified, "name": sub},
        )
        assert response.status_code == 204, response.text

    async def authorize(self, http: httpx.AsyncClient, authorization_url: str, sub: str) -> str:
        """Play the person at the provider: open the sign-in page, choose the user, and
        answer where the provider sends the browser back (the client's callback URL)."""
        assert authorization_url.startswith(f"{self.issuer}/"), authorization_url
        page = await http.get(authorization_url)
        assert page.status_code == 200, page.text
        answer = await http.post(authorization_url, data={"sub": sub})
        assert answer.status_code == 302, answer.text
        return answer.headers["location"]

    async def deny(self, http: httpx.AsyncClient, authorization_url: str) -> str:
        answer = await http.post(authorization_url, data={"action": "deny"})
        assert answer.status_code == 302, answer.text
        return answer.headers["location"]


@contextmanager
def running_provider() -> Iterator[OidcProvider]:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    app = oidc_provider_mock.app(require_client_registration=True, require_nonce=True)
    app.wsgi_app = RequirePkce(app.wsgi_app)  # type: ignore[method-assign]
    server = werkzeug.serving.make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1})
    thread.start()
    try:
        yield OidcProvider(issuer=f"http://127.0.0.1:{server.server_port}")
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
