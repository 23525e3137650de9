"""The Whoosh backend — the only module that imports whoosh.

Layout in the data dir: ``search/current`` is a symlink to ``search/index-<stamp>/``. Searchers
follow the link on every search and refresh when the index has a newer generation, so a rebuild
that writes a new directory and swaps the link (``os.replace``, atomic) is picked up without
interrupting searches. Only the elected indexer writes (see ``indexer.py``); a rebuild writes
into its own fresh directory, so the two never contend for Whoosh's writer lock.
"""

from __future__ import annotations

import heapq
import logging
import os
import re
import shutil
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from markupsafe import Markup
from whoosh import index as whoosh_index
from whoosh import query as wq
from whoosh.analysis import StemmingAnalyzer
from whoosh.fields import DATETIME, ID, KEYWORD, NUMERIC, STORED, TEXT, Schema
from whoosh.searching import Searcher

from app.core.time import utcnow
from app.search import snippets
from app.search.documents import (
    Facet,
    Hit,
    Progress,
    SearchDocument,
    SearchRequest,
    SearchResults,
)
from app.search.query import AnyOf, DateRange, Match, Node, ParsedQuery, Phrase, Word

log = logging.getLogger("atrium.search")

ANALYZER = StemmingAnalyzer(expression=r"[^\W_]+", stoplist=None, minsize=1)
# Title matches weigh far more than body matches (see snippets.gentle_boost).
TEXT_FIELDS: tuple[tuple[str, float], ...] = (("title", 8.0), ("headings", 2.5), ("body", 1.0))
TAG_BOOST = 3.0
PREFIX_WEIGHT = 0.4
RERANK_WINDOW = 100  # top hits re-ordered by the gentle backlinks/recency boost
# Facets are counted from per-document columns over the best FACET_WINDOW matches (all of them
# when there are fewer): Whoosh's own overlapping facets cost ~0.5 s on 10,000+ matches.
FACET_COLUMNS = {"kind": "kind", "tag": "tagset", "author": "authorset"}
FACET_WINDOW = 2000


def make_schema() -> Schema:
    """The index schema: stemmed text with positions (phrases) and spelling, exact keywords."""
    return Schema(
        key=ID(stored=True, unique=True, sortable=True),
        version=ID(stored=True, sortable=True),
        kind=ID(stored=True, sortable=True),
        tagset=ID(sortable=True),  # the tags again, as one column value, for fast facets
        authorset=ID(sortable=True),
        title=TEXT(analyzer=ANALYZER, stored=True, spelling=True),
        # "did you mean" draws on the words of titles and headings (as the PostgreSQL backend
        # does): spelling data for every body word would cost 40% more indexing time
        headings=TEXT(analyzer=ANALYZER, spelling=True),
        body=TEXT(analyzer=ANALYZER, stored=True),
        tags=KEYWORD(stored=True, commas=True, lowercase=True, scorable=True),
        authors=KEYWORD(stored=True, commas=True, lowercase=True),
        subtree=KEYWORD(commas=True),
        status=ID(stored=True),
        scope=ID(stored=True),
        updated=DATETIME(stored=True, sortable=True),
        backlinks=NUMERIC(stored=True, sortable=True),
        path=STORED,
        url=STORED,
        crumbs=STORED,
        context=STORED,
    )


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """The indexed form of one word ("" if the analyzer drops it)."""
    tokens = [t.text for t in ANALYZER(word)]
    return tokens[0] if tokens else ""


def make_matcher(query: ParsedQuery) -> snippets.Matcher:
    """Whether a word of a text matches the query (for highlighting)."""
    words = query.highlight_words()
    stems = {stem(w) for w, _ in words} - {""}
    prefixes = tuple(w for w, explicit in words if explicit or len(w) >= 3)

    def matches(token: str) -> bool:
        low = token.lower()
        return bool(prefixes and low.startswith(prefixes)) or stem(low) in stems

    return matches


def _naive_utc(value: datetime) -> datetime:
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return value.replace(tzinfo=None)


def _subtree(path: str) -> list[str]:
    parts = [p for p in path.split("/") if p]
    return ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]


def _fields(doc: SearchDocument) -> dict[str, Any]:
    return {
        "key": doc.key,
        "version": doc.version,
        "kind": doc.kind,
        "title": doc.title,
        "headings": doc.headings,
        "body": doc.body,
        "tags": ",".join(t.replace(",", " ") for t in doc.tags),
        "authors": ",".join(a.replace(",", " ") for a in doc.authors),
        "tagset": ",".join(t.replace(",", " ") for t in doc.tags),
        "authorset": ",".join(a.replace(",", " ") for a in doc.authors),
        "subtree": ",".join(_subtree(doc.path)),
        "status": doc.status,
        "scope": doc.scope,
        "updated": _naive_utc(doc.updated),
        "backlinks": doc.backlinks,
        "path": doc.path,
        "url": doc.url,
        "crumbs": [list(c) for c in doc.crumbs],
        "context": doc.context,
    }


# --- compiling the query tree --------------------------------------------------------------------


def _analyzed(text: str) -> list[str]:
    return [t.text for t in ANALYZER(text)]


Expand = Callable[[str, str], list[str]]
MAX_EXPANSIONS = 12  # longer words a typed word also matches as a prefix, per field


def _no_expansion(_field: str, _prefix: str) -> list[str]:
    return []


def _word(node: Word, expand: Expand) -> wq.Query:
    fields = [(f, b) for f, b in TEXT_FIELDS if node.field in (None, f)]
    stems = _analyzed(node.text) or [node.text]
    parts: list[wq.Query] = []
    if node.prefix:
        for f, b in fields:
            for p in dict.fromkeys([node.text, *stems]):
                parts.append(wq.Prefix(f, p, boost=b))
    else:
        parts += [wq.Term(f, s, boost=b) for f, b in fields for s in stems]
        if len(node.text) >= 3 and not node.text.isdigit():
            # the word also matches as the start of longer words, weighted below exact matches;
            # expanded here (rather than a Prefix query) so the exact term is not counted twice
            for f, b in fields:
                longer = [t for t in expand(f, node.text) if t not in stems]
                parts += [wq.Term(f, t, boost=b * PREFIX_WEIGHT) for t in longer]
    if node.field is None:
        parts.append(wq.Term("tags", node.text, boost=TAG_BOOST))
    return wq.Or(parts)


def _phrase(node: Phrase) -> wq.Query:
    words = _analyzed(" ".join(node.words))
    fields = [(f, b) for f, b in TEXT_FIELDS if node.field in (None, f)]
    if len(words) == 1:
        return wq.Or([wq.Term(f, words[0], boost=b) for f, b in fields])
    return wq.Or([wq.Phrase(f, words, boost=b) for f, b in fields])


def _match(node: Match) -> wq.Query:
    field = {"tag": "tags", "author": "authors", "in": "subtree"}.get(node.field, node.field)
    return wq.Term(field, node.value)


def compile_node(node: Node, expand: Expand = _no_expansion) -> wq.Query:
    """One clause of the parsed query as a Whoosh query."""
    if isinstance(node, Word):
        return _word(node, expand)
    if isinstance(node, Phrase):
        return _phrase(node)
    if isinstance(node, Match):
        return _match(node)
    if isinstance(node, DateRange):
        start = _naive_utc(node.start) if node.start else None
        end = _naive_utc(node.end) if node.end else None
        return wq.DateRange("updated", start, end, endexcl=True)
    if isinstance(node, AnyOf):
        return wq.Or([compile_node(i, expand) for i in node.items])
    return wq.Not(compile_node(node.item, expand))


def compile_query(query: ParsedQuery, expand: Expand = _no_expansion) -> wq.Query | None:
    """The whole parsed query (None when there is nothing to search for)."""
    if query.is_empty:
        return None
    parts = [compile_node(c, expand) for c in query.clauses]
    if not query.has_positive:
        parts.insert(0, wq.Every())
    return wq.And(parts) if len(parts) > 1 else parts[0]


# --- the backend ---------------------------------------------------------------------------------


class WhooshBackend:
    """Search and write a Whoosh index under ``root`` (``<data dir>/search``)."""

    name = "whoosh"

    def __init__(self, root: Path) -> None:
        self.root = root
        self.current = root / "current"
        self._lock = threading.Lock()
        self._searcher: Searcher | None = None
        self._target: str | None = None

    # -- directories

    def _target_dir(self) -> Path | None:
        try:
            return Path(os.path.realpath(self.current)) if self.current.is_symlink() else None
        except OSError:  # pragma: no cover - raced with a swap; the next call sees the new one
            return None

    def exists(self) -> bool:
        """Whether an index has been created."""
        target = self._target_dir()
        return target is not None and whoosh_index.exists_in(str(target))

    def ensure(self) -> None:
        """Create an empty index if there is none (only the indexer or a rebuild calls this)."""
        if not self.exists():
            self._swap_in(self._new_dir(), cleanup=False)

    def _new_dir(self) -> Path:
        self.root.mkdir(parents=True, exist_ok=True)
        path = self.root / f"index-{time.strftime('%Y%m%d%H%M%S')}-{uuid.uuid4().hex[:8]}"
        path.mkdir()
        whoosh_index.create_in(str(path), make_schema())
        return path

    def _swap_in(self, path: Path, *, cleanup: bool = True) -> None:
        link = self.root / f".current-{uuid.uuid4().hex}"
        os.symlink(path.name, link)
        old = self._target_dir()
        os.replace(link, self.current)  # atomic: a searcher sees the old index or the new one
        if cleanup:
            self._cleanup(keep={path, old} if old else {path})

    def _cleanup(self, keep: set[Path]) -> None:
        """Remove index directories other than the current and the one just replaced.

        The replaced one stays until the next rebuild: searchers in other processes may still
        be reading it.
        """
        for entry in self.root.glob("index-*"):
            if entry.resolve() not in {k.resolve() for k in keep}:
                shutil.rmtree(entry, ignore_errors=True)

    def _open(self) -> whoosh_index.Index:
        target = self._target_dir()
        if target is None:
            raise FileNotFoundError("no search index yet")
        return whoosh_index.open_dir(str(target))

    # -- writing (the elected indexer only)

    def apply(self, upserts: Sequence[SearchDocument], deletes: Sequence[str]) -> None:
        """Add/replace and remove documents in one commit."""
        if not upserts and not deletes:
            return
        self.ensure()
        ix = self._open()
        writer = ix.writer(timeout=30.0)
        try:
            for key in deletes:
                writer.delete_by_term("key", key)
            for doc in upserts:
                writer.update_document(**_fields(doc))
        except BaseException:
            writer.cancel()
            raise
        writer.commit()
        ix.close()

    def upsert(self, docs: Sequence[SearchDocument]) -> None:
        """Add or replace documents."""
        self.apply(docs, [])

    def delete(self, keys: Sequence[str]) -> None:
        """Remove documents by key."""
        self.apply([], keys)

    def rebuild(
        self, docs: Iterable[SearchDocument], *, total: int, progress: Progress | None = None
    ) -> int:
        """Index ``docs`` into a new directory, then swap it in atomically."""
        path = self._new_dir()
        ix = whoosh_index.open_dir(str(path))
        writer = ix.writer(limitmb=256)
        count = 0
        try:
            for doc in docs:
                writer.add_document(**_fields(doc))
                count += 1
                if progress is not None:
                    progress(count, total)
        except BaseException:
            writer.cancel()
            ix.close()
            shutil.rmtree(path, ignore_errors=True)
            raise
        writer.commit(optimize=True)
        ix.close()
        self._swap_in(path)
        return count

    # -- reading

    def indexed_versions(self) -> dict[str, str]:
        """Key -> version of every indexed document."""
        if not self.exists():
            return {}
        ix = self._open()
        out: dict[str, str] = {}
        with ix.reader() as reader:
            if reader.doc_count() == 0:
                ix.close()
                return out
            keys = reader.column_reader("key")
            versions = reader.column_reader("version")
            for docnum in reader.all_doc_ids():
                out[_text(keys[docnum])] = _text(versions[docnum])
        ix.close()
        return out

    def size_bytes(self) -> int:
        """Bytes on disk of the current index."""
        target = self._target_dir()
        return sum(f.stat().st_size for f in target.iterdir()) if target else 0

    def _current_searcher(self) -> Searcher | None:
        target = self._target_dir()
        if target is None:
            return None
        if self._searcher is None or str(target) != self._target or not self._searcher.up_to_date():
            # a fresh reader rather than Searcher.refresh(): refresh reuses segment readers and
            # so misses deletions committed to an unchanged segment
            if self._searcher is not None:
                self._searcher.close()
            self._searcher = whoosh_index.open_dir(str(target)).searcher()
            self._target = str(target)
        return self._searcher

    def close(self) -> None:
        """Release the searcher's files."""
        with self._lock:
            if self._searcher is not None:
                self._searcher.close()
                self._searcher = None

    def search(self, request: SearchRequest) -> SearchResults:
        """Run a search for one user: permissions as a filter, ranked, snippets, facets."""
        started = time.perf_counter()
        query = request.query
        empty = SearchResults(
            query=query, hits=[], total=0, page=request.page, per_page=request.per_page
        )
        if query.is_empty or not request.kinds:
            return empty
        window = max(RERANK_WINDOW, request.page * request.per_page)
        with self._lock:
            searcher = self._current_searcher()
            if searcher is None:
                return empty
            reader = searcher.reader()

            def expand(field: str, prefix: str) -> list[str]:
                found = []
                for term in reader.expand_prefix(field, prefix):
                    found.append(_text(term))
                    if len(found) >= MAX_EXPANSIONS:
                        break
                return found

            compiled = compile_query(query, expand)
            if compiled is None:
                return empty
            hidden = self._hidden(reader, request)
            results = searcher.search(compiled, limit=None, mask=hidden)
            # limit=None: one pass scores and counts every match, which in Whoosh is cheaper
            # than a top-N pass followed by the separate counting pass that len() needs
            total = len(results)
            best = heapq.nsmallest(
                max(window, FACET_WINDOW if request.facets else 0),
                results.top_n,
                key=lambda t: (-t[0], t[1]),
            )
            top = best[:window]
            ranked = self._rerank(searcher, [(docnum, score) for score, docnum in top])
            start = (request.page - 1) * request.per_page
            chosen = ranked[start : start + request.per_page]
            matcher = make_matcher(query)
            hits = [
                self._hit(searcher, docnum, score, matcher, request) for docnum, score in chosen
            ]
            facets: dict[str, list[Facet]] = {}
            if request.facets:
                facets = self._facets(reader, [docnum for _, docnum in best[:FACET_WINDOW]])
            suggestion = None
            if request.suggest and total < 3:
                suggestion = self._suggest(searcher, query)
        return SearchResults(
            query=query,
            hits=hits,
            total=total,
            page=request.page,
            per_page=request.per_page,
            facets=facets,
            suggestion=suggestion,
            elapsed_ms=(time.perf_counter() - started) * 1000,
        )

    @staticmethod
    def _facets(reader: Any, docnums: list[int]) -> dict[str, list[Facet]]:
        out: dict[str, list[Facet]] = {}
        for name, field in FACET_COLUMNS.items():
            column = reader.column_reader(field)
            counts: Counter[str] = Counter()
            for docnum in docnums:
                value = _text(column[docnum])
                counts.update(v for v in value.split(",") if v)
            out[name] = [
                Facet(v, c) for v, c in sorted(counts.items(), key=lambda vc: (-vc[1], vc[0]))[:12]
            ]
        return out

    @staticmethod
    def _hidden(reader: Any, request: SearchRequest) -> wq.Query | None:
        """What this user may not see: kinds and scopes outside the request's.

        A mask rather than a filter: usually nothing is hidden, and then it costs nothing.
        """
        kinds = {_text(t) for t in reader.lexicon("kind")} - set(request.kinds)
        scopes = {_text(t) for t in reader.lexicon("scope")} - set(request.scopes)
        hide = [wq.Term("kind", k) for k in sorted(kinds)]
        hide += [wq.Term("scope", s) for s in sorted(scopes) if s]
        return wq.Or(hide) if hide else None

    def _rerank(
        self, searcher: Searcher, scored: list[tuple[int, float]]
    ) -> list[tuple[int, float]]:
        head, tail = scored[:RERANK_WINDOW], scored[RERANK_WINDOW:]
        if not head:
            return scored
        links = searcher.reader().column_reader("backlinks")
        updated = searcher.reader().column_reader("updated", translate=True)
        now = _naive_utc(utcnow())
        boosted = []
        for docnum, score in head:
            when = updated[docnum]
            age = (now - when).total_seconds() / 86400 if isinstance(when, datetime) else 365.0
            boosted.append(
                (
                    docnum,
                    snippets.gentle_boost(score, backlinks=int(links[docnum] or 0), age_days=age),
                )
            )
        boosted.sort(key=lambda t: -t[1])
        return boosted + tail

    def _hit(
        self,
        searcher: Searcher,
        docnum: int,
        score: float,
        matcher: snippets.Matcher,
        request: SearchRequest,
    ) -> Hit:
        stored = searcher.stored_fields(docnum)
        body = stored.get("body", "")
        updated = stored.get("updated")
        return Hit(
            kind=stored["kind"],
            ref_id=int(stored["key"].partition(":")[2]),
            title=stored.get("title", ""),
            title_html=snippets.highlight(stored.get("title", ""), matcher),
            snippet=snippets.snippet(body, matcher) if request.snippets else Markup(""),
            url=stored.get("url", ""),
            path=stored.get("path", ""),
            crumbs=tuple((a, b) for a, b in stored.get("crumbs", [])),
            authors=tuple(a for a in stored.get("authors", "").split(",") if a),
            tags=tuple(t for t in stored.get("tags", "").split(",") if t),
            status=stored.get("status", ""),
            updated=updated.replace(tzinfo=UTC) if isinstance(updated, datetime) else utcnow(),
            score=score,
            context=stored.get("context", ""),
        )

    def _suggest(self, searcher: Searcher, query: ParsedQuery) -> str | None:
        text = query.text
        changed = False
        for word in dict.fromkeys(query.free_words()):
            if len(word) < 3 or word.isdigit():
                continue
            s = stem(word)
            if any(searcher.doc_frequency(f, s) for f, _ in TEXT_FIELDS):
                continue
            found = searcher.suggest("title", word, limit=1) or searcher.suggest(
                "headings", word, limit=1
            )
            if found and found[0] != word:
                text = re.sub(rf"(?<!\w){re.escape(word)}(?!\w)", found[0], text, flags=re.I)
                changed = True
        return text if changed else None


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
