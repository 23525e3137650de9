"""The query language parser: every operator and filter, and broken syntax that never fails."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.search.query import (
    AnyOf,
    DateRange,
    Match,
    Not,
    Phrase,
    Word,
    parse,
    parse_dates,
    with_filter,
    without_filter,
)


def test_words_are_anded_and_lowercased() -> None:
    assert parse("Order Cash").clauses == (Word("order"), Word("cash"))


def test_phrases_and_punctuated_words() -> None:
    assert parse('"order to cash"').clauses == (Phrase(("order", "to", "cash")),)
    assert parse("order-to-cash").clauses == (Phrase(("order", "to", "cash")),)


def test_or_and_not_and_minus() -> None:
    assert parse("a1 OR b2 c3").clauses == (AnyOf((Word("a1"), Word("b2"))), Word("c3"))
    assert parse("x1 AND y2").clauses == (Word("x1"), Word("y2"))
    assert parse("x1 NOT y2").clauses == (Word("x1"), Not(Word("y2")))
    assert parse('x1 -y2 -"z3 z4"').clauses == (
        Word("x1"),
        Not(Word("y2")),
        Not(Phrase(("z3", "z4"))),
    )
    # lower-case operators are ordinary words
    assert parse("cats or dogs").clauses == (Word("cats"), Word("dogs"))


def test_prefix() -> None:
    assert parse("gov*").clauses == (Word("gov", prefix=True),)


@pytest.mark.parametrize(
    ("text", "node"),
    [
        ("title:budget", Word("budget", field="title")),
        ('title:"annual budget"', Phrase(("annual", "budget"), field="title")),
        ("tag:Finance", Match("tag", "finance")),
        ('tag:"two words"', Match("tag", "two words")),
        ("author:alice", Match("author", "alice")),
        ("by:alice", Match("author", "alice")),
        ("kind:pages", Match("kind", "page")),
        ("status:open", Match("status", "open")),
        ("in:core-processes", Match("in", "core-processes")),
        ("in:/wiki/core-processes/", Match("in", "core-processes")),
    ],
)
def test_field_filters(text: str, node: object) -> None:
    assert parse(text).clauses == (node,)


def _d(y: int, m: int, d: int) -> datetime:
    return datetime(y, m, d, tzinfo=UTC)


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        (">2026-01-01", DateRange(_d(2026, 1, 2), None)),
        (">=2026-01-01", DateRange(_d(2026, 1, 1), None)),
        ("<2026-01-01", DateRange(None, _d(2026, 1, 1))),
        ("<=2025", DateRange(None, _d(2026, 1, 1))),
        ("2026-03", DateRange(_d(2026, 3, 1), _d(2026, 4, 1))),
        ("2025-12", DateRange(_d(2025, 12, 1), _d(2026, 1, 1))),
        ("2026-01-01..2026-02-15", DateRange(_d(2026, 1, 1), _d(2026, 2, 16))),
        ("..2026-02-15", DateRange(None, _d(2026, 2, 16))),
        ("2026..", DateRange(_d(2026, 1, 1), None)),
        ("yesterday", None),
        ("2026-13-01", None),
    ],
)
def test_dates(expr: str, expected: DateRange | None) -> None:
    assert parse_dates(expr) == expected


@pytest.mark.parametrize(
    "text",
    [
        '"unbalanced quote',
        "NOT",
        "OR",
        "AND OR NOT",
        "-",
        "()",
        'title:"open',
        "tag:",
        "updated:>tomorrow",
        ")(*&^%$#@!",
        "a" * 5000,
        "x " * 500,
        "foo:bar",
        '"""',
        "-NOT x1",
    ],
)
def test_broken_syntax_never_fails(text: str) -> None:
    parsed = parse(text)
    assert isinstance(parsed.clauses, tuple)


def test_broken_syntax_degrades_sensibly() -> None:
    p = parse('"order to cash')
    assert p.clauses == (Phrase(("order", "to", "cash")),)
    assert p.notes
    assert parse("budget NOT").clauses == (Word("budget"),)
    assert parse("OR budget").clauses == (Word("budget"),)
    assert parse("foo:bar").clauses == (Phrase(("foo", "bar")),)  # unknown field: plain text
    p = parse("budget updated:>tomorrow")
    assert p.clauses == (Word("budget"),)
    assert "date" in p.notes[0]


def test_stopwords_dropped_unless_alone() -> None:
    assert parse("the budget").clauses == (Word("budget"),)
    assert parse("the").clauses == (Word("the"),)


def test_facet_links_add_and_remove_filters() -> None:
    assert with_filter("budget", "tag", "finance") == "budget tag:finance"
    assert with_filter("budget tag:finance", "tag", "finance") == "budget tag:finance"
    assert with_filter("x", "author", "a b") == 'x author:"a b"'
    assert without_filter("budget tag:finance kind:page", "tag", "finance") == "budget kind:page"


def test_highlight_words() -> None:
    p = parse('budget "order cash" gov* -hidden')
    assert p.highlight_words() == [
        ("budget", False),
        ("order", False),
        ("cash", False),
        ("gov", True),
    ]
