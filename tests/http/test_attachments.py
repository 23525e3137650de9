"""Attachments through HTTP: the panel, uploads (form and API), downloads and their headers."""

from __future__ import annotations

import httpx2 as httpx
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.accounts import service as accounts
from app.accounts.models import Role
from app.core.config import Settings
from tests.factories import login, make_page, make_user
from tests.unit.attachments import samples

SLUG = "core-processes/r2v"
FILES = f"/wiki/{SLUG}/_attachments"
API = f"/api/v1/pages/{SLUG}/_attachments"
HX = {"HX-Request": "true"}


@pytest.fixture(autouse=True)
def seeded(session: Session) -> None:
    alice = make_user(session, username="alice", role=Role.editor)
    make_user(session, username="rita", role=Role.reader)
    make_page(
        session,
        slug=SLUG,
        title="R2V",
        body="The flow:\n\n![The flow](attachment:flow.png)\n\n[Spec](attachment:spec.pdf)\n",
        author=alice,
    )


def _upload(
    client: TestClient, token: str, data: bytes, name: str = "flow.png", **form: str
) -> httpx.Response:
    return client.post(
        FILES,
        data={"csrf_token": token, **form},
        files={"file": (name, data, "application/octet-stream")},
        follow_redirects=False,
    )


def test_editor_uploads_with_the_plain_form_and_the_page_shows_the_image(
    client: TestClient,
) -> None:
    token = login(client, "alice")
    made = client.post(
        FILES,
        data={"csrf_token": token},
        files={"file": ("flow.png", samples.png(1200, 600), "image/png")},
        follow_redirects=False,
    )
    assert made.status_code == 303
    listing = client.get(made.headers["location"])
    assert listing.status_code == 200
    assert "flow.png" in listing.text
    assert "PNG image" in listing.text
    assert "![flow](attachment:flow.png)" in listing.text
    page = client.get(f"/wiki/{SLUG}").text
    assert f'src="{FILES}/flow.png?w=960"' in page
    assert f'href="{FILES}/spec.pdf"' in page
    thumb = client.get(f"{FILES}/flow.png?w=960")
    assert thumb.status_code == 200
    assert thumb.headers["content-type"] == "image/jpeg"
    full = client.get(f"{FILES}/flow.png")
    assert full.content == samples.png(1200, 600)


def test_download_headers(client: TestClient) -> None:
    token = login(client, "alice")
    _upload(client, token, samples.png())
    _upload(client, token, samples.SVG, "drawing.svg")
    _upload(client, token, samples.PDF, "spec.pdf")
    _upload(client, token, b"a,b\n", "data.csv")
    png = client.get(f"{FILES}/flow.png")
    assert png.headers["content-type"] == "image/png"
    assert png.headers["x-content-type-options"] == "nosniff"
    assert png.headers["content-disposition"].startswith('inline; filename="flow.png"')
    etag = png.headers["etag"]
    assert len(etag.strip('"')) == 64
    assert "no-cache" in png.headers["cache-control"]
    assert client.get(f"{FILES}/flow.png", headers={"If-None-Match": etag}).status_code == 304
    assert "immutable" in client.get(f"{FILES}/flow.png?v=1").headers["cache-control"]
    svg = client.get(f"{FILES}/drawing.svg")
    assert svg.headers["content-type"] == "image/svg+xml"
    assert svg.headers["content-disposition"].startswith("attachment;")  # never a document
    assert "sandbox" in svg.headers["content-security-policy"]
    assert "default-src 'none'" in svg.headers["content-security-policy"]
    pdf = client.get(f"{FILES}/spec.pdf")
    assert pdf.headers["content-disposition"].startswith("inline;")
    csv = client.get(f"{FILES}/data.csv")
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.headers["content-disposition"].startswith("attachment;")


def test_panel_fragment_and_htmx_delete_undelete_restore(client: TestClient) -> None:
    token = login(client, "alice")
    _upload(client, token, samples.png(color=(1, 1, 1)))
    _upload(client, token, samples.png(color=(9, 9, 9)))
    panel = client.get(FILES, headers=HX)
    assert panel.status_code == 200
    assert panel.text.lstrip().startswith("<section")  # the fragment only
    assert "2 versions" in panel.text
    assert "Restore" in panel.text
    restored = client.post(
        f"{FILES}/flow.png/restore", data={"number": "1", "csrf_token": token}, headers=HX
    )
    assert "3 versions" in restored.text
    assert "restored from version 1" in restored.text
    gone = client.post(f"{FILES}/flow.png/delete", data={"csrf_token": token}, headers=HX)
    assert "Deleted files (1)" in gone.text
    assert "No files on this page yet" in gone.text
    assert client.get(f"{FILES}/flow.png").status_code == 404
    back = client.post(f"{FILES}/flow.png/undelete", data={"csrf_token": token}, headers=HX)
    assert "Deleted files" not in back.text
    assert client.get(f"{FILES}/flow.png").status_code == 200


def test_page_view_loads_the_panel_and_editor_offers_attaching(client: TestClient) -> None:
    login(client, "alice")
    view = client.get(f"/wiki/{SLUG}").text
    assert f'hx-get="{FILES}"' in view
    assert "/static/js/attachments.js" in view
    edit = client.get(f"/edit/{SLUG}").text
    assert f'data-attachments-api="{API}"' in edit
    token = login(client, "alice")
    preview = client.post(
        "/preview",
        data={"body": "![x](attachment:flow.png)", "page_slug": SLUG, "csrf_token": token},
    )
    assert f'src="{FILES}/flow.png?w=960"' in preview.text
    assert "Attach a file" in edit


@pytest.mark.parametrize(
    ("data", "name", "status", "message"),
    [
        (b"", "empty.txt", 422, "is empty"),
        (samples.HTML, "cat.png", 422, "is not a PNG image"),
        (b"MZ" + b"\x00" * 64, "setup.exe", 422, ".exe files are not allowed"),
        (samples.png(), "../../../etc/passwd.png", 303, ""),
    ],
)
def test_bad_uploads_get_a_clear_answer(
    client: TestClient, data: bytes, name: str, status: int, message: str
) -> None:
    token = login(client, "alice")
    response = _upload(client, token, data, name)
    assert response.status_code == status
    assert message in response.text
    if status == 303:  # the path trick was defused, not refused
        assert client.get(f"{FILES}/passwd.png").status_code == 200


def test_over_the_limit_is_413_and_nothing_is_written(
    client: TestClient, settings: Settings
) -> None:
    client.app.state.settings.max_attachment_bytes = 2048  # type: ignore[attr-defined]
    token = login(client, "alice")
    html = _upload(client, token, b"a" * 4096, "big.txt")
    assert html.status_code == 413
    assert "larger than the limit of 2.0 KB" in html.text
    api = client.post(
        API,
        files={"file": ("big.txt", b"a" * 4096, "text/plain")},
        headers={"X-CSRF-Token": token},
    )
    assert api.status_code == 413
    assert api.headers["content-type"] == "application/problem+json"
    assert "larger than the limit" in api.json()["detail"]
    stored = [p for p in (settings.data_dir / "attachments").rglob("*") if p.is_file()]
    assert stored == []
    assert client.get(API).json() == []


def test_api_round_trip(client: TestClient) -> None:
    token = login(client, "alice")
    headers = {"X-CSRF-Token": token}
    made = client.post(
        API, files={"file": ("image.png", samples.png(), "image/png")}, headers=headers
    )
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["markdown"] == "![image](attachment:image.png)"
    assert (body["created"], body["version"], body["kind"]) == (True, 1, "png")
    pasted = client.post(
        API,
        data={"replace": "false"},
        files={"file": ("image.png", samples.png(color=(5, 5, 5)), "image/png")},
        headers=headers,
    )
    assert pasted.json()["name"] == "image-2.png"
    client.post(
        API,
        files={"file": ("image.png", samples.png(color=(7, 7, 7)), "image/png")},
        headers=headers,
    )
    versions = client.get(f"{API}/image.png/versions").json()
    assert [v["number"] for v in versions] == [2, 1]
    assert versions[0]["uploaded_by"] == "alice"
    restored = client.post(
        f"{API}/image.png/versions/restore", json={"version": 1}, headers=headers
    )
    assert restored.json()["version"] == 3
    content = client.get(f"{API}/image.png/content")
    assert content.content == samples.png()
    assert content.headers["x-content-type-options"] == "nosniff"
    assert client.get(f"{API}/image.png/content?version=2").content == samples.png(color=(7, 7, 7))
    assert [a["name"] for a in client.get(API).json()] == ["image-2.png", "image.png"]
    deleted = client.delete(f"{API}/image.png", headers=headers)
    assert deleted.json()["deleted_at"] is not None
    assert [a["name"] for a in client.get(f"{API}?deleted=true").json()] == ["image.png"]
    assert client.post(f"{API}/image.png/undelete", headers=headers).json()["deleted_at"] is None


def test_api_errors_are_problem_details(client: TestClient) -> None:
    token = login(client, "alice")
    # a form without a file is a clear 422, never a 500
    nothing = client.post(FILES, data={"csrf_token": token})
    assert nothing.status_code == 422
    empty_choice = client.post(
        FILES, data={"csrf_token": token}, files={"file": ("", b"", "application/octet-stream")}
    )
    assert empty_choice.status_code == 422  # (browsers do not send it: the input is required)
    no_file = client.post(API, data={"replace": "true"}, headers={"X-CSRF-Token": token})
    assert no_file.status_code == 422
    assert no_file.headers["content-type"] == "application/problem+json"
    missing = client.get(f"{API}/nope.png")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    assert client.get("/api/v1/pages/no/such/_attachments").status_code == 404
    assert client.get(f"{FILES}/nope.png").status_code == 404
    assert client.get(f"{FILES}/a%00b.png").status_code == 404
    assert client.get(f"{FILES}/..%2F..%2Fsecret_key").status_code == 404
    assert client.get(f"{FILES}/flow.png?v=0").status_code == 422
    bad = client.post(
        API, files={"file": ("x.png", samples.HTML, "image/png")}, headers={"X-CSRF-Token": token}
    )
    assert bad.status_code == 422
    assert "is not a PNG image" in bad.json()["detail"]


def test_permissions(client: TestClient, session: Session) -> None:
    # anonymous visitors read (public wiki) but may not upload; no files: no panel on the page
    assert client.get(FILES).status_code == 200
    assert 'id="attachments" hidden' in client.get(FILES, headers=HX).text
    anon = client.post(API, files={"file": ("a.png", samples.png(), "image/png")})
    assert anon.status_code in (401, 403)
    token = login(client, "rita")
    listing = client.get(FILES).text
    assert "Add files" not in listing  # readers get no upload form
    refused = _upload(client, token, samples.png(), "a.png")
    assert refused.status_code == 403
    alice = accounts.get_user(session=session, username="alice")
    assert alice.role == Role.editor
    bearer = accounts.create_token(session=session, username="alice")[1]
    ok = client.post(
        API,
        files={"file": ("a.png", samples.png(), "image/png")},
        headers={"Authorization": f"Bearer {bearer}"},
    )
    assert ok.status_code == 201
    assert client.delete(f"{API}/a.png", headers={"X-CSRF-Token": token}).status_code == 403
    # without the CSRF token a browser upload is refused
    client.cookies.clear()
    token = login(client, "alice")
    no_csrf = client.post(FILES, files={"file": ("b.png", samples.png(), "image/png")})
    assert no_csrf.status_code == 403
