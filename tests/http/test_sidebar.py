"""The sidebar's page tree stays short on a large wiki and always shows where the reader is."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlmodel import Session

from app.pages.routes import SIDEBAR_WINDOW
from tests.factories import make_page


def _sidebar(html: str) -> str:
    start = html.index('aria-label="Page tree"')
    return html[start : html.index("</aside>", start)]


def test_a_long_level_shows_a_window_around_the_current_page(
    client: TestClient, session: Session
) -> None:
    total = SIDEBAR_WINDOW + 30
    for i in range(total):
        make_page(session, slug=f"big/p-{i:03d}", title=f"Page {i:03d}", body="text\n")
    tree = _sidebar(client.get("/wiki/big/p-035").text)
    assert 'aria-current="page">Page 035</a>' in tree
    shown = re.findall(r">Page (\d{3})</a>", tree)
    assert len(shown) == SIDEBAR_WINDOW
    assert shown == sorted(shown)
    before, after = (int(n.replace(",", "")) for n in re.findall(r"([\d,]+) more pages?…", tree))
    assert before + after + len(shown) == total
    assert tree.count('href="/special/tree?prefix=big"') == 2
    # at the start of the level there is nothing before it
    first = _sidebar(client.get("/wiki/big/p-000").text)
    assert re.findall(r">Page (\d{3})</a>", first)[0] == "000"
    assert len(re.findall(r"more pages?…", first)) == 1
    # the whole level is one click away
    level = client.get("/special/tree?prefix=big").text
    assert len(re.findall(r">Page \d{3}</a>", level)) == total


def test_a_short_level_is_shown_whole(client: TestClient, session: Session) -> None:
    for i in range(5):
        make_page(session, slug=f"small/p-{i}", title=f"Small {i}", body="text\n")
    tree = _sidebar(client.get("/wiki/small/p-2").text)
    assert len(re.findall(r">Small \d</a>", tree)) == 5
    assert "more page" not in tree
