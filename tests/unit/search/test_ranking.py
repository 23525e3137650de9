"""The Whoosh backend's fast path: the same matches, scores and order as Whoosh's own matchers."""

from __future__ import annotations

import heapq
from datetime import UTC, datetime
from pathlib import Path

import pytest

from app.search import index, ranking
from app.search import query as query_language
from app.search.documents import SearchDocument

WORDS = ["river", "delta", "harbour", "rivers", "harbourmaster", "lighthouse", "tide"]
WORDS += ["delta-plan", "ferry"]


def _doc(i: int) -> SearchDocument:
    body = " ".join(WORDS[(i * k) % len(WORDS)] for k in range(1, 3 + i % 7))
    return SearchDocument(
        kind="page" if i % 3 else "comment",
        ref_id=i,
        title=f"{WORDS[i % len(WORDS)]} note {i}",
        body=body,
        url=f"/wiki/p-{i}",
        updated=datetime(2026, 1, 1 + i % 28, tzinfo=UTC),
        version="1",
        headings=WORDS[(i + 3) % len(WORDS)] if i % 2 else "",
        tags=("maps",) if i % 4 == 0 else ("sea",),
        path=f"p-{i}",
    )


def _whoosh_ranking(backend: index.WhooshBackend, text: str) -> tuple[int, list[int]]:
    searcher = backend._current_searcher()
    assert searcher is not None
    compiled = index.compile_query(query_language.parse(text))
    assert compiled is not None
    results = searcher.search(compiled, limit=None)
    top = heapq.nsmallest(50, results.top_n, key=lambda t: (-t[0], t[1]))
    return len(results), [docnum for _, docnum in top]


@pytest.mark.parametrize("parallel", [False, True])
@pytest.mark.parametrize(
    "text",
    ["river", "harbour ferry", "tide -ferry", "delta OR lighthouse", "title:river", "sea tide"],
)
def test_fast_path_matches_whoosh(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, parallel: bool
) -> None:
    if parallel:  # two writer processes, two segments: documents numbered with offsets
        monkeypatch.setattr(index, "PARALLEL_REBUILD", 10)
    backend = index.WhooshBackend(tmp_path / "search")
    docs = [_doc(i) for i in range(1, 240)]
    assert backend.rebuild(docs, total=len(docs)) == len(docs)
    backend.delete(["page:4", "comment:6"])  # deletions are applied too
    try:
        searcher = backend._current_searcher()
        assert searcher is not None
        assert len(searcher.leaf_searchers()) == (2 if parallel else 1)
        compiled = index.compile_query(query_language.parse(text))
        assert compiled is not None
        assert index.as_tree(compiled.normalize()) is not None
        total, best = backend._ranked(searcher, compiled, None, 50)
        assert (total, [docnum for docnum, _ in best]) == _whoosh_ranking(backend, text)
    finally:
        backend.close()


def test_phrases_and_prefixes_are_left_to_whoosh() -> None:
    for text in ['"river delta"', "harb*", "updated:>2026-01-05"]:
        compiled = index.compile_query(query_language.parse(text))
        assert compiled is not None
        assert index.as_tree(compiled.normalize()) is None


def test_evaluate_and_or_not() -> None:
    postings = {("f", "a"): {1: 1.0, 2: 2.0, 3: 3.0}, ("f", "b"): {2: 0.5, 3: 0.5, 4: 9.0}}

    def scores(field: str, text: str, only: set[int] | None) -> dict[int, float]:
        found = postings.get((field, text), {})
        return {d: s for d, s in found.items() if only is None or d in only}

    def ids(field: str, text: str) -> set[int]:
        return set(postings.get((field, text), {}))

    a, b = ranking.TermNode("f", "a"), ranking.TermNode("f", "b", 2.0)
    assert ranking.evaluate(ranking.OrNode((a, b)), scores, ids) == {
        1: 1.0,
        2: 3.0,
        3: 4.0,
        4: 18.0,
    }
    assert ranking.evaluate(ranking.AndNode((a, b)), scores, ids) == {2: 3.0, 3: 4.0}
    assert ranking.evaluate(ranking.AndNode((a,), (b,)), scores, ids) == {1: 1.0}
    assert ranking.best({1: 1.0, 2: 3.0, 3: 3.0, 4: 0.5}, 2) == [(2, 3.0), (3, 3.0)]
