"""Sections: splitting markdown at headings, splicing a section back, saving one as a revision."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from app.accounts.models import Role, User
from app.core.errors import Conflict, Forbidden, NotFound, Unauthorized
from app.pages import rendering, section_service, sections, service
from app.pages.schemas import PageEdit
from tests.factories import make_page, make_user


def _titles(body: str) -> list[tuple[int, int, str]]:
    return [(s.index, s.level, s.title) for s in sections.split(body)]


# --- splitting ------------------------------------------------------------------------------


def test_atx_headings_with_nested_levels_and_closing_hashes() -> None:
    body = "# Top\n\nintro\n\n## One ##\n\none\n\n### Deep\n\ndeep\n\n## Two\n\ntwo\n"
    found = sections.split(body)
    assert [(s.index, s.level, s.title) for s in found] == [
        (1, 1, "Top"),
        (2, 2, "One"),
        (3, 3, "Deep"),
        (4, 2, "Two"),
    ]
    # a section runs to the next heading of the same or a higher level: One holds Deep
    assert found[1].source(body) == "## One ##\n\none\n\n### Deep\n\ndeep\n\n"
    assert found[2].source(body) == "### Deep\n\ndeep\n\n"
    assert found[3].source(body) == "## Two\n\ntwo\n"
    assert found[0].source(body) == body


def test_heading_without_space_and_seven_hashes_follow_the_renderer() -> None:
    assert _titles("#One\ntext\n####### seven\n") == [(1, 1, "One"), (2, 6, "# seven")]


def test_setext_headings_only_at_the_start_of_a_block() -> None:
    body = "Title\n=====\n\nSub\n---\n\npara\nline\n---\n"
    assert _titles(body) == [(1, 1, "Title"), (2, 2, "Sub")]
    # right after a heading or a rule a new block starts, so these are setext headings too
    assert _titles("# H\nText\n---\n") == [(1, 1, "H"), (2, 2, "Text")]
    assert _titles("a\n***\nText\n---\n") == [(0, 0, ""), (1, 2, "Text")]
    assert _titles("a\nb\n---\n") == [(0, 0, "")]  # a rule under a paragraph


@pytest.mark.parametrize("fence", ["```", "~~~", "````"])
def test_hashes_inside_fenced_code_are_not_headings(fence: str) -> None:
    body = f"# A\n\n{fence}python\n# a comment\n## another\n{fence}\n\n## B\n\ntext\n"
    found = sections.split(body)
    assert [s.title for s in found] == ["A", "B"]
    assert "# a comment" in found[0].source(body)


def test_a_longer_fence_holds_a_shorter_one() -> None:
    body = "# A\n\n````\n```\n# nope\n```\n````\n\n## B\n"
    assert [s.title for s in sections.split(body)] == ["A", "B"]


def test_tilde_fence_is_not_closed_by_backticks() -> None:
    body = "~~~\n# in code\n```\n# still code\n~~~\n# after\n"
    assert [(s.index, s.title) for s in sections.split(body)] == [(0, ""), (1, "after")]


def test_an_unclosed_fence_is_text_as_in_the_renderer() -> None:
    assert [s.title for s in sections.split("# A\n\n```\n# B\n")] == ["A", "B"]


def test_quoted_indented_and_admonition_headings_are_not_sections() -> None:
    body = "# A\n\n> # quoted\n\n    # code\n\n!!! note\n    ## inside\n\n## B\n"
    assert [s.title for s in sections.split(body)] == ["A", "B"]


def test_page_without_headings_is_only_its_lead() -> None:
    body = "Just a paragraph.\n\nAnd another.\n"
    found = sections.split(body)
    assert [(s.index, s.level, s.title) for s in found] == [(0, 0, "")]
    assert found[0].source(body) == body
    assert sections.split("") == []
    assert sections.split("\n\n") == []


def test_text_before_the_first_heading_is_section_zero() -> None:
    body = "Lead text.\n\n## First\n\nx\n"
    found = sections.split(body)
    assert [(s.index, s.title) for s in found] == [(0, ""), (1, "First")]
    assert found[0].source(body) == "Lead text.\n\n"
    assert sections.find(found, 0) == found[0]
    assert sections.find(found, 2) is None
    # blank text before the first heading is no section
    assert [s.index for s in sections.split("\n\n## First\n")] == [1]


def test_splitting_agrees_with_the_renderer() -> None:
    body = (
        "Lead\n\n# One\n\n```\n# code\n```\n\n## Two ##\n\nTitle\n---\n\n> ## quoted\n\n"
        "### See [[Order to Cash|O2C]] and `code`\n\n#### Dup\n\n#### Dup\n"
    )
    html = rendering.render_plain(body).html
    found = sections.split(body)
    anchors = sections.anchors(found, html)
    assert [s.title for s in found if s.index] == [
        "One",
        "Two",
        "Title",
        "See [[Order to Cash|O2C]] and `code`",
        "Dup",
        "Dup",
    ]
    assert anchors == {
        1: "h-one",
        2: "h-two",
        3: "h-title",
        4: "h-see-o2c-and-code",
        5: "h-dup",
        6: "h-dup_1",
    }


def test_headings_the_renderer_keeps_as_html_get_no_anchor() -> None:
    body = "<div>\n# in html\n</div>\n\n# real\n"
    found = sections.split(body)
    # the scan cannot see raw HTML: it counts two headings where the page shows one, and
    # the mismatch leaves the section unpaired rather than pointing at the wrong heading
    assert [s.title for s in found if s.index] == ["in html", "real"]
    assert sections.anchors(found, rendering.render_plain(body).html) == {}


# --- splicing -------------------------------------------------------------------------------

BODY = "Lead.\n\n## Alpha\n\nalpha text\n\n## Beta\n\nbeta text\n\n### Beta child\n\nchild\n"


def test_splice_replaces_only_the_section() -> None:
    beta = sections.find(sections.split(BODY), 2)
    assert beta is not None
    out = sections.splice(BODY, beta, "## Beta\n\nnew beta\n")
    assert out == "Lead.\n\n## Alpha\n\nalpha text\n\n## Beta\n\nnew beta\n"


def test_splice_keeps_the_following_heading_on_its_own_line() -> None:
    alpha = sections.find(sections.split(BODY), 1)
    assert alpha is not None
    out = sections.splice(BODY, alpha, "## Alpha\n\nchanged")  # a textarea may drop the "\n"
    assert "changed\n\n## Beta\n" in out
    assert [s.title for s in sections.split(out)] == ["", "Alpha", "Beta", "Beta child"]


def test_splice_before_a_setext_heading_keeps_the_blank_line() -> None:
    body = "## A\n\ntext\n\nNext\n----\n\nmore\n"
    a = sections.find(sections.split(body), 1)
    assert a is not None
    out = sections.splice(body, a, "## A\n\nnew text")
    assert [s.title for s in sections.split(out)] == ["A", "Next"]


def test_splice_with_empty_text_removes_the_section() -> None:
    found = sections.split(BODY)
    alpha = sections.find(found, 1)
    assert alpha is not None
    assert sections.splice(BODY, alpha, "") == BODY.replace("## Alpha\n\nalpha text\n\n", "")


def test_splice_normalises_crlf_and_the_lead_can_be_replaced() -> None:
    lead = sections.find(sections.split(BODY), 0)
    assert lead is not None
    out = sections.splice(BODY, lead, "New lead.\r\n")
    assert out.startswith("New lead.\n\n## Alpha\n")


def test_link_headings_adds_links_only_where_sections_pair_up() -> None:
    body = "Lead\n\n## A\n\n> ## quoted\n\n## B\n"
    html = rendering.render_plain(body).html
    out = sections.link_headings(
        html, sections.split(body), lambda s, h: f'<a data-n="{s.index}" data-id="{h.anchor}"></a>'
    )
    assert '<h2 id="h-a">A<a data-n="1" data-id="h-a"></a></h2>' in out
    assert '<h2 id="h-b">B<a data-n="2" data-id="h-b"></a></h2>' in out
    assert out.count("data-n=") == 2  # nothing inside the quote


# --- saving a section -------------------------------------------------------------------------

PAGE = "## Intro\n\nline one\n\n## Middle\n\nline two\n\n## End\n\nline three\n"


def _save(
    session: Session, author: User | None, index: int, heading: str, base: int, text: str
) -> section_service.SectionSaved:
    return section_service.save_section(
        session=session,
        slug="core-processes/requirement-to-value",
        index=index,
        heading=heading,
        base=base,
        text=text,
        author=author,
    )


def test_saving_a_section_makes_a_revision_of_the_whole_page(
    session: Session, editor: User
) -> None:
    page = make_page(session, body=PAGE, author=editor, tags=["core"])
    saved = _save(session, editor, 2, "Middle", 1, "## Middle\n\nline two, edited\n")
    assert saved.result.revision is not None
    assert saved.result.revision.number == 2
    assert saved.result.revision.body == PAGE.replace("line two", "line two, edited")
    assert saved.result.revision.title == page.title
    assert saved.result.revision.tags == ["core"]
    assert saved.anchor == "h-middle"
    assert not saved.result.merged


def test_concurrent_edits_to_two_sections_merge(session: Session, editor: User) -> None:
    bob = make_user(session, username="bob")
    make_page(session, body=PAGE, author=editor)
    _save(session, bob, 1, "Intro", 1, "## Intro\n\nbob's intro\n\n")
    # alice opened the End section at revision 1, before bob saved
    saved = _save(session, editor, 3, "End", 1, "## End\n\nalice's end\n")
    assert saved.result.merged
    assert saved.result.revision is not None
    assert saved.result.revision.number == 3
    body = saved.result.revision.body
    assert "bob's intro" in body
    assert "alice's end" in body
    assert "line two" in body
    assert "line one" not in body
    assert "line three" not in body
    assert saved.anchor == "h-end"


def test_section_save_splices_into_the_base_revision_not_the_current_one(
    session: Session, editor: User
) -> None:
    bob = make_user(session, username="bob")
    make_page(session, body=PAGE, author=editor)
    # bob adds a section before Middle: Middle is section 3 now, but still 2 at revision 1
    added = PAGE.replace("## Middle", "## Added\n\nnew section\n\n## Middle")
    service.save_page(
        session=session,
        slug="core-processes/requirement-to-value",
        edit=PageEdit(base=1, title="Requirement to Value", body=added),
        author=bob,
    )
    saved = _save(session, editor, 2, "Middle", 1, "## Middle\n\nalice's two\n")
    assert saved.result.revision is not None
    body = saved.result.revision.body
    assert "## Added\n\nnew section\n\n## Middle\n\nalice's two\n" in body
    assert body.count("## Middle") == 1
    assert saved.anchor == "h-middle"


def test_overlapping_section_edits_conflict_and_write_nothing(
    session: Session, editor: User
) -> None:
    bob = make_user(session, username="bob")
    page = make_page(session, body=PAGE, author=editor)
    _save(session, bob, 2, "Middle", 1, "## Middle\n\nbob's two\n\n")
    with pytest.raises(service.EditConflict) as caught:
        _save(session, editor, 2, "Middle", 1, "## Middle\n\nalice's two\n\n")
    detail = caught.value.conflict
    assert (detail.base, detail.current) == (1, 2)
    assert "bob's two" in detail.their_body
    assert "alice's two" not in detail.their_body
    # "your" text is the whole page with alice's section spliced in
    assert detail.your_body == PAGE.replace("line two", "alice's two")
    assert "<<<<<<<" in detail.proposal
    session.expire_all()
    assert service.get_page(session=session, slug=page.slug, user=editor).head == 2
    # her text is kept as a draft of the whole page
    draft = service.find_draft(session=session, slug=page.slug, user=editor)
    assert draft is not None
    assert "alice's two" in draft.body
    assert "## Intro" in draft.body


def test_a_section_that_no_longer_exists_is_refused(session: Session, editor: User) -> None:
    page = make_page(session, body=PAGE, author=editor)
    with pytest.raises(NotFound, match="no section 7"):
        _save(session, editor, 7, "Gone", 1, "## Gone\n\ntext\n")
    with pytest.raises(NotFound, match="text before the first heading"):
        _save(session, editor, 0, "", 1, "lead\n")
    with pytest.raises(NotFound, match="no revision 5"):
        _save(session, editor, 1, "Intro", 5, "## Intro\n")
    session.expire_all()
    assert service.get_page(session=session, slug=page.slug, user=editor).head == 1


def test_a_section_whose_heading_changed_is_refused(session: Session, editor: User) -> None:
    page = make_page(session, body=PAGE, author=editor)
    with pytest.raises(Conflict, match="now “Middle”, not “Intro”"):
        _save(session, editor, 2, "Intro", 1, "## Intro\n\nx\n")
    session.expire_all()
    assert service.get_page(session=session, slug=page.slug, user=editor).head == 1


def test_only_editors_save_sections(session: Session, editor: User) -> None:
    make_page(session, body=PAGE, author=editor)
    reader = make_user(session, username="rita", role=Role.reader)
    with pytest.raises(Forbidden):
        _save(session, reader, 1, "Intro", 1, "## Intro\n\nx\n")
    with pytest.raises(Unauthorized):
        _save(session, None, 1, "Intro", 1, "## Intro\n\nx\n")


def test_list_and_get_sections(session: Session, editor: User) -> None:
    make_page(session, body="Lead.\n\n" + PAGE, author=editor)
    page, revision, infos = section_service.list_sections(
        session=session, slug="core-processes/requirement-to-value", user=None
    )
    assert revision.number == 1
    assert [(i.section.index, i.section.title, i.anchor) for i in infos] == [
        (0, "", ""),
        (1, "Intro", "h-intro"),
        (2, "Middle", "h-middle"),
        (3, "End", "h-end"),
    ]
    assert infos[2].source == "## Middle\n\nline two\n\n"
    draft = section_service.get_section(
        session=session, slug=page.slug, index=3, heading="End", user=editor
    )
    assert draft.info.source == "## End\n\nline three\n"
    assert draft.info.anchor == "h-end"


def test_a_section_draft_is_a_draft_of_the_whole_page(session: Session, editor: User) -> None:
    page = make_page(session, body=PAGE, author=editor)
    section_service.save_section_draft(
        session=session,
        slug=page.slug,
        index=3,
        heading="End",
        base=1,
        text="## End\n\nunfinished\n",
        user=editor,
    )
    draft = service.find_draft(session=session, slug=page.slug, user=editor)
    assert draft is not None
    assert draft.base == 1
    assert draft.body == PAGE.replace("line three", "unfinished")


def test_the_text_before_the_first_heading_is_saved_as_section_zero(
    session: Session, editor: User
) -> None:
    page = make_page(session, body="Old lead.\n\n" + PAGE, author=editor)
    saved = _save(session, editor, 0, "", 1, "New lead,\nin two lines.\n")
    assert saved.result.revision is not None
    assert saved.result.revision.body == "New lead,\nin two lines.\n\n" + PAGE
    assert saved.anchor == ""
    assert service.get_page(session=session, slug=page.slug, user=editor).head == 2


def test_indented_code_ends_at_its_first_unindented_line() -> None:
    # the renderer makes the indented line code and starts a new block after it
    assert _titles("    code\nText\n---\n") == [(0, 0, ""), (1, 2, "Text")]
    # a fence in a block that began as indented code is text (superfences puts it back)
    assert _titles("    code\n```\n# shown\n```\n") == [(0, 0, ""), (1, 1, "shown")]
