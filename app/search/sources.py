"""Where searchable documents come from: one source per kind, registered by its domain.

The indexer never reads another domain's tables. For each outbox row it asks the source of the
row's ``kind`` to ``load`` the current documents (ids it does not return are removed from the
index); start-up reconciliation and ``atrium reindex`` use ``versions`` to list every live id.

Adding a kind is one call, e.g. in ``app/discussions/search_source.py``::

    from app.search.sources import register

    def load(session: Session, ids: Sequence[int]) -> list[SearchDocument]:
        ...  # read through your own service; leave out deleted/hidden rows

    def versions(session: Session) -> dict[int, str]:
        ...  # id -> anything that changes when the document changes (e.g. updated_at)

    register("comment", load=load, versions=versions, label="Comments")

then list the module in ``SOURCE_MODULES`` below, and call
``app.search.service.enqueue(session=, kind="comment", ref_id=)`` in every use case that
changes a comment, inside its transaction. ``read_action`` is the permission a user needs to
find documents of the kind at all; ``scopes(session, user)`` is the per-document hook for
restricted areas: a source sets ``SearchDocument.scope`` (say ``"subtree:hr"``) on documents not
everyone may read, and ``scopes`` returns the scopes this user may read, ``""`` included (the
default: only ``""``, i.e. documents everyone who may read the kind can read).

Documents about a page (the page itself, its threads and comments) carry the page's restricted
subtree as their scope (``page_scope``) and register ``page_scopes``; their ``versions`` include
the scope, so a restriction added or lifted while no indexer ran is applied at start-up.
"""

from __future__ import annotations

import hashlib
import importlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html.parser import HTMLParser

from sqlmodel import Session

from app.access import service as access
from app.accounts import service as accounts
from app.accounts.models import User
from app.search.documents import SearchDocument

Loader = Callable[[Session, Sequence[int]], list[SearchDocument]]
Versions = Callable[[Session], dict[int, str]]
Scopes = Callable[[Session, User | None], frozenset[str]]

# Modules that register sources when imported (kept lazy so domains stay independent).
SOURCE_MODULES: tuple[str, ...] = (
    "app.search.sources",
    "app.discussions.search_source",
    "app.workshops.search_source",
    "app.proposals.search_source",
    "app.decisions.search_source",
)


def _everyone(_session: Session, _user: User | None) -> frozenset[str]:
    return frozenset({""})


def restricted_roots(session: Session) -> tuple[str, ...]:
    """Every restricted subtree root, read afresh (a restriction may have changed in this very
    transaction, before the documents it re-scopes are written)."""
    access.forget(session)
    return access.access_for(session=session, user=None).roots


def page_scope(roots: Sequence[str], slug: str) -> str:
    """The scope of a document about the page at ``slug`` (``""``: not restricted)."""
    return access.search_scope(roots, slug)


def scoped_version(version: str, scope: str) -> str:
    """A document version that also changes when the document's scope does (a short digest of
    the scope: versions are stored in 64 characters)."""
    if not scope:
        return version
    return f"{version}@{hashlib.blake2b(scope.encode(), digest_size=6).hexdigest()}"


def page_scopes(session: Session, user: User | None) -> frozenset[str]:
    """The scopes of page-bound documents ``user`` may read: the subtrees they are granted."""
    return access.access_for(session=session, user=user).search_scopes


@dataclass(frozen=True)
class Source:
    kind: str
    load: Loader
    versions: Versions
    label: str
    read_action: str
    scopes: Scopes


_SOURCES: dict[str, Source] = {}


def register(
    kind: str,
    *,
    load: Loader,
    versions: Versions,
    label: str | None = None,
    read_action: str = "page.read",
    scopes: Scopes = _everyone,
) -> None:
    """Make documents of ``kind`` searchable."""
    _SOURCES[kind] = Source(
        kind=kind,
        load=load,
        versions=versions,
        label=label or kind.title() + "s",
        read_action=read_action,
        scopes=scopes,
    )


Dependents = Callable[[Session, int], list[tuple[str, int]]]
_DEPENDENTS: dict[str, list[Dependents]] = {}


def register_dependents(kind: str, find: Dependents) -> None:
    """Documents of other kinds that embed a ``kind`` document (a comment shows its page's
    address): ``find(session, ref_id)`` lists them, so that moving or deleting the page
    re-indexes them too."""
    _DEPENDENTS.setdefault(kind, []).append(find)


def dependents(session: Session, kind: str, ref_id: int) -> list[tuple[str, int]]:
    """(kind, ref_id) of every document that depends on this one."""
    sources()  # make sure every domain has registered
    return [dep for find in _DEPENDENTS.get(kind, []) for dep in find(session, ref_id)]


def sources() -> dict[str, Source]:
    """Every registered source by kind."""
    for name in SOURCE_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:  # pragma: no cover - a domain not installed yet
            if exc.name != name:
                raise
    return dict(_SOURCES)


def get(kind: str) -> Source | None:
    """The source of ``kind``, if one is registered."""
    return sources().get(kind)


def readable_kinds(user: User | None) -> frozenset[str]:
    """Kinds ``user`` may find at all."""
    return frozenset(k for k, s in sources().items() if accounts.can(user, s.read_action))


def readable_scopes(session: Session, user: User | None, kinds: frozenset[str]) -> frozenset[str]:
    """Document scopes ``user`` may read among ``kinds``."""
    out: set[str] = set()
    for kind in kinds:
        source = _SOURCES.get(kind)
        if source is not None:
            out |= source.scopes(session, user)
    return frozenset(out)


# --- pages --------------------------------------------------------------------------------------


class _Text(HTMLParser):
    """Plain text and headings out of sanitised HTML (scripts and styles never reach here)."""

    BLOCKS = frozenset(
        [
            "p",
            "div",
            "li",
            "ul",
            "ol",
            "h1",
            "h2",
            "h3",
            "h4",
            "h5",
            "h6",
            "pre",
            "blockquote",
            "table",
            "tr",
            "td",
            "th",
            "br",
            "hr",
            "dd",
            "dt",
        ]
    )

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.headings: list[str] = []
        self._heading: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:  # noqa: ARG002
        if tag in self.BLOCKS:
            self.parts.append("\n")
        if re.fullmatch(r"h[1-6]", tag):
            self._heading = []

    def handle_endtag(self, tag: str) -> None:
        if tag in self.BLOCKS:
            self.parts.append("\n")
        if re.fullmatch(r"h[1-6]", tag) and self._heading is not None:
            self.headings.append("".join(self._heading).strip())
            self._heading = None

    def handle_data(self, data: str) -> None:
        self.parts.append(data)
        if self._heading is not None:
            self._heading.append(data)


def html_to_text(html: str) -> tuple[str, list[str]]:
    """The readable text of rendered HTML and its headings."""
    parser = _Text()
    parser.feed(html)
    parser.close()
    text = re.sub(r"[ \t]*\n[\s]*", "\n", "".join(parser.parts))
    return re.sub(r"[ \t]{2,}", " ", text).strip(), [h for h in parser.headings if h]


def _humanize(segment: str) -> str:
    text = segment.replace("-", " ").strip()
    return text[:1].upper() + text[1:]


def _load_pages(session: Session, ids: Sequence[int]) -> list[SearchDocument]:
    from app.pages import service as pages

    entries = pages.index_entries(session=session, ids=ids)
    ancestors = {
        "/".join(parts[:i])
        for e in entries
        for parts in [e.page.slug.split("/")]
        for i in range(1, len(parts))
    }
    titles = pages.titles_of(session=session, slugs=ancestors) if ancestors else {}
    roots = restricted_roots(session) if entries else ()
    docs = []
    for e in entries:
        page = e.page
        parts = page.slug.split("/")
        crumbs = tuple(
            (a, titles.get(a) or _humanize(a.rsplit("/", 1)[-1]))
            for a in ("/".join(parts[:i]) for i in range(1, len(parts)))
        )
        text, headings = html_to_text(e.html)
        scope = page_scope(roots, page.slug)
        docs.append(
            SearchDocument(
                kind="page",
                ref_id=page.id or 0,
                title=page.title,
                body=text,
                url=f"/wiki/{page.slug}",
                updated=page.updated_at,
                version=scoped_version(str(page.head), scope),
                headings="\n".join(headings),
                tags=tuple(t.lower() for t in page.tags),
                authors=tuple(e.authors),
                path=page.slug,
                backlinks=e.backlinks,
                crumbs=crumbs,
                scope=scope,
            )
        )
    return docs


def _page_versions(session: Session) -> dict[int, str]:
    from app.pages import service as pages

    found = pages.index_versions(session=session)
    # innermost restriction last, so it wins where restrictions nest
    for root in sorted(restricted_roots(session), key=len):
        scope = page_scope([root], root)
        for page_id in pages.page_ids_under(session=session, prefix=root):
            if page_id in found:
                found[page_id] = scoped_version(found[page_id].partition("@")[0], scope)
    return found


register("page", load=_load_pages, versions=_page_versions, label="Pages", scopes=page_scopes)
