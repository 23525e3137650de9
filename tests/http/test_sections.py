"""Section editing through HTTP: edit links, the section editor, saving, stale sections, API."""

from __future__ import annotations

import re

import httpx2 as httpx
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.accounts import service as accounts
from app.accounts.models import Role
from app.discussions import service as discussions
from app.discussions.schemas import ThreadCreate
from tests.factories import csrf_from, login, make_page, make_user

SLUG = "core-processes/r2v"
BODY = (
    "Lead text.\n\n## Intro\n\none\n\n## Middle\n\ntwo\n\n### Detail\n\n```\n# not a heading\n```\n"
    "\n## End\n\nthree\n"
)


def _page(session: Session) -> None:
    make_user(session, username="alice")
    make_page(session, slug=SLUG, title="Requirement to Value", body=BODY)


def _save_section(
    client: TestClient, section: int, heading: str, base: int, body: str
) -> httpx.Response:
    form = client.get(f"/edit-section/{SLUG}", params={"section": section, "heading": heading})
    assert form.status_code == 200, form.text
    data = {
        "base": str(base),
        "section": str(section),
        "heading": heading,
        "body": body,
        "summary": "",
        "csrf_token": csrf_from(form.text),
    }
    return client.post(f"/edit-section/{SLUG}", data=data, follow_redirects=False)


def test_editors_see_an_edit_link_in_each_heading(client: TestClient, session: Session) -> None:
    _page(session)
    anonymous = client.get(f"/wiki/{SLUG}").text
    assert "section-edit" not in anonymous
    assert '<h2 id="h-intro">Intro</h2>' in anonymous
    login(client)
    html = client.get(f"/wiki/{SLUG}").text
    links = re.findall(r'<a class="section-edit" href="([^"]+)" aria-label="([^"]+)"', html)
    assert links == [
        ("/edit-section/core-processes/r2v?section=1&amp;heading=Intro", "Edit section: Intro"),
        ("/edit-section/core-processes/r2v?section=2&amp;heading=Middle", "Edit section: Middle"),
        ("/edit-section/core-processes/r2v?section=3&amp;heading=Detail", "Edit section: Detail"),
        ("/edit-section/core-processes/r2v?section=4&amp;heading=End", "Edit section: End"),
    ]
    # the heading keeps its id, and the table of contents is unchanged
    assert '<h2 id="h-middle">Middle <a class="section-edit"' in html
    assert '<a href="#h-middle" rel="noopener noreferrer nofollow">Middle</a>' in html


def test_old_revisions_have_no_section_links(client: TestClient, session: Session) -> None:
    _page(session)
    login(client)
    assert _save_section(client, 4, "End", 1, "## End\n\nthree!\n").status_code == 303
    assert "section-edit" in client.get(f"/wiki/{SLUG}").text
    assert "section-edit" not in client.get(f"/wiki/{SLUG}?rev=1").text


def test_section_editor_shows_only_the_section(client: TestClient, session: Session) -> None:
    _page(session)
    login(client)
    response = client.get(f"/edit-section/{SLUG}", params={"section": 2, "heading": "Middle"})
    assert response.status_code == 200
    html = response.text
    textarea = re.search(r'<textarea id="body"[^>]*>(.*?)</textarea>', html, re.S)
    assert textarea is not None
    assert textarea.group(1) == "## Middle\n\ntwo\n\n### Detail\n\n```\n# not a heading\n```\n\n"
    assert 'action="/edit-section/core-processes/r2v"' in html
    assert 'name="section" value="2"' in html
    assert 'name="heading" value="Middle"' in html
    assert 'name="base" value="1"' in html
    assert 'name="title"' not in html  # the title is not edited here
    # the preview shows the section only
    preview = html.split('id="preview"', 1)[1]
    assert "Detail" in preview
    assert "three" not in preview
    assert "Intro" not in preview
    assert 'hx-sync="this:queue last"' in html
    assert 'hx-post="/draft-section/core-processes/r2v"' in html


def test_saving_a_section_returns_to_its_anchor(client: TestClient, session: Session) -> None:
    _page(session)
    login(client)
    response = _save_section(client, 2, "Middle", 1, "## Middle\n\ntwo, better\n")
    assert response.status_code == 303
    assert response.headers["location"] == f"/wiki/{SLUG}#h-middle"
    page = client.get(f"/wiki/{SLUG}").text
    assert "two, better" in page
    assert "Detail" not in page  # the subsection was part of the text replaced
    assert "three" in page
    assert "one" in page


def test_concurrent_section_saves_merge_and_overlaps_conflict(
    client: TestClient, session: Session
) -> None:
    _page(session)
    make_user(session, username="bob")
    login(client)
    with TestClient(client.app) as bob:
        login(bob, "bob")
        bob_form = bob.get(f"/edit-section/{SLUG}", params={"section": 1, "heading": "Intro"})
        assert _save_section(client, 4, "End", 1, "## End\n\nalice's end\n").status_code == 303
        # bob started from revision 1 too: his section merges with alice's
        merged = bob.post(
            f"/edit-section/{SLUG}",
            data={
                "base": "1",
                "section": "1",
                "heading": "Intro",
                "body": "## Intro\n\nbob's intro\n\n",
                "csrf_token": csrf_from(bob_form.text),
            },
            follow_redirects=False,
        )
        assert merged.status_code == 303
        assert merged.headers["location"] == f"/wiki/{SLUG}?merged=1#h-intro"
        page = bob.get(f"/wiki/{SLUG}").text
        assert "bob's intro" in page
        assert "alice's end" in page
        # bob edits the End section from revision 1 as well: that overlaps alice's change
        conflict = bob.post(
            f"/edit-section/{SLUG}",
            data={
                "base": "1",
                "section": "4",
                "heading": "End",
                "body": "## End\n\nbob's end\n",
                "csrf_token": csrf_from(bob_form.text),
            },
            follow_redirects=False,
        )
    assert conflict.status_code == 409
    assert "nothing has been saved yet" in conflict.text
    assert "alice&#39;s end" in conflict.text
    assert "bob&#39;s end" in conflict.text
    assert 'value="Requirement to Value"' in conflict.text  # the title is kept
    assert "bob's end" not in client.get(f"/wiki/{SLUG}").text


def test_a_stale_section_is_a_clear_message(client: TestClient, session: Session) -> None:
    _page(session)
    login(client)
    gone = client.get(f"/edit-section/{SLUG}", params={"section": 9, "heading": "Gone"})
    assert gone.status_code == 404
    assert "There is no section 9 in revision 1" in gone.text
    renamed = client.get(f"/edit-section/{SLUG}", params={"section": 2, "heading": "Intro"})
    assert renamed.status_code == 409
    assert "Section 2 of revision 1 of “Requirement to Value” is now “Middle”, not “Intro”" in (
        renamed.text
    )
    token = csrf_from(client.get(f"/wiki/{SLUG}").text)
    posted = client.post(
        f"/edit-section/{SLUG}",
        data={"base": "1", "section": "9", "heading": "Gone", "body": "x", "csrf_token": token},
    )
    assert posted.status_code == 404
    assert "Nothing was saved" in posted.text
    assert client.get(f"/api/v1/pages/{SLUG}").json()["head"] == 1


def test_readers_and_visitors_cannot_edit_sections(client: TestClient, session: Session) -> None:
    _page(session)
    params: dict[str, str | int] = {"section": 1, "heading": "Intro"}
    assert client.get(f"/edit-section/{SLUG}", params=params).status_code == 401
    make_user(session, username="rita", role=Role.reader)
    login(client, "rita")
    assert "section-edit" not in client.get(f"/wiki/{SLUG}").text
    assert client.get(f"/edit-section/{SLUG}", params=params).status_code == 403
    token = csrf_from(client.get(f"/wiki/{SLUG}").text)
    data = {"base": "1", "section": "1", "heading": "Intro", "body": "x", "csrf_token": token}
    assert client.post(f"/edit-section/{SLUG}", data=data).status_code == 403
    assert client.post(f"/draft-section/{SLUG}", data=data).status_code == 403


def test_a_too_large_section_keeps_the_text_in_the_editor(
    client: TestClient, session: Session
) -> None:
    _page(session)
    login(client)
    response = _save_section(client, 1, "Intro", 1, "## Intro\n\n" + "x" * 600_000)
    assert response.status_code == 413
    assert "larger than the limit" in response.text
    assert 'action="/edit-section/core-processes/r2v"' in response.text
    assert "x" * 1000 in response.text


def test_section_draft_autosave_resumes_in_the_full_editor(
    client: TestClient, session: Session
) -> None:
    _page(session)
    token = login(client)
    saved = client.post(
        f"/draft-section/{SLUG}",
        data={
            "base": "1",
            "section": "4",
            "heading": "End",
            "body": "## End\n\nhalf done\n",
            "csrf_token": token,
        },
        headers={"HX-Request": "true"},
    )
    assert saved.status_code == 200
    assert "Draft saved" in saved.text
    editor = client.get(f"/edit/{SLUG}").text
    assert "You have an unsaved draft" in editor
    resumed = client.get(f"/edit/{SLUG}?draft=resume").text
    assert "half done" in resumed
    assert "## Intro" in resumed


def test_api_lists_and_saves_sections(client: TestClient, session: Session) -> None:
    _page(session)
    auth = {
        "Authorization": f"Bearer {accounts.create_token(session=session, username='alice')[1]}"
    }
    listed = client.get(f"/api/v1/pages/{SLUG}/sections")
    assert listed.status_code == 200
    data = listed.json()
    assert data["revision"] == 1
    assert [(s["index"], s["level"], s["title"], s["anchor"]) for s in data["sections"]] == [
        (0, 0, "", ""),
        (1, 2, "Intro", "h-intro"),
        (2, 2, "Middle", "h-middle"),
        (3, 3, "Detail", "h-detail"),
        (4, 2, "End", "h-end"),
    ]
    assert data["sections"][4]["source"] == "## End\n\nthree\n"

    url = f"/api/v1/pages/{SLUG}/sections/4"
    payload = {"base": 1, "heading": "End", "text": "## End\n\nvia API\n"}
    assert client.put(url, json=payload).status_code == 403  # no token, no CSRF token
    make_user(session, username="rita", role=Role.reader)
    reader = {
        "Authorization": f"Bearer {accounts.create_token(session=session, username='rita')[1]}"
    }
    refused = client.put(url, json=payload, headers=reader)
    assert refused.status_code == 403
    assert refused.json()["title"] == "Forbidden"
    saved = client.put(url, json=payload, headers=auth)
    assert saved.status_code == 200, saved.text
    out = saved.json()
    assert out["revision"]["number"] == 2
    assert out["anchor"] == "h-end"
    assert out["merged"] is False

    # concurrent edit of another section from revision 1 merges
    other = {"base": 1, "heading": "Intro", "text": "## Intro\n\none via API\n\n"}
    merged = client.put(f"/api/v1/pages/{SLUG}/sections/1", json=other, headers=auth)
    assert merged.status_code == 200
    assert merged.json()["merged"] is True

    # the same section from revision 1 again: overlapping, 409 with both texts
    again = {"base": 1, "heading": "End", "text": "## End\n\nclash\n"}
    conflict = client.put(url, json=again, headers=auth)
    assert conflict.status_code == 409
    assert conflict.headers["content-type"].startswith("application/problem+json")
    detail = conflict.json()["conflict"]
    assert "via API" in detail["their_body"]
    assert "clash" in detail["your_body"]

    missing = client.put(f"/api/v1/pages/{SLUG}/sections/12", json=payload, headers=auth)
    assert missing.status_code == 404
    assert "no section 12" in missing.json()["detail"]
    wrong = {"base": 1, "heading": "Intro", "text": "x"}
    mismatch = client.put(url, json=wrong, headers=auth)
    assert mismatch.status_code == 409
    assert mismatch.json()["heading"] == "End"
    assert client.get(f"/api/v1/pages/{SLUG}").json()["head"] == 3
    assert client.get("/api/v1/pages/nowhere/sections").status_code == 404


def test_edit_links_keep_discussion_markers_and_section_choices(
    client: TestClient, session: Session
) -> None:
    _page(session)
    alice = accounts.get_user(session=session, username="alice")
    on_heading = discussions.open_thread(
        session=session,
        slug=SLUG,
        data=ThreadCreate(title="About the middle", body="?", heading="h-middle"),
        author=alice,
    )
    on_passage = discussions.open_thread(
        session=session,
        slug=SLUG,
        data=ThreadCreate(title="About three", body="?", quote="three", revision=1),
        author=alice,
    )
    login(client)
    html = client.get(f"/wiki/{SLUG}").text
    # the heading thread's marker follows the heading, which carries its edit link
    assert re.search(
        r'<h2 id="h-middle">Middle <a class="section-edit"[^>]*></a></h2>\s*'
        rf'<aside class="passage-marker" id="passage-{on_heading.id}"',
        html,
    )
    assert f'id="passage-{on_passage.id}"' in html
    # "about this section" still offers every heading, by id and text
    choices = re.findall(r'<option value="(h-[^"]+)"[^>]*>([^<]+)</option>', html)
    assert choices == [
        ("h-intro", "Section: Intro"),
        ("h-middle", "Section: Middle"),
        ("h-detail", "Section: Detail"),
        ("h-end", "Section: End"),
    ]
