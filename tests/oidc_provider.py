"""A tiny OpenID Connect provider for tests, served by uvicorn on a free loopback port.

It publishes a discovery document and its RSA key (JWKS), auto-approves one configurable user
at /authorize (redirecting back with a code and the state), and at /token checks the code,
the client secret and the PKCE verifier before it answers with an RS256 id_token carrying the
nonce. Tests change ``user``, ``claims`` (merged into the id_token) or ``deny`` to play a
provider that says something else, and ``key`` to sign with a key it does not publish.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlencode

import uvicorn
from joserfc import jwt
from joserfc.jwk import RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

CLIENT_ID = "atrium-test"
CLIENT_SECRET = "stub-secret-of-the-client"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def new_key(kid: str = "stub-key-1") -> RSAKey:
    """A fresh RSA signing key (generated per test run, never stored)."""
    return RSAKey.generate_key(2048, parameters={"kid": kid, "use": "sig", "alg": "RS256"})


@dataclass
class Grant:
    claims: dict[str, Any]
    nonce: str
    challenge: str
    redirect_uri: str


@dataclass
class StubProvider:
    """The provider's state; its ``app`` serves it."""

    url: str
    redirect_uri: str | None = None  # None: any (the browser test learns its port late)
    key: RSAKey = field(default_factory=new_key)
    published: RSAKey | None = None  # the key in the JWKS; ``key`` when None
    user: dict[str, Any] = field(
        default_factory=lambda: {
            "sub": "stub-user-1",
            "email": "carol@example.com",
            "email_verified": True,
            "preferred_username": "carol",
            "name": "Carol Stub",
        }
    )
    claims: dict[str, Any] = field(default_factory=dict)  # put over the id_token's claims
    deny: str | None = None  # an error code /authorize answers with instead of a code
    grants: dict[str, Grant] = field(default_factory=dict)
    token_requests: int = 0

    # --- endpoints ---------------------------------------------------------------------------

    async def discovery(self, _: Request) -> Response:
        return JSONResponse(
            {
                "issuer": self.url,
                "authorization_endpoint": f"{self.url}/authorize",
                "token_endpoint": f"{self.url}/token",
                "userinfo_endpoint": f"{self.url}/userinfo",
                "jwks_uri": f"{self.url}/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "code_challenge_methods_supported": ["S256"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic"],
            }
        )

    async def jwks(self, _: Request) -> Response:
        key = self.published or self.key
        return JSONResponse({"keys": [key.as_dict(private=False)]})

    async def authorize(self, request: Request) -> Response:
        q = request.query_params
        if q.get("client_id") != CLIENT_ID:
            return Response("unknown client", status_code=400)
        redirect_uri = q.get("redirect_uri", "")
        if self.redirect_uri is not None and redirect_uri != self.redirect_uri:
            return Response("redirect_uri not registered", status_code=400)
        if q.get("response_type") != "code" or q.get("code_challenge_method") != "S256":
            return Response("only the code flow with PKCE S256", status_code=400)
        if "openid" not in q.get("scope", "").split():
            return Response("not an OpenID request", status_code=400)
        state = q.get("state", "")
        if self.deny:
            query = {"error": self.deny, "error_description": "The user said no", "state": state}
            return RedirectResponse(f"{redirect_uri}?{urlencode(query)}", status_code=302)
        code = secrets.token_urlsafe(24)
        self.grants[code] = Grant(
            claims=dict(self.user),
            nonce=q.get("nonce", ""),
            challenge=q.get("code_challenge", ""),
            redirect_uri=redirect_uri,
        )
        query = {"code": code, "state": state}
        return RedirectResponse(f"{redirect_uri}?{urlencode(query)}", status_code=302)

    async def token(self, request: Request) -> Response:
        self.token_requests += 1
        form = await request.form()
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        raw = base64.b64decode(value).decode() if value else ""
        client_id, _, secret = raw.partition(":")
        if (
            scheme.lower() != "basic"
            or unquote(client_id) != CLIENT_ID
            or unquote(secret) != CLIENT_SECRET
        ):
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        grant = self.grants.pop(str(form.get("code", "")), None)  # a code is good once
        if grant is None or form.get("grant_type") != "authorization_code":
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        if form.get("redirect_uri") != grant.redirect_uri:
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        verifier = str(form.get("code_verifier", ""))
        digest = hashlib.sha256(verifier.encode()).digest()
        challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
        if not verifier or challenge != grant.challenge:
            return JSONResponse({"error": "invalid_grant", "error_description": "PKCE"}, 400)
        access_token = secrets.token_urlsafe(24)
        self.grants[f"access:{access_token}"] = grant
        return JSONResponse(
            {
                "access_token": access_token,
                "token_type": "Bearer",
                "expires_in": 300,
                "id_token": self.id_token(grant),
            }
        )

    async def userinfo(self, request: Request) -> Response:
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        grant = self.grants.get(f"access:{token}")
        if grant is None:
            return JSONResponse({"error": "invalid_token"}, status_code=401)
        return JSONResponse(grant.claims)

    def id_token(self, grant: Grant, **override: Any) -> str:
        """An id_token for this grant, signed with ``key``."""
        now = int(time.time())
        claims = {
            "iss": self.url,
            "aud": CLIENT_ID,
            "iat": now,
            "exp": now + 300,
            "nonce": grant.nonce,
            **grant.claims,
            **self.claims,
            **override,
        }
        claims = {k: v for k, v in claims.items() if v is not None}
        kid = self.key.kid or "stub"
        return jwt.encode({"alg": "RS256", "kid": kid}, claims, self.key)

    @property
    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/.well-known/openid-configuration", self.discovery),
                Route("/jwks", self.jwks),
                Route("/authorize", self.authorize),
                Route("/token", self.token, methods=["POST"]),
                Route("/userinfo", self.userinfo),
            ]
        )


@contextmanager
def running_provider(redirect_uri: str | None = None) -> Iterator[StubProvider]:
    """A stub provider served on a free loopback port for the duration of the block."""
    port = free_port()
    stub = StubProvider(url=f"http://127.0.0.1:{port}", redirect_uri=redirect_uri)
    config = uvicorn.Config(
        stub.app, host="127.0.0.1", port=port, log_level="warning", lifespan="off", ws="none"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the stub OpenID provider did not start")
        time.sleep(0.02)
    try:
        yield stub
    finally:
        server.should_exit = True
        thread.join(timeout=10)
