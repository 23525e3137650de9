"""Webhooks through HTTP: admin screens and API, permissions, the test-delivery button with the
worker in the app's lifespan sending to a real receiver on 127.0.0.1, redelivery."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.accounts import service as accounts
from app.accounts.models import Role
from app.core.config import Settings
from app.main import create_app
from app.webhooks import sender
from tests.factories import csrf_from, login, make_user
from tests.webhook_receiver import receiving

HX = {"HX-Request": "true"}


@pytest.fixture
def people(session: Session) -> None:
    make_user(session, username="rita", role=Role.reader)
    make_user(session, username="alice", role=Role.editor)
    make_user(session, username="fran", role=Role.facilitator)
    make_user(session, username="ada", role=Role.admin)


@pytest.fixture
def fast_client(settings: Settings) -> Iterator[TestClient]:
    """An app whose webhook worker looks for work every 50 ms and retries without waiting."""
    tuned = settings.model_copy(
        update={"webhook_interval": 0.05, "webhook_backoff_seconds": [0.05]}
    )
    with TestClient(create_app(tuned)) as c:
        yield c


@pytest.fixture
def idle_client(settings: Settings) -> Iterator[TestClient]:
    """An app without the webhook worker: deliveries stay queued."""
    with TestClient(create_app(settings.model_copy(update={"webhook_worker": False}))) as c:
        yield c


def _bearer(session: Session, who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {accounts.create_token(session=session, username=who)[1]}"}


def _create_html(client: TestClient, token: str, **fields: str | list[str]) -> str:
    data: dict[str, str | list[str]] = {
        "csrf_token": token,
        "url": "https://hooks.example.com/atrium",
        "description": "CMDB sync",
        "events": ["page.saved", "decision.recorded"],
        "active": "on",
    }
    data.update(fields)
    response = client.post("/admin/webhooks/new", data=data)
    assert response.status_code == 201, response.text
    match = re.search(r"Webhook (\d+) ·", response.text)
    assert match
    return match.group(1)


def _wait_for(client: TestClient, url: str, text: str, seconds: float = 15.0) -> str:
    deadline = time.monotonic() + seconds
    while True:
        body = client.get(url, headers=HX).text
        if text in body:
            return body
        assert time.monotonic() < deadline, f"{text!r} never appeared in:\n{body}"
        time.sleep(0.1)


# --- permissions -------------------------------------------------------------------------------


@pytest.mark.usefixtures("people")
@pytest.mark.parametrize(
    ("who", "status"), [(None, 401), ("rita", 403), ("alice", 403), ("fran", 403)]
)
def test_only_admins_reach_webhooks(
    client: TestClient, session: Session, who: str | None, status: int
) -> None:
    token = login(client, who) if who else csrf_from(client.get("/login").text)
    assert client.get("/admin/webhooks").status_code == status
    assert client.get("/admin/webhooks/new").status_code == status
    refused = client.post(
        "/admin/webhooks/new",
        data={"csrf_token": token, "url": "https://x.example/h", "events": "page.saved"},
    )
    assert refused.status_code == status
    # anonymous: a browser request with its CSRF token, refused for want of a sign-in
    api = _bearer(session, who) if who else {"X-CSRF-Token": token}
    assert client.get("/api/v1/webhooks", headers=api).status_code == status
    made = client.post(
        "/api/v1/webhooks",
        json={"url": "https://x.example/h", "events": ["page.saved"]},
        headers=api,
    )
    assert made.status_code == status
    assert made.headers["content-type"].startswith("application/problem+json")
    # nothing was registered by anyone
    admin = _bearer(session, "ada")
    assert client.get("/api/v1/webhooks", headers=admin).json() == []


@pytest.mark.usefixtures("people")
def test_the_header_links_webhooks_for_admins_only(client: TestClient) -> None:
    login(client, "alice")
    assert 'class="admin-link"' not in client.get("/recent").text
    client.cookies.clear()
    login(client, "ada")
    # one Admin link in the header; the administration screens' tabs lead to the webhooks
    assert 'class="admin-link" href="/admin/users"' in client.get("/recent").text
    assert 'href="/admin/webhooks"' in client.get("/admin/users").text


# --- admin screens -----------------------------------------------------------------------------


@pytest.mark.usefixtures("people")
def test_an_admin_adds_edits_disables_rotates_and_deletes_a_webhook(client: TestClient) -> None:
    token = login(client, "ada")
    empty = client.get("/admin/webhooks")
    assert empty.status_code == 200
    assert "No webhooks yet" in empty.text
    form = client.get("/admin/webhooks/new").text
    for name in ("page.saved", "page.moved", "thread.resolved", "workshop.closed"):
        assert f'name="events" value="{name}"' in form

    created = client.post(
        "/admin/webhooks/new",
        data={
            "csrf_token": token,
            "url": "https://hooks.example.com/atrium",
            "description": "CMDB sync",
            "events": ["page.saved", "decision.recorded"],
            "active": "on",
        },
    )
    assert created.status_code == 201
    secret = re.search(r'id="webhook-secret">(whsec_[^<]+)<', created.text)
    assert secret, "the new secret is shown once"
    assert "it is not shown again" in created.text
    webhook = re.search(r"Webhook (\d+) ·", created.text)
    assert webhook
    url = f"/admin/webhooks/{webhook.group(1)}"
    detail = client.get(url).text
    assert secret.group(1) not in detail
    assert "page.saved" in detail
    assert "decision.recorded" in detail
    listing = client.get("/admin/webhooks").text
    assert "https://hooks.example.com/atrium" in listing
    assert "CMDB sync" in listing

    edit = client.get(f"{url}/edit").text
    assert 'value="page.saved" checked' in edit
    saved = client.post(
        f"{url}/edit",
        data={
            "csrf_token": token,
            "url": "http://127.0.0.1:9/in",
            "description": "",
            "events": ["thread.opened"],
            "active": "on",
        },
        follow_redirects=False,
    )
    assert saved.status_code == 303
    detail = client.get(url).text
    assert "http://127.0.0.1:9/in" in detail
    assert "thread.opened" in detail
    assert "decision.recorded" not in detail

    client.post(f"{url}/active", data={"csrf_token": token, "active": "off"})
    assert "wh-badge-disabled" in client.get(url).text
    client.post(f"{url}/active", data={"csrf_token": token, "active": "on"})
    assert "wh-badge-active" in client.get(url).text

    rotated = client.post(f"{url}/rotate", data={"csrf_token": token})
    assert rotated.status_code == 200
    new_secret = re.search(r'id="webhook-secret">(whsec_[^<]+)<', rotated.text)
    assert new_secret
    assert new_secret.group(1) != secret.group(1)
    assert "New secret made" in rotated.text

    gone = client.post(f"{url}/delete", data={"csrf_token": token}, follow_redirects=False)
    assert gone.status_code == 303
    assert client.get(url).status_code == 404
    assert "No webhooks yet" in client.get("/admin/webhooks").text


@pytest.mark.usefixtures("people")
@pytest.mark.parametrize(
    ("url", "events", "message"),
    [
        ("ftp://files.example.com/drop", ["page.saved"], "must start with http:// or https://"),
        ("javascript:alert(1)", ["page.saved"], "this one has javascript:"),
        ("https://me:pw@example.com/", ["page.saved"], "cannot contain a user name or password"),
        ("https://example.com/h", [], "Choose at least one event"),
        ("https://example.com/h", ["page.saved", "bogus.event"], "Unknown event: bogus.event"),
    ],
)
def test_bad_input_on_the_form_is_explained_and_keeps_what_was_typed(
    client: TestClient, url: str, events: list[str], message: str
) -> None:
    token = login(client, "ada")
    refused = client.post(
        "/admin/webhooks/new",
        data={"csrf_token": token, "url": url, "description": "Kept text", "events": events},
    )
    assert refused.status_code == 422
    assert message in refused.text
    assert 'value="Kept text"' in refused.text
    assert "No webhooks yet" in client.get("/admin/webhooks").text


@pytest.mark.usefixtures("people")
def test_an_over_long_description_is_refused_not_a_500(client: TestClient) -> None:
    token = login(client, "ada")
    refused = client.post(
        "/admin/webhooks/new",
        data={
            "csrf_token": token,
            "url": "https://example.com/h",
            "description": "x" * 600,
            "events": "page.saved",
        },
    )
    assert refused.status_code == 422
    assert "at most 500 characters" in refused.text


@pytest.mark.usefixtures("people")
def test_the_test_delivery_button_sends_a_ping_and_the_log_shows_it(
    fast_client: TestClient,
) -> None:
    client = fast_client
    token = login(client, "ada")
    with receiving([500]) as hook:
        webhook = _create_html(client, token, url=hook.url)
        url = f"/admin/webhooks/{webhook}"
        assert "No deliveries yet" in client.get(url).text
        fragment = client.post(f"{url}/test", data={"csrf_token": token}, headers=HX)
        assert fragment.status_code == 200
        assert 'id="webhook-deliveries"' in fragment.text
        assert "<code>ping</code>" in fragment.text
        assert "<html" not in fragment.text  # just the log, swapped in place
        # the worker in the app's lifespan sends it: the receiver fails once, then takes it
        log = _wait_for(client, f"{url}/deliveries", "wh-status-succeeded")
        assert '<span class="wh-code">500</span>' in log
        assert '<span class="wh-code">200</span>' in log
        assert "2 / 8" in log
        assert 'hx-trigger="every 2s"' not in log  # nothing queued: the log stops polling
        [first, second] = hook.got
        assert first[0]["x-atrium-event"] == "ping"
        assert first[0]["x-atrium-delivery"] == second[0]["x-atrium-delivery"]

        # redeliver: the same delivery goes out again
        delivery_id = re.search(r"/deliveries/(\d+)/redeliver", log)
        assert delivery_id
        again = client.post(
            f"{url}/deliveries/{delivery_id.group(1)}/redeliver",
            data={"csrf_token": token},
            headers=HX,
        )
        assert again.status_code == 200
        _wait_for(client, f"{url}/deliveries", "1 / 8")
        assert len(hook.got) == 3


# --- API ---------------------------------------------------------------------------------------


@pytest.mark.usefixtures("people")
def test_the_api_manages_webhooks_and_their_deliveries(
    fast_client: TestClient, session: Session
) -> None:
    client = fast_client
    auth = _bearer(session, "ada")
    with receiving() as hook:
        made = client.post(
            "/api/v1/webhooks",
            json={"url": hook.url, "events": ["page.saved"], "description": "API"},
            headers=auth,
        )
        assert made.status_code == 201, made.text
        body = made.json()
        assert body["secret"].startswith("whsec_")
        hook_id = body["id"]
        listed = client.get("/api/v1/webhooks", headers=auth).json()
        assert [w["id"] for w in listed] == [hook_id]
        assert "secret" not in listed[0]
        assert "secret" not in client.get(f"/api/v1/webhooks/{hook_id}", headers=auth).json()

        # a page saved through the API reaches the receiver, signed with that secret
        page = client.put(
            "/api/v1/pages/ops/runbook",
            json={"title": "Runbook", "body": "Steps.\n", "base": 0},
            headers=auth,
        )
        assert page.status_code in (200, 201), page.text
        deadline = time.monotonic() + 15
        while not hook.got:
            assert time.monotonic() < deadline, "the page save was never delivered"
            time.sleep(0.05)
        headers, raw = hook.got[0]
        assert headers["x-atrium-event"] == "page.saved"
        assert sender.verify(
            body["secret"], headers["x-atrium-timestamp"], raw, headers["x-atrium-signature"]
        )

        test = client.post(f"/api/v1/webhooks/{hook_id}/test", headers=auth)
        assert test.status_code == 202
        assert test.json()["event"] == "ping"
        deadline = time.monotonic() + 15
        while True:
            items = client.get(f"/api/v1/webhooks/{hook_id}/deliveries", headers=auth).json()
            ping = next(d for d in items["items"] if d["event"] == "ping")
            if ping["status"] == "succeeded":
                break
            assert time.monotonic() < deadline, ping
            time.sleep(0.05)
        assert ping["attempt_log"][0]["status_code"] == 200
        assert ping["attempt_log"][0]["response_body"] == "thanks"
        one = client.get(f"/api/v1/webhooks/{hook_id}/deliveries/{ping['id']}", headers=auth)
        assert one.json()["uid"] == ping["uid"]
        redo = client.post(
            f"/api/v1/webhooks/{hook_id}/deliveries/{ping['id']}/redeliver", headers=auth
        )
        assert redo.status_code == 202
        assert redo.json()["status"] in ("pending", "sending", "succeeded")

    changed = client.patch(
        f"/api/v1/webhooks/{hook_id}",
        json={"active": False, "events": ["page.moved"]},
        headers=auth,
    )
    assert changed.status_code == 200
    assert (changed.json()["active"], changed.json()["events"]) == (False, ["page.moved"])
    rotated = client.post(f"/api/v1/webhooks/{hook_id}/rotate-secret", headers=auth)
    assert rotated.status_code == 200
    assert rotated.json()["secret"] != body["secret"]
    assert client.delete(f"/api/v1/webhooks/{hook_id}", headers=auth).status_code == 204
    missing = client.get(f"/api/v1/webhooks/{hook_id}", headers=auth)
    assert missing.status_code == 404
    assert missing.json()["detail"] == f"There is no webhook {hook_id}."


@pytest.mark.usefixtures("people")
@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"url": "file:///etc/passwd"}, "this one has file:"),
        ({"url": "https://"}, "needs a host name"),
        ({"events": []}, "Choose at least one event"),
        ({"events": ["page.saved", "nope"]}, "Unknown event: nope"),
        ({"description": "d" * 501}, "at most 500 characters"),
        ({"url": "https://example.com/" + "p" * 2000}, "at most 2000 characters"),
    ],
)
def test_the_api_refuses_bad_input_with_a_problem_and_writes_nothing(
    client: TestClient, session: Session, change: dict[str, object], message: str
) -> None:
    auth = _bearer(session, "ada")
    good = {"url": "https://example.com/h", "events": ["page.saved"]}
    refused = client.post("/api/v1/webhooks", json={**good, **change}, headers=auth)
    assert refused.status_code == 422
    assert message in refused.json()["detail"]
    assert client.get("/api/v1/webhooks", headers=auth).json() == []
    made = client.post("/api/v1/webhooks", json=good, headers=auth).json()
    patched = client.patch(f"/api/v1/webhooks/{made['id']}", json=change, headers=auth)
    assert patched.status_code == 422
    assert message in patched.json()["detail"]
    unchanged = client.get(f"/api/v1/webhooks/{made['id']}", headers=auth).json()
    assert (unchanged["url"], unchanged["events"]) == (good["url"], good["events"])


@pytest.mark.usefixtures("people")
def test_odd_addresses_and_queued_redeliveries_are_clear_errors(
    idle_client: TestClient, session: Session
) -> None:
    client = idle_client
    auth = _bearer(session, "ada")
    assert client.get("/api/v1/webhooks/abc", headers=auth).status_code == 422
    assert client.get("/api/v1/webhooks/999", headers=auth).status_code == 404
    made = client.post(
        "/api/v1/webhooks",
        json={"url": "http://127.0.0.1:9/never", "events": ["page.saved"], "active": False},
        headers=auth,
    ).json()
    ping = client.post(f"/api/v1/webhooks/{made['id']}/test", headers=auth).json()
    queued = client.post(
        f"/api/v1/webhooks/{made['id']}/deliveries/{ping['id']}/redeliver", headers=auth
    )
    assert queued.status_code == 409
    assert "still queued" in queued.json()["detail"]
    other = client.post(f"/api/v1/webhooks/{made['id']}/deliveries/424242/redeliver", headers=auth)
    assert other.status_code == 404
