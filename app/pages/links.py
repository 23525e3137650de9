"""Resolving wikilink targets to pages, the same way for every reader (renders are cached).

``resolve_targets`` holds the rule; a ``LinkTable`` is every candidate page held in memory, so
many renders resolve without the database (and in other processes: it pickles).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from app.access.service import Access
from app.pages import rendering

# lower-cased targets, their slugs -> (slug, title) of matching pages, the slugs that were moved
Lookup = Callable[[set[str], set[str]], tuple[list[tuple[str, str]], set[str]]]


def resolve_targets(
    targets: set[str], lookup: Lookup, anyone: Access
) -> dict[str, rendering.LinkTarget]:
    """Each target to a page: by title (case-insensitive), else by address.

    So that a render tells nobody about a restricted page: ``lookup`` only knows pages anyone
    may read, and a link whose address lies in a restricted subtree always looks like a link to
    an existing page.
    """
    if not targets:
        return {}
    by_slug = {t: rendering.slugify_title(t) for t in targets}
    rows, redirects = lookup({t.lower() for t in targets}, set(by_slug.values()))
    titles = {title.lower(): (slug, title) for slug, title in rows}
    slugs = dict(rows)
    out: dict[str, rendering.LinkTarget] = {}
    for target, slug in by_slug.items():
        if target.lower() in titles:
            found_slug, title = titles[target.lower()]
            out[target] = rendering.LinkTarget(slug=found_slug, exists=True, title=title)
        elif slug in slugs:
            out[target] = rendering.LinkTarget(slug=slug, exists=True, title=slugs[slug])
        elif anyone.is_restricted(slug):
            out[target] = rendering.LinkTarget(slug=slug, exists=True, title=target)
        else:
            exists = slug in redirects
            out[target] = rendering.LinkTarget(slug=slug, exists=exists, title=target)
    return out


@dataclass
class LinkTable:
    """The live pages anyone may read and the moved addresses, to resolve links in memory.

    Titles are keyed as the database lower-cases them (SQLite: ASCII letters only), as the
    querying resolver matches them.
    """

    anyone: Access
    by_lower: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    by_slug: dict[str, tuple[str, str]] = field(default_factory=dict)
    lowered: dict[str, str] = field(default_factory=dict)  # slug -> its title's key
    moved: set[str] = field(default_factory=set)

    def put(self, slug: str, title: str, lowered: str) -> None:
        """Add the page at ``slug`` (or give it this title), unless anyone may not read it."""
        self.discard(slug)
        if not self.anyone.can_read(slug):
            return
        self.by_lower.setdefault(lowered, []).append((slug, title))
        self.by_slug[slug] = (slug, title)
        self.lowered[slug] = lowered

    def discard(self, slug: str) -> None:
        """Forget the page at ``slug``."""
        if slug not in self.by_slug:
            return
        row, key = self.by_slug.pop(slug), self.lowered.pop(slug)
        self.by_lower[key].remove(row)

    def lookup(self, lowered: set[str], slugs: set[str]) -> tuple[list[tuple[str, str]], set[str]]:
        """The pages with these titles or at these slugs, and which slugs were moved."""
        found = {row for key in lowered for row in self.by_lower.get(key, ())}
        found |= {self.by_slug[s] for s in slugs if s in self.by_slug}
        return sorted(found), slugs & self.moved

    def resolve(self, targets: set[str]) -> dict[str, rendering.LinkTarget]:
        """A ``rendering.Resolver`` over this table."""
        return resolve_targets(targets, self.lookup, self.anyone)
