"""OpenID Connect, the protocol side: discovery, the authorization request (PKCE, state, nonce),
the code exchange and the id_token checks. No database and no web framework here.

authlib supplies the protocol pieces (random tokens, the S256 code challenge, the grant URI and
the OIDC claim rules: iss, aud, exp, iat, nonce, azp, at_hash); joserfc, which authlib builds
on, checks the id_token's signature against the provider's published keys. The HTTP calls are
plain httpx (already the webhook sender's client), with a timeout and no redirects:
authlib's own httpx client wants the httpx2 package at run time, which Atrium does not ship.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import quote

import httpx
from authlib.common.security import generate_token
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet

from app.core.config import Settings
from app.core.errors import DomainError

# signatures by the provider's private key only: no "none", and no HS* (those would be keyed by
# the client secret, which Atrium also holds)
ASYMMETRIC = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512")
LEEWAY_SECONDS = 60  # clock skew between Atrium and the provider
METADATA_SECONDS = 3600  # discovery document and keys are fetched again after an hour
FLOW_SECONDS = 600  # a sign-in started more than ten minutes ago is not finished


class SsoFailed(DomainError):
    """The provider's answer does not sign anyone in (refused, forged, expired, replayed)."""

    status_code = 401
    title = "Single sign-on failed"


class ProviderUnavailable(DomainError):
    """The provider could not be reached or answered nonsense."""

    status_code = 502
    title = "Sign-in provider unavailable"


@dataclass(frozen=True)
class Identity:
    """Who the provider says signed in, from a checked id_token (and the userinfo endpoint)."""

    issuer: str
    subject: str
    email: str | None = None
    email_verified: bool = False
    username: str | None = None  # the provider's preferred_username
    name: str = ""


@dataclass(frozen=True)
class Flow:
    """What the callback must know about the sign-in it finishes; kept in a signed cookie."""

    state: str
    nonce: str
    verifier: str
    next: str = "/"
    started: int = 0

    def seal(self, secret: str) -> str:
        """This flow as a signed cookie value (readable by its holder, not changeable)."""
        body = base64.urlsafe_b64encode(json.dumps(asdict(self)).encode()).decode()
        return f"{body}.{_sign(secret, body)}"

    @classmethod
    def unseal(cls, secret: str, value: str | None, *, now: float | None = None) -> Flow | None:
        """The flow in a cookie value, or None if it is missing, forged or too old."""
        if not value or "." not in value:
            return None
        body, _, signature = value.rpartition(".")
        if not hmac.compare_digest(_sign(secret, body), signature):
            return None
        try:
            data = json.loads(base64.urlsafe_b64decode(body.encode()))
            flow = cls(**data)
        except (ValueError, TypeError):
            return None
        if (now if now is not None else time.time()) - flow.started > FLOW_SECONDS:
            return None
        return flow


def _sign(secret: str, body: str) -> str:
    return hmac.new(secret.encode(), f"oidc-flow:{body}".encode(), hashlib.sha256).hexdigest()


def validate_id_token(
    id_token: str,
    *,
    keys: KeySet,
    issuer: str,
    client_id: str,
    nonce: str,
    access_token: str | None = None,
    algorithms: tuple[str, ...] = ("RS256",),
    now: int | None = None,
) -> dict[str, Any]:
    """The claims of an id_token whose signature, issuer, audience, times and nonce are right.

    Raises InvalidKeyIdError when no key has the token's key id (the caller may fetch the
    provider's keys again) and SsoFailed for anything else that is wrong.
    """
    try:
        token = jwt.decode(id_token, keys, algorithms=list(algorithms))
    except InvalidKeyIdError:
        raise
    except (JoseError, ValueError) as exc:
        raise SsoFailed("The provider's sign-in token is not valid (bad signature).") from exc
    options = {
        "iss": {"essential": True, "value": issuer},
        "aud": {"essential": True, "value": client_id},
        "sub": {"essential": True},
        "exp": {"essential": True},
        "nonce": {"essential": True},
    }
    params = {"nonce": nonce, "client_id": client_id}
    if access_token:
        params["access_token"] = access_token
    claims = CodeIDToken(token.claims, token.header, options, params)
    try:
        claims.validate(now=now, leeway=LEEWAY_SECONDS)
    except JoseError as exc:
        claim = getattr(exc, "claim", "") or getattr(exc, "error", "")
        raise SsoFailed(f"The provider's sign-in token is not valid ({claim}).") from exc
    return dict(claims)


class Provider:
    """The configured OpenID provider: its discovery document and keys, fetched and cached."""

    def __init__(self, settings: Settings) -> None:
        if not settings.oidc_issuer or settings.oidc_client_secret is None:
            raise ValueError("single sign-on is not configured")
        self.issuer = settings.oidc_issuer.rstrip("/")
        self.client_id = settings.oidc_client_id
        self._secret = settings.oidc_client_secret.get_secret_value()
        self.scopes = settings.oidc_scopes
        self.timeout = settings.oidc_timeout
        self._lock = threading.Lock()
        self._metadata: dict[str, Any] | None = None
        self._keys: KeySet | None = None
        self._fetched = 0.0

    # --- talking to the provider ---------------------------------------------------------------

    def _get(self, url: str, **kwargs: Any) -> dict[str, Any]:
        try:
            with httpx.Client(timeout=self.timeout, follow_redirects=False) as client:
                response = client.get(url, **kwargs)
            response.raise_for_status()
            data = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise ProviderUnavailable(
                "The sign-in provider could not be reached or gave an answer Atrium does not "
                "understand. Please try again later."
            ) from exc
        if not isinstance(data, dict):
            raise ProviderUnavailable("The sign-in provider gave an answer that is not JSON.")
        return data

    def metadata(self) -> dict[str, Any]:
        """The provider's discovery document (cached for an hour)."""
        with self._lock:
            if self._metadata is None or time.monotonic() - self._fetched > METADATA_SECONDS:
                data = self._get(f"{self.issuer}/.well-known/openid-configuration")
                missing = [
                    key
                    for key in ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri")
                    if not isinstance(data.get(key), str)
                ]
                if missing:
                    raise ProviderUnavailable(
                        f"The provider's discovery document lacks {', '.join(missing)}."
                    )
                # OpenID Connect Discovery 4.3: the document must name the issuer it was read from
                if data["issuer"].rstrip("/") != self.issuer:
                    raise ProviderUnavailable(
                        "The provider's discovery document names another issuer."
                    )
                self._metadata, self._keys, self._fetched = data, None, time.monotonic()
            return self._metadata

    def keys(self, *, refresh: bool = False) -> KeySet:
        """The provider's public signing keys (fetched again when a token names an unknown one)."""
        metadata = self.metadata()
        with self._lock:
            if self._keys is None or refresh:
                data = self._get(metadata["jwks_uri"])
                try:
                    self._keys = KeySet.import_key_set(data)  # type: ignore[arg-type]
                except (JoseError, ValueError, KeyError, TypeError) as exc:
                    raise ProviderUnavailable(
                        "The provider's signing keys are not usable."
                    ) from exc
            return self._keys

    def algorithms(self) -> tuple[str, ...]:
        """The signature algorithms accepted for id_tokens: the provider's, if asymmetric."""
        offered = self.metadata().get("id_token_signing_alg_values_supported") or ["RS256"]
        return tuple(alg for alg in offered if alg in ASYMMETRIC) or ("RS256",)

    # --- the flow --------------------------------------------------------------------------------

    def start(self, *, redirect_uri: str, next: str = "/") -> tuple[str, Flow]:
        """The provider's authorization URL and the flow the callback must check against."""
        flow = Flow(
            state=generate_token(32),
            nonce=generate_token(32),
            verifier=generate_token(64),  # PKCE: 43 to 128 unreserved characters
            next=next,
            started=int(time.time()),
        )
        url = prepare_grant_uri(
            self.metadata()["authorization_endpoint"],
            self.client_id,
            "code",
            redirect_uri=redirect_uri,
            scope=self.scopes,
            state=flow.state,
            nonce=flow.nonce,
            code_challenge=create_s256_code_challenge(flow.verifier),
            code_challenge_method="S256",
        )
        return str(url), flow

    def finish(self, *, code: str, flow: Flow, redirect_uri: str) -> Identity:
        """Exchange the authorization code, check the id_token and say who signed in."""
        tokens = self._exchange(code=code, verifier=flow.verifier, redirect_uri=redirect_uri)
        id_token = tokens.get("id_token")
        if not isinstance(id_token, str):
            raise SsoFailed("The provider did not send an id_token.")
        access_token = tokens.get("access_token")
        access_token = access_token if isinstance(access_token, str) else None

        def check(keys: KeySet) -> dict[str, Any]:
            return validate_id_token(
                id_token,
                keys=keys,
                issuer=self.metadata()["issuer"],
                client_id=self.client_id,
                nonce=flow.nonce,
                access_token=access_token,
                algorithms=self.algorithms(),
            )

        try:
            claims = check(self.keys())
        except InvalidKeyIdError:
            try:  # the provider may have rotated its keys since they were fetched
                claims = check(self.keys(refresh=True))
            except InvalidKeyIdError as exc:
                raise SsoFailed(
                    "The provider's sign-in token is signed by an unknown key."
                ) from exc
        if "email" not in claims and access_token and self.metadata().get("userinfo_endpoint"):
            extra = self._get(
                self.metadata()["userinfo_endpoint"],
                headers={"Authorization": f"Bearer {access_token}"},
            )
            # OpenID Connect Core 5.3.2: userinfo about anyone else must not be used
            if extra.get("sub") == claims["sub"]:
                claims = {**extra, **claims}
        return _identity(claims)

    def _exchange(self, *, code: str, verifier: str, redirect_uri: str) -> dict[str, Any]:
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": verifier,
        }
        methods = self.metadata().get("token_endpoint_auth_methods_supported") or [
            "client_secret_basic"
        ]
        auth: httpx.Auth | None = None
        if "client_secret_basic" in methods:
            # RFC 6749 2.3.1: both are form-encoded before they go into the Basic header
            auth = httpx.BasicAuth(quote(self.client_id, safe=""), quote(self._secret, safe=""))
        else:
            form |= {"client_id": self.client_id, "client_secret": self._secret}
        try:
            with httpx.Client(timeout=self.timeout, follow_redirects=False, auth=auth) as client:
                response = client.post(
                    self.metadata()["token_endpoint"],
                    data=form,
                    headers={"Accept": "application/json"},
                )
            data = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise ProviderUnavailable(
                "The sign-in provider could not be reached to finish the sign-in. "
                "Please try again later."
            ) from exc
        if not isinstance(data, dict):
            raise ProviderUnavailable("The sign-in provider gave an answer that is not JSON.")
        if response.status_code >= 400 or "error" in data:
            error = str(data.get("error") or response.status_code)
            raise SsoFailed(f"The provider refused to finish the sign-in ({error[:80]}).")
        return data


def _identity(claims: dict[str, Any]) -> Identity:
    def text(key: str) -> str | None:
        value = claims.get(key)
        return value.strip() if isinstance(value, str) and value.strip() else None

    return Identity(
        issuer=str(claims["iss"]).rstrip("/"),
        subject=str(claims["sub"]),
        email=text("email"),
        # a string "true" is not a verified address: only the JSON boolean counts
        email_verified=claims.get("email_verified") is True,
        username=text("preferred_username"),
        name=text("name") or "",
    )
