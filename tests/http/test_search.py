"""Search through HTTP: the results page, the header dropdown and the JSON API."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.accounts.models import Role
from app.core.config import Settings
from app.main import create_app
from tests.factories import login, make_page, make_user


def _indexed(client: TestClient) -> None:
    assert client.app.state.indexer.wait_idle(10)  # type: ignore[attr-defined]


@pytest.fixture
def wiki(client: TestClient, session: Session) -> TestClient:
    make_page(
        session,
        slug="core-processes/order-to-cash",
        title="Order to Cash",
        body="## Invoicing\n\nWe send invoices monthly.\n",
        tags=["finance"],
    )
    make_page(session, slug="governance", title="Governance", body="The board meets quarterly.\n")
    make_page(
        session,
        slug="tricky",
        title="<script>alert(1)</script> Tricky",
        body="A <b>bold</b> claim about invoices.\n",
    )
    _indexed(client)
    return client


def test_results_page_shows_highlighted_hits_with_facets(wiki: TestClient) -> None:
    response = wiki.get("/search", params={"q": "invoices"})
    assert response.status_code == 200
    html = response.text
    assert "2 results" in html
    assert "Order to Cash" in html
    assert "<mark>invoices</mark>" in html
    assert 'href="/wiki/core-processes"' in html  # breadcrumb
    assert "Core processes" in html
    assert "tag%3Afinance" in html  # a facet link narrows the query
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_empty_and_missing_results(wiki: TestClient) -> None:
    assert "Type what you are looking for" in wiki.get("/search").text
    html = wiki.get("/search", params={"q": "governanse"}).text
    assert "No results" in html
    assert "Did you mean" in html
    assert "governance" in html


def test_broken_syntax_is_explained_not_an_error(wiki: TestClient) -> None:
    response = wiki.get("/search", params={"q": '"send invoices'})
    assert response.status_code == 200
    assert "quote was not closed" in response.text
    assert "Order to Cash" in response.text


def test_htmx_gets_only_the_results_block(wiki: TestClient) -> None:
    response = wiki.get(
        "/search",
        params={"q": "quarterly"},
        headers={"HX-Request": "true", "HX-Target": "search-results"},
    )
    assert response.status_code == 200
    assert "<html" not in response.text
    assert "Governance" in response.text


def test_paging_links(client: TestClient, session: Session) -> None:
    for i in range(25):
        make_page(session, slug=f"z-{i}", title=f"Zeppelin {i}", body="airship\n")
    _indexed(client)
    first = client.get("/search", params={"q": "airship"}).text
    assert "page 1 of 2" in first
    assert "page=2" in first
    second = client.get("/search", params={"q": "airship", "page": 2}).text
    assert "page 2 of 2" in second
    assert client.get("/search", params={"q": "airship", "page": 999}).status_code == 422


def test_dropdown_fragment_lists_top_titles(wiki: TestClient) -> None:
    response = wiki.get("/search/suggest", params={"q": "gov"}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "<html" not in response.text
    assert 'href="/wiki/governance"' in response.text
    assert "All results for" in response.text
    assert wiki.get("/search/suggest", params={"q": ""}).text.strip() == ""
    # the word being typed is a prefix, even a short one
    assert (
        "/wiki/core-processes/order-to-cash"
        in wiki.get("/search/suggest", params={"q": "order ca"}).text
    )


def test_header_box_is_wired_for_search_as_you_type(wiki: TestClient) -> None:
    html = wiki.get("/wiki/governance").text
    assert 'hx-get="/search/suggest"' in html
    assert 'id="search-dropdown"' in html


def test_api_search(wiki: TestClient) -> None:
    response = wiki.get("/api/v1/search", params={"q": "invoices tag:finance"})
    assert response.status_code == 200
    data = response.json()
    assert data["total"] == 1
    hit = data["hits"][0]
    assert hit["title"] == "Order to Cash"
    assert hit["url"] == "/wiki/core-processes/order-to-cash"
    assert "<mark>" in hit["snippet_html"]
    assert hit["breadcrumbs"] == [{"slug": "core-processes", "title": "Core processes"}]
    assert data["facets"]["tag"] == [{"value": "finance", "count": 1}]
    assert wiki.get("/api/v1/search", params={"q": "x", "per_page": 500}).status_code == 422
    assert wiki.get("/api/v1/search").status_code == 422


@pytest.fixture
def private_client(tmp_path: Path, migrated_template: Path) -> Iterator[TestClient]:
    import shutil

    data = tmp_path / "private"
    data.mkdir()
    shutil.copy(migrated_template, data / "atrium.sqlite3")
    settings = Settings(data_dir=data, secret_key="test-secret", public_read=False)
    with TestClient(create_app(settings)) as c:
        yield c


def test_private_wiki_needs_sign_in_to_search(private_client: TestClient) -> None:
    from app.core.db import open_session

    app = private_client.app
    with open_session(app.state.engine, app.state.settings) as session:  # type: ignore[attr-defined]
        make_user(session, username="alice", role=Role.reader)
        make_page(session, slug="secret", title="Secret", body="classified plans\n")
    _indexed(private_client)
    response = private_client.get("/api/v1/search", params={"q": "classified"})
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")
    assert private_client.get("/search", params={"q": "classified"}).status_code == 401
    login(private_client)
    assert private_client.get("/api/v1/search", params={"q": "classified"}).json()["total"] == 1
