"""Pages in a restricted subtree, and the threads and comments on them, are found only by those
who may read the subtree: not in results, counts, facets, "did you mean" or the quick search.

Run against Whoosh and, with ATRIUM_TEST_DATABASE_URL, PostgreSQL (see conftest.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlmodel import Session

from app.access import service as access
from app.access.models import Restriction
from app.accounts.models import Role, User
from app.discussions import service as discussions
from app.discussions.schemas import CommentCreate, ThreadCreate
from app.search import service
from app.search.indexer import Indexer
from tests.factories import make_page, make_user
from tests.restricted import lift, restrict
from tests.unit.search.conftest import Find, titles


@dataclass
class World:
    member: User
    outsider: User
    admin: User
    thread_id: int


@pytest.fixture
def world(session: Session) -> World:
    member = make_user(session, username="hanna", role=Role.reader)
    outsider = make_user(session, username="otto", role=Role.editor)
    admin = make_user(session, username="root", role=Role.admin)
    make_page(session, slug="handbook", title="Handbook", body="Holidays and expenses.")
    make_page(
        session,
        slug="hr",
        title="People team",
        body="## Remuneration\n\nHow we pay.",
        tags=["payroll"],
    )
    make_page(
        session,
        slug="hr/salary-bands",
        title="Salary bands",
        body="## Remuneration\n\nBand three tops at 90k.",
        tags=["payroll"],
    )
    thread = discussions.open_thread(
        session=session,
        slug="hr/salary-bands",
        data=ThreadCreate(title="Bonus pool", body="Is the remuneration bonus pool quarterly?"),
        author=admin,
    )
    discussions.reply(
        session=session,
        thread_id=thread.id or 0,
        data=CommentCreate(body="Quarterly, with remuneration reviewed each March."),
        author=admin,
    )
    return World(member=member, outsider=outsider, admin=admin, thread_id=thread.id or 0)


def kinds(find: Find, q: str, user: User | None) -> list[tuple[str, str]]:
    return sorted((h.kind, h.title) for h in find(q, user=user).hits)


EVERYTHING = [
    ("comment", "Bonus pool"),
    ("comment", "Bonus pool"),
    ("page", "People team"),
    ("page", "Salary bands"),
    ("thread", "Bonus pool"),
]


def test_restricted_pages_threads_and_comments_are_found_only_by_readers(
    session: Session, find: Find, world: World
) -> None:
    assert kinds(find, "remuneration", world.outsider) == EVERYTHING
    restrict(session, "hr", readers=[world.member])

    for who in (world.outsider, None):
        found = find("remuneration", user=who)
        assert found.hits == []
        assert found.total == 0
        assert all(f.value != "payroll" for f in found.facets.get("tag", []))
        assert sum(f.count for f in found.facets.get("kind", [])) == 0
        assert find("tag:payroll", user=who).total == 0
        assert find("in:hr", user=who).total == 0
        assert find("bonus kind:thread", user=who).total == 0
    for who in (world.member, world.admin):
        assert kinds(find, "remuneration", who) == EVERYTHING
        found = find("remuneration", user=who)
        assert found.total == 5
        assert {f.value: f.count for f in found.facets["tag"]} == {"payroll": 2}
        assert {f.value: f.count for f in found.facets["kind"]} == {
            "page": 2,
            "thread": 1,
            "comment": 2,
        }


def test_facets_count_only_readable_documents(session: Session, find: Find, world: World) -> None:
    make_page(session, slug="pay-policy", title="Pay policy", body="Remuneration is public.")
    restrict(session, "hr", readers=[world.member])
    found = find("remuneration", user=world.outsider)
    assert titles(found) == ["Pay policy"]
    assert found.total == 1
    assert {f.value: f.count for f in found.facets["kind"]} == {"page": 1}
    assert found.facets["tag"] == []
    assert {f.value for f in found.facets["author"]} <= {"system"}
    assert find("remuneration", user=world.member).total == 6


def test_did_you_mean_never_suggests_a_hidden_word(
    session: Session, find: Find, world: World
) -> None:
    restrict(session, "hr", readers=[world.member])
    assert find("salray", user=world.member).suggestion == "salary"
    assert find("salray", user=world.admin).suggestion == "salary"
    for who in (world.outsider, None):
        found = find("salray", user=who)
        assert found.suggestion is None
        assert found.total == 0
    # a word that only hidden documents hold counts as unknown, and is not corrected into one
    assert find("bands", user=world.outsider).suggestion is None


def test_quick_search_leaves_out_restricted_titles(
    session: Session, find: Find, world: World
) -> None:
    restrict(session, "hr", readers=[world.member])
    find("anything")  # drain the outbox

    def quick(user: User | None) -> list[str]:
        return titles(service.quick_search(session=session, user=user, q="sal"))

    assert quick(world.outsider) == []
    assert quick(None) == []
    assert quick(world.member) == ["Salary bands"]
    assert quick(world.admin) == ["Salary bands"]


def test_lifting_a_restriction_makes_everything_findable_again(
    session: Session, find: Find, world: World
) -> None:
    restrict(session, "hr/salary-bands", readers=[world.member])
    assert kinds(find, "remuneration", world.outsider) == [("page", "People team")]
    lift(session, "hr/salary-bands")
    assert kinds(find, "remuneration", world.outsider) == EVERYTHING
    assert find("salray", user=world.outsider).suggestion == "salary"


def test_nested_restrictions_need_a_grant_under_each(
    session: Session, find: Find, world: World
) -> None:
    inner = make_user(session, username="ines", role=Role.reader)
    restrict(session, "hr", readers=[world.member, inner], group="people")
    restrict(session, "hr/salary-bands", readers=[inner], group="pay")
    assert kinds(find, "remuneration", world.member) == [("page", "People team")]
    assert kinds(find, "remuneration", inner) == EVERYTHING
    assert kinds(find, "remuneration", world.outsider) == []


def test_reconciling_applies_a_restriction_added_while_the_indexer_was_down(
    session: Session, find: Find, indexer: Indexer, world: World
) -> None:
    assert find("remuneration", user=world.outsider).total == 5
    # the restriction row alone, as if its re-indexing never reached the index
    session.add(Restriction(root="hr"))
    session.commit()
    access.forget(session)
    indexer.drain()  # nothing queued for the pages: the stale scope is still in the index
    assert indexer.reconcile() == 5
    assert find("remuneration", user=world.outsider).total == 0
    assert indexer.reconcile() == 0
    assert find("remuneration", user=world.admin).total == 5


def test_a_proposal_to_change_a_restricted_page_takes_its_scope(
    session: Session, find: Find, world: World
) -> None:
    from app.proposals import service as proposals
    from app.proposals.models import ProposalSource
    from app.proposals.schemas import ChangeCreate, ProposalCreate

    editor = make_user(session, username="edna", role=Role.editor)
    proposals.create_proposal(
        session=session,
        data=ProposalCreate(
            title="Fourth remuneration band",
            source=ProposalSource.page_edit,
            changes=[ChangeCreate(slug="hr/salary-bands", base=1, body="Band four.\n")],
        ),
        author=editor,
    )
    assert find("fourth kind:proposal", user=world.outsider).total == 1
    restrict(session, "hr", readers=[world.member])
    assert find("fourth kind:proposal", user=world.outsider).total == 0
    assert find("fourth kind:proposal", user=None).total == 0
    assert find("fourth kind:proposal", user=world.member).total == 1
    assert find("fourth kind:proposal", user=world.admin).total == 1
    lift(session, "hr")
    assert find("fourth kind:proposal", user=world.outsider).total == 1


def test_a_restriction_on_the_longest_address_still_scopes(
    session: Session, find: Find, world: World
) -> None:
    root = "hr/" + "-".join(["archive"] * 31)  # 250 characters: its scope is longer than that
    make_page(session, slug=root, title="Old remuneration", body="Archived remuneration.\n")
    restrict(session, root, readers=[world.member], group="archive")
    assert find("archived", user=world.outsider).total == 0
    assert find("archived", user=world.member).total == 1
