"""The API keeps the promises its OpenAPI schema makes (what the fuzzer checks, in small)."""

from __future__ import annotations

from datetime import datetime

from fastapi.testclient import TestClient
from sqlmodel import Session

from app.accounts import service as accounts
from app.accounts.models import Role
from tests.factories import make_page, make_user


def _bearer(session: Session) -> dict[str, str]:
    make_user(session, username="ada", role=Role.admin)
    token = accounts.create_token(session=session, username="ada", name="t")[1]
    return {"Authorization": f"Bearer {token}"}


def test_timestamps_carry_their_zone(client: TestClient, session: Session) -> None:
    headers = _bearer(session)
    make_page(session, slug="ops/a")
    page = client.get("/api/v1/pages/ops/a", headers=headers).json()
    # SQLite keeps no zone; the API still says these are UTC
    assert datetime.fromisoformat(page["updated_at"]).utcoffset() is not None
    tokens = client.get("/api/v1/tokens", headers=headers).json()
    assert datetime.fromisoformat(tokens[0]["created_at"]).utcoffset() is not None


def test_an_id_beyond_64_bits_is_a_clear_422(client: TestClient, session: Session) -> None:
    headers = _bearer(session)
    response = client.get(f"/api/v1/threads/{2**80}", headers=headers)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "too large" in response.json()["detail"]


def test_every_api_error_is_documented_as_problem_details(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert "Problem" in schema["components"]["schemas"]
    for path, item in schema["paths"].items():
        if not path.startswith("/api/"):
            continue
        for method, operation in item.items():
            responses = operation["responses"]
            assert "default" in responses, f"{method} {path}"
            for status, response in responses.items():
                if status == "default" or int(status) >= 400:
                    assert list(response["content"]) == ["application/problem+json"], (
                        f"{method} {path} {status}"
                    )
