"""What the index stores and what a search returns, independent of the backend."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from markupsafe import Markup

from app.search.query import ParsedQuery


@dataclass(frozen=True)
class SearchDocument:
    """One searchable thing (a page, a thread, a comment…) as a source hands it to the index.

    ``path`` is the page address the document belongs to (a page's own slug, a comment's page),
    used by ``in:`` filters and breadcrumbs. ``scope`` names who may read it: "" means everyone
    who may read its kind; a restricted subtree would set its own scope (see ``sources``).
    ``version`` changes whenever the document does, so start-up can tell stale entries apart.
    """

    kind: str
    ref_id: int
    title: str
    body: str
    url: str
    updated: datetime
    version: str
    headings: str = ""
    tags: tuple[str, ...] = ()
    authors: tuple[str, ...] = ()
    path: str = ""
    status: str = ""
    scope: str = ""
    backlinks: int = 0
    crumbs: tuple[tuple[str, str], ...] = ()  # (slug, title) of the ancestors, root first
    context: str = ""  # e.g. the title of the page a comment was made on

    @property
    def key(self) -> str:
        """The document's unique key in every backend."""
        return doc_key(self.kind, self.ref_id)


def doc_key(kind: str, ref_id: int) -> str:
    """``kind:ref_id``."""
    return f"{kind}:{ref_id}"


def split_key(key: str) -> tuple[str, int]:
    """The inverse of ``doc_key``."""
    kind, _, ref = key.partition(":")
    return kind, int(ref)


@dataclass(frozen=True)
class SearchRequest:
    """A parsed query plus what the searching user may see and which slice to return."""

    query: ParsedQuery
    kinds: frozenset[str]  # kinds the user may read (never empty when searching)
    scopes: frozenset[str] = frozenset({""})  # document scopes the user may read
    page: int = 1
    per_page: int = 20
    facets: bool = False
    snippets: bool = True
    suggest: bool = True


@dataclass(frozen=True)
class Hit:
    """One result, ready to show: snippets are escaped HTML with <mark> around matches."""

    kind: str
    ref_id: int
    title: str
    title_html: Markup
    snippet: Markup
    url: str
    path: str
    crumbs: tuple[tuple[str, str], ...]
    authors: tuple[str, ...]
    tags: tuple[str, ...]
    status: str
    updated: datetime
    score: float
    context: str = ""


@dataclass(frozen=True)
class Facet:
    value: str
    count: int


@dataclass
class SearchResults:
    """A page of hits, the total, facet counts and a spelling suggestion."""

    query: ParsedQuery
    hits: list[Hit]
    total: int
    page: int
    per_page: int
    facets: dict[str, list[Facet]] = field(default_factory=dict)
    suggestion: str | None = None
    elapsed_ms: float = 0.0

    @property
    def pages(self) -> int:
        """How many result pages there are."""
        return max(1, -(-self.total // self.per_page))


Progress = Callable[[int, int], None]  # (done, total)
