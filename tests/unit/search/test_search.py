"""Searching through the service on both backends: operators, filters, ranking, snippets,
facets, paging, "did you mean" and permissions."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import timedelta

import pytest
from sqlmodel import Session

from app.accounts.models import Role
from app.core.config import Settings
from app.core.errors import Unauthorized
from app.core.time import utcnow
from app.search import service, sources
from app.search.documents import SearchDocument
from app.search.indexer import Indexer
from tests.factories import make_page, make_user
from tests.unit.search.conftest import Find, titles

R2V = (
    "## Purpose\n\nTurn demand into value through governance and portfolio steering.\n\n"
    "## Steps\n\nThe business relationship manager triages every request weekly.\n"
)
O2C = (
    "## Invoicing\n\nWe send invoices monthly and chase overdue payments.\n\n"
    "## Controls\n\nFinance reviews the ledger. See [[Requirement to Value]].\n"
)


@pytest.fixture
def wiki(session: Session) -> None:
    alice = make_user(session, username="alice", role=Role.editor)
    bob = make_user(session, username="bob", role=Role.editor)
    make_page(
        session,
        slug="core-processes/requirement-to-value",
        title="Requirement to Value",
        body=R2V,
        tags=["process", "demand"],
        author=alice,
    )
    make_page(
        session,
        slug="core-processes/order-to-cash",
        title="Order to Cash",
        body=O2C,
        tags=["process", "finance"],
        author=bob,
    )
    make_page(
        session,
        slug="governance",
        title="Governance",
        body="The board meets quarterly.\n",
        tags=["board"],
        author=alice,
    )


pytestmark = pytest.mark.usefixtures("wiki")


def test_all_words_must_match(find: Find) -> None:
    assert titles(find("invoices monthly")) == ["Order to Cash"]
    assert titles(find("invoices quarterly")) == []


def test_stemming_and_prefixes(find: Find) -> None:
    assert titles(find("invoice")) == ["Order to Cash"]  # invoices, invoicing
    assert titles(find("triaged")) == ["Requirement to Value"]  # stem of "triages"
    assert titles(find("invoi")) == ["Order to Cash"]  # a prefix of a longer word
    assert titles(find("gov*")) == ["Governance", "Requirement to Value"]


def test_phrases(find: Find) -> None:
    assert titles(find('"send invoices"')) == ["Order to Cash"]
    assert titles(find('"invoices send"')) == []


def test_or_not_and_minus(find: Find) -> None:
    assert sorted(titles(find("ledger OR quarterly"))) == ["Governance", "Order to Cash"]
    assert titles(find("process -finance")) == ["Requirement to Value"]
    assert titles(find("process NOT finance")) == ["Requirement to Value"]
    assert titles(find('process -"send invoices"')) == ["Requirement to Value"]


def test_field_filters(find: Find) -> None:
    assert titles(find("title:governance")) == ["Governance"]
    assert titles(find("tag:finance")) == ["Order to Cash"]
    assert sorted(titles(find("author:alice"))) == ["Governance", "Requirement to Value"]
    assert len(find("kind:page").hits) == 3
    assert titles(find("kind:comment")) == []
    assert sorted(titles(find("in:core-processes"))) == ["Order to Cash", "Requirement to Value"]
    assert titles(find("in:core")) == []  # a subtree, not a string prefix
    assert titles(find("status:open")) == []


def test_date_filters(find: Find) -> None:
    today = utcnow().date()
    assert len(find(f"updated:>={today.isoformat()}").hits) == 3
    assert len(find(f"updated:>{today.isoformat()}").hits) == 0
    assert len(find(f"updated:<{today.isoformat()}").hits) == 0
    last_year = (today - timedelta(days=400)).isoformat()
    assert len(find(f"updated:{last_year}..{today.isoformat()}").hits) == 3


@pytest.mark.parametrize("text", ['"unbalanced', "NOT", "OR AND", "tag:", "-", "((", "a:b:c"])
def test_broken_syntax_never_errors(find: Find, text: str) -> None:
    results = find(text)
    assert results.total >= 0


def test_title_match_ranks_above_body_match(find: Find, session: Session) -> None:
    make_page(session, slug="ledger", title="Ledger", body="A short page.\n")
    make_page(
        session,
        slug="notes",
        title="Notes",
        body="ledger ledger ledger: the ledger is reconciled and the ledger closes.\n",
    )
    assert titles(find("ledger"))[0] == "Ledger"


def test_gentle_boost_never_lifts_weak_over_strong(find: Find, session: Session) -> None:
    # many pages link to "Weak", which only mentions the word in its body
    make_page(session, slug="strong", title="Capacity", body="Planning.\n")
    make_page(session, slug="weak", title="Weak", body="Some capacity remark.\n")
    for i in range(5):
        make_page(session, slug=f"linker-{i}", title=f"Linker {i}", body="[[Weak]]\n")
    assert titles(find("capacity"))[:2] == ["Capacity", "Weak"]


def test_snippets_are_highlighted_and_escaped(find: Find, session: Session) -> None:
    make_page(
        session,
        slug="xss",
        title="Tricky <b>title</b>",
        body="Inline `<script>alert('zebra')</script>` and <img src=x onerror=alert(1)> zebra.\n",
    )
    hit = find("zebra").hits[0]
    html = str(hit.snippet)
    assert "<mark>zebra</mark>" in html.lower()
    assert "<script" not in html
    assert "<img" not in html
    # shown as text (Whoosh) or dropped (ts_headline skips tags), never run
    assert "&lt;script&gt;" in html or "script" not in html
    assert "<b>" not in str(find("tricky").hits[0].title_html)


def test_results_show_breadcrumbs_authors_tags(find: Find) -> None:
    hit = find("invoices").hits[0]
    assert hit.url == "/wiki/core-processes/order-to-cash"
    assert hit.crumbs == (("core-processes", "Core processes"),)
    assert hit.authors == ("bob",)
    assert set(hit.tags) == {"process", "finance"}
    assert hit.kind == "page"


def test_facets_count_kind_tag_and_author(find: Find) -> None:
    results = find("process")
    facets = {name: {f.value: f.count for f in values} for name, values in results.facets.items()}
    assert facets["kind"] == {"page": 2}
    assert facets["tag"]["process"] == 2
    assert facets["tag"]["finance"] == 1
    assert facets["author"] == {"alice": 1, "bob": 1}


def test_paging(find: Find, session: Session) -> None:
    for i in range(7):
        make_page(session, slug=f"pager-{i}", title=f"Pager {i}", body="zeppelin\n")
    first = find("zeppelin", per_page=3)
    assert first.total == 7
    assert first.pages == 3
    assert len(first.hits) == 3
    second = find("zeppelin", per_page=3, page=3)
    assert len(second.hits) == 1
    seen = {h.title for p in (1, 2, 3) for h in find("zeppelin", per_page=3, page=p).hits}
    assert len(seen) == 7


def test_did_you_mean(find: Find) -> None:
    results = find("governanse")
    assert results.total == 0
    assert results.suggestion == "governance"


def test_deleted_pages_leave_the_index(find: Find, session: Session) -> None:
    from app.accounts import service as accounts
    from app.pages import service as pages

    assert titles(find("quarterly")) == ["Governance"]
    pages.delete_page(session=session, slug="governance", author=accounts.system_actor())
    assert titles(find("quarterly")) == []
    pages.undelete_page(session=session, slug="governance", author=accounts.system_actor())
    assert titles(find("quarterly")) == ["Governance"]


def test_moved_pages_are_found_at_their_new_address(find: Find, session: Session) -> None:
    from app.accounts import service as accounts
    from app.pages import service as pages

    pages.move_page(
        session=session,
        slug="governance",
        new_slug="org/governance",
        author=accounts.system_actor(),
    )
    hit = find("quarterly").hits[0]
    assert hit.url == "/wiki/org/governance"
    assert titles(find("in:org")) == ["Governance"]


# --- permissions --------------------------------------------------------------------------------


def test_anonymous_cannot_search_a_private_wiki(
    find: Find, session: Session, settings: Settings
) -> None:
    find("quarterly")  # indexed
    session.info["settings"] = settings.model_copy(update={"public_read": False})
    with pytest.raises(Unauthorized):
        service.search(session=session, user=None, q="quarterly")
    reader = make_user(session, username="rita", role=Role.reader)
    assert titles(service.search(session=session, user=reader, q="quarterly")) == ["Governance"]


@pytest.fixture
def notes_source() -> Iterator[dict[int, SearchDocument]]:
    """A test-only kind with a restricted scope, registered like any domain would."""
    store: dict[int, SearchDocument] = {}

    def load(_session: Session, ids: Sequence[int]) -> list[SearchDocument]:
        return [store[i] for i in ids if i in store]

    def versions(_session: Session) -> dict[int, str]:
        return {i: d.version for i, d in store.items()}

    def scopes(_session: Session, user: object) -> frozenset[str]:
        admin = getattr(user, "role", None) == Role.admin
        return frozenset({"", "hr"}) if admin else frozenset({""})

    sources.register("note", load=load, versions=versions, scopes=scopes)
    yield store
    sources._SOURCES.pop("note", None)


def test_restricted_documents_are_never_revealed(
    find: Find, session: Session, notes_source: dict[int, SearchDocument]
) -> None:
    now = utcnow()
    for i, scope in ((1, ""), (2, "hr")):
        notes_source[i] = SearchDocument(
            kind="note",
            ref_id=i,
            title=f"Salary note {i}",
            body="salary bands",
            url=f"/notes/{i}",
            updated=now,
            version="1",
            scope=scope,
            tags=("secret",) if scope else (),
        )
        service.enqueue(session=session, kind="note", ref_id=i)
    session.commit()
    admin = make_user(session, username="root", role=Role.admin)
    anonymous = find("salary")
    assert titles(anonymous) == ["Salary note 1"]
    assert anonymous.total == 1
    # facets count only what the user may read
    assert "secret" not in {f.value for f in anonymous.facets["tag"]}
    assert sorted(titles(find("salary", user=admin))) == ["Salary note 1", "Salary note 2"]
    assert titles(find("tag:secret")) == []
    # the document disappears from the index when its source no longer returns it
    del notes_source[2]
    service.enqueue(session=session, kind="note", ref_id=2)
    session.commit()
    assert titles(find("salary", user=admin)) == ["Salary note 1"]


def test_unregistered_kinds_wait_in_the_outbox(session: Session, indexer: Indexer) -> None:
    service.enqueue(session=session, kind="no-such-kind", ref_id=1)
    session.commit()
    indexer.drain()
    assert service.pending_changes(session=session) >= 1
