"""The id_token checks, the signed flow cookie and the local-path rule, without any server."""

from __future__ import annotations

import time
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet, OctKey, RSAKey

from app.core.security import local_path
from app.sso.oidc import FLOW_SECONDS, Flow, SsoFailed, validate_id_token
from tests.oidc_provider import new_key

ISSUER = "https://id.example"
CLIENT = "atrium"
NONCE = "the-nonce-of-this-sign-in"


@pytest.fixture(scope="module")
def key() -> RSAKey:
    return new_key()


def token(key: Any, alg: str = "RS256", **override: Any) -> str:
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "sub": "user-1",
        "aud": CLIENT,
        "iat": now,
        "exp": now + 300,
        "nonce": NONCE,
        "email": "carol@example.com",
        **override,
    }
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode({"alg": alg, "kid": getattr(key, "kid", None) or "k"}, claims, key)


def check(value: str, key: RSAKey, **override: Any) -> dict[str, Any]:
    args: dict[str, Any] = {
        "keys": KeySet([key]),
        "issuer": ISSUER,
        "client_id": CLIENT,
        "nonce": NONCE,
    } | override
    return validate_id_token(value, **args)


def test_a_good_token_gives_its_claims(key: RSAKey) -> None:
    claims = check(token(key), key)
    assert claims["sub"] == "user-1"
    assert claims["email"] == "carol@example.com"


def test_audience_may_be_a_list_with_the_client(key: RSAKey) -> None:
    assert check(token(key, aud=[CLIENT], azp=CLIENT), key)["sub"] == "user-1"


@pytest.mark.parametrize(
    ("override", "claim"),
    [
        ({"nonce": "another-nonce"}, "nonce"),
        ({"nonce": None}, "nonce"),
        ({"aud": "another-client"}, "aud"),
        ({"aud": ["another-client", CLIENT]}, "azp"),  # several audiences need azp = us
        ({"iss": "https://evil.example"}, "iss"),
        ({"exp": int(time.time()) - 120}, "exp"),  # past the minute of leeway
        ({"iat": int(time.time()) + 3600}, "iat"),  # issued in the future
        ({"sub": None}, "sub"),
        ({"exp": None}, "exp"),
    ],
)
def test_wrong_claims_are_refused(key: RSAKey, override: dict[str, Any], claim: str) -> None:
    with pytest.raises(SsoFailed, match=claim):
        check(token(key, **override), key)


def test_a_little_clock_skew_is_forgiven(key: RSAKey) -> None:
    assert check(token(key, exp=int(time.time()) - 20), key)


def test_bad_signature_is_refused(key: RSAKey) -> None:
    forged = token(new_key(kid=key.kid or "k"))  # same key id, another key
    with pytest.raises(SsoFailed, match="bad signature"):
        check(forged, key)


def test_tampered_payload_is_refused(key: RSAKey) -> None:
    header, payload, signature = token(key).split(".")
    other = token(key, sub="admin").split(".")[1]
    with pytest.raises(SsoFailed, match="bad signature"):
        check(f"{header}.{other}.{signature[:-4]}AAAA", key)
    assert payload != other


def test_symmetric_and_unsigned_tokens_are_refused(key: RSAKey) -> None:
    secret = OctKey.import_key("the-client-secret-that-atrium-also-holds")
    hs = token(secret, alg="HS256")
    with pytest.raises(SsoFailed):
        check(hs, key, keys=KeySet([key, secret]))
    header = "eyJhbGciOiJub25lIn0"  # {"alg":"none"}
    body = token(key).split(".")[1]
    with pytest.raises(SsoFailed):
        check(f"{header}.{body}.", key)


def test_garbage_is_refused(key: RSAKey) -> None:
    with pytest.raises(SsoFailed):
        check("not-a-jwt", key)


# --- the flow cookie -------------------------------------------------------------------------


def test_flow_round_trips() -> None:
    flow = Flow(state="s", nonce="n", verifier="v", next="/wiki/home", started=int(time.time()))
    assert Flow.unseal("secret", flow.seal("secret")) == flow


def test_flow_cookie_is_tamper_proof() -> None:
    value = Flow(state="s", nonce="n", verifier="v", started=int(time.time())).seal("secret")
    assert Flow.unseal("another-secret", value) is None
    body, _, signature = value.rpartition(".")
    assert Flow.unseal("secret", f"{body}x.{signature}") is None
    assert Flow.unseal("secret", "") is None
    assert Flow.unseal("secret", None) is None
    assert Flow.unseal("secret", "garbage") is None


def test_flow_expires() -> None:
    flow = Flow(state="s", nonce="n", verifier="v", started=1_000)
    value = flow.seal("secret")
    assert Flow.unseal("secret", value, now=1_000 + FLOW_SECONDS) == flow
    assert Flow.unseal("secret", value, now=1_001 + FLOW_SECONDS) is None


# --- where a sign-in may send the browser ----------------------------------------------------


@pytest.mark.parametrize("target", ["/", "/wiki/home", "/search?q=a%20b", "/wiki/a#b"])
def test_local_paths_are_kept(target: str) -> None:
    assert local_path(target) == target


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example",
        "/\\evil.example",
        "\\\\evil.example",
        "javascript:alert(1)",
        "wiki/home",
        "",
        "/\tevil",
        "/x\r\nSet-Cookie: a=b",
    ],
)
def test_other_targets_go_home(target: str) -> None:
    assert local_path(target) == "/"
