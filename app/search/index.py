"""The Whoosh backend — the only module that imports whoosh.

Layout in the data dir: ``search/current`` is a symlink to ``search/index-<stamp>/``. Searchers
follow the link on every search and refresh when the index has a newer generation, so a rebuild
that writes a new directory and swaps the link (``os.replace``, atomic) is picked up without
interrupting searches. Only the elected indexer writes (see ``indexer.py``); a rebuild writes
into its own fresh directory, so the two never contend for Whoosh's writer lock.
"""

from __future__ import annotations

import copy
import heapq
import logging
import os
import re
import shutil
import threading
import time
import uuid
from array import array
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from itertools import chain
from pathlib import Path
from typing import Any

from markupsafe import Markup
from sqlalchemy import Connection
from whoosh import index as whoosh_index
from whoosh import query as wq
from whoosh.analysis import StemmingAnalyzer
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3Codec, W3PerDocReader, W3Segment, _lenfield
from whoosh.fields import DATETIME, ID, KEYWORD, NUMERIC, STORED, TEXT, Schema
from whoosh.matching import FilterMatcher
from whoosh.reading import EmptyReader, IndexReader, MultiReader, SegmentReader
from whoosh.scoring import BM25F
from whoosh.searching import Searcher
from whoosh.util.numeric import byte_to_length

from app.core.time import utcnow
from app.search import ranking, snippets
from app.search.documents import (
    Facet,
    Hit,
    Progress,
    SearchDocument,
    SearchRequest,
    SearchResults,
)
from app.search.query import AnyOf, DateRange, Match, Node, ParsedQuery, Phrase, Word
from app.search.segments import MappedStorage

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
PARALLEL_REBUILD = 5000  # documents from which a rebuild uses two writer processes
SMALL_SEGMENT = 500  # documents below which "did you mean" compares a segment's words directly
# Compound segment files, as Whoosh makes them by default. Plain files were tried (round 3 in
# docs/benchmarks.md): Whoosh hands each part of a compound file out as a BytesIO copy, so every
# reader opened copies ~185 MiB (129 ms), and plain files avoid that (1 ms) and cut the tail of
# save-to-searchable, but every read of a plain file is a seek and a read through Python's file
# objects: queries took 3 x the CPU (single word p50 26 vs 9 ms, two words 113 vs 33 ms, load 1).
COMPOUND = True


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

    return snippets.WordMatcher(matches)


def _segment_key(reader: Any) -> str:
    """The id of a reader's segment; "" for the empty reader of an index with none yet."""
    segment = reader.segment()
    return str(segment.segment_id()) if segment is not None else ""


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


# --- the fast path: Whoosh queries as plain trees over cached, decoded postings -----------------

_LENGTH_OF_BYTE = [byte_to_length(b) for b in range(256)]
POSTINGS_CACHE = 4_000_000  # decoded postings kept per process (~32 MB), least recently used out
TERM_SCORES_CACHE = 500_000  # scored postings kept for the current searcher (~40 MB)


def as_tree(q: wq.Query) -> ranking.Tree | None:
    """A normalised Whoosh query as a ``ranking`` tree (None: leave it to Whoosh's matchers)."""
    kind = type(q)
    if kind is wq.Term:
        return ranking.TermNode(q.fieldname, q.text, float(q.boost))
    if kind is wq.Or and not q.minmatch and not q.scale:
        children = [as_tree(c) for c in q.subqueries]
        if any(c is None for c in children):
            return None
        return ranking.OrNode(tuple(c for c in children if c is not None), float(q.boost))
    if kind in (wq.And, wq.AndNot):
        subqueries = [q.a, wq.Not(q.b)] if kind is wq.AndNot else list(q.subqueries)
        positive = [as_tree(c) for c in subqueries if type(c) is not wq.Not]
        negative = [as_tree(c.query) for c in subqueries if type(c) is wq.Not]
        if not positive or any(c is None for c in positive + negative):
            return None
        return ranking.AndNode(
            tuple(c for c in positive if c is not None),
            tuple(c for c in negative if c is not None),
            float(q.boost),
        )
    return None


def _rebind(reader: SegmentReader, segment: Any, generation: int) -> SegmentReader:
    """A reader of ``segment`` sharing ``reader``'s open files: same segment id, so the same
    documents, but possibly newer deletions (Whoosh keeps those on the segment object)."""
    fresh = copy.copy(reader)
    fresh.__dict__.pop("deleted_docs_set", None)  # a cached_property of the old deletions
    perdoc = copy.copy(reader._perdoc)
    perdoc._segment = segment
    fresh._perdoc = perdoc
    fresh._segment = segment
    fresh._gen = generation
    return fresh


def _open_searcher(ix: whoosh_index.FileIndex, previous: Searcher | None) -> Searcher:
    """A searcher on the index's latest generation that keeps ``previous``'s open segments.

    Opening a segment copies each part of its compound file into memory (~130 ms for the bench
    index's big segment); after a save only a small new segment has to be opened. Whoosh's own
    ``Searcher.refresh()`` reuses readers too, but keeps their old deletions (an updated document
    would be found twice) and brings back segments a merge removed, so this pairs readers with
    the new table of contents by segment id itself.
    """
    old: dict[str, SegmentReader] = {}
    if previous is not None:
        for leaf, _offset in previous.leaf_searchers():
            leaf_reader = leaf.reader()
            if isinstance(leaf_reader, SegmentReader):
                old[leaf_reader.segment().segment_id()] = leaf_reader
    for attempt in range(10):
        try:
            toc = ix._read_toc()
            fresh = [s for s in toc.segments if s.segment_id() not in old]
            storage = MappedStorage(ix.storage.folder)  # parts mapped, not copied
            opened = [
                SegmentReader(storage, toc.schema, s, generation=toc.generation) for s in fresh
            ]
            break
        except OSError:  # a merge removed a segment between reading the TOC and opening it
            if attempt == 9:
                raise
            time.sleep(0.01)
    by_id = {r.segment().segment_id(): r for r in opened}
    readers = [
        by_id.get(s.segment_id()) or _rebind(old.pop(s.segment_id()), s, toc.generation)
        for s in toc.segments
    ]
    for gone in old.values():  # segments merged away since the previous searcher
        gone.close()
    reader: IndexReader
    if not readers:
        reader = EmptyReader(toc.schema)
    elif len(readers) == 1:
        reader = readers[0]
    else:
        reader = MultiReader(readers, generation=toc.generation)
    return Searcher(reader, fromindex=ix)


class _Postings:
    """Per-segment data decoded once and kept while the segment lives (segments never change;
    deletions are applied per searcher): term postings a block at a time, field lengths for
    BM25F, facet columns. Plus each term's scores for the current searcher (idf and average
    lengths change whenever the index does, so those are dropped with the searcher)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._postings: dict[tuple[str, str, bytes], tuple[array[int], array[float]]] = {}
        self._size = 0
        self._lengths: dict[tuple[str, str], list[int]] = {}
        self._columns: dict[tuple[str, str], list[tuple[str, ...]]] = {}
        self._joined: dict[str, list[tuple[str, ...]]] = {}  # for the current searcher
        self._terms: dict[tuple[str, str], dict[int, float]] = {}
        self._terms_size = 0

    def ids(self, searcher: Searcher, field: str, text: str) -> Collection[int]:
        """The documents containing one term (a view: do not keep it)."""
        return self._term(searcher, field, text).keys()

    def scores(
        self, searcher: Searcher, field: str, text: str, only: set[int] | None = None
    ) -> dict[int, float]:
        """{docnum: BM25F score} of one term, exactly as Whoosh's scorer computes it; only the
        documents in ``only`` when given. The result may be shared: do not change it."""
        found = self._term(searcher, field, text)
        if only is None:
            return found
        return {d: found[d] for d in only & found.keys()}

    def _term(self, searcher: Searcher, field: str, text: str) -> dict[int, float]:
        found = self._terms.get((field, text))
        if found is not None:
            return found
        found = {}
        for reader, offset, btext in self._leaves(searcher, field, text):
            deleted = reader.deleted_docs_set if reader.has_deletions() else frozenset()
            local = self._leaf_scores(searcher, reader, field, btext)
            if offset == 0 and not deleted and not found:
                found = local
            elif not deleted:
                found.update(zip(map(offset.__add__, local.keys()), local.values(), strict=True))
            else:
                found.update((d + offset, sc) for d, sc in local.items() if d not in deleted)
        with self._lock:
            self._terms[(field, text)] = found
            self._terms_size += len(found)
            while self._terms_size > TERM_SCORES_CACHE and len(self._terms) > 1:
                self._terms_size -= len(self._terms.pop(next(iter(self._terms))))
        return found

    def new_searcher(self, segment_ids: set[str]) -> None:
        """Forget the term scores of the old searcher and the data of segments now gone."""
        with self._lock:
            self._terms.clear()
            self._terms_size = 0
            self._joined.clear()
            for key in [k for k in self._postings if k[0] not in segment_ids]:
                self._size -= len(self._postings.pop(key)[0])
            for lkey in [k for k in self._lengths if k[0] not in segment_ids]:
                del self._lengths[lkey]
            for ckey in [k for k in self._columns if k[0] not in segment_ids]:
                del self._columns[ckey]

    @staticmethod
    def _leaves(searcher: Searcher, field: str, text: str) -> Iterator[tuple[Any, int, bytes]]:
        try:
            btext = searcher.schema[field].to_bytes(text)
        except (KeyError, ValueError):
            return
        for leaf, offset in searcher.leaf_searchers():
            reader = leaf.reader()
            if (field, btext) in reader:
                yield reader, offset, btext

    def _leaf_scores(
        self, searcher: Searcher, reader: Any, field: str, btext: bytes
    ) -> dict[int, float]:
        """Scores in one segment, deleted documents included."""
        weighting = searcher.weighting
        ids, weights = self._decoded(reader, field, btext)
        if not searcher.schema[field].scorable:  # what WeightScorer gives
            return dict(zip(ids, weights, strict=True))
        if type(weighting) is BM25F:
            # BM25FScorer's statistics without building one: its set-up looks the term up in
            # every segment again (MultiReader.term_info), ~1 ms per term and segment
            idf = searcher.idf(field, btext)
            avgfl = searcher.avg_field_length(field) or 1
            b = weighting._field_B.get(field, weighting.B)
            k1 = weighting.K1
            lengths = self._field_lengths(reader, field)
            # the bm25() of whoosh.scoring, inlined, same operations in the same order
            return {
                d: idf * ((tf * (k1 + 1)) / (tf + k1 * ((1 - b) + b * lengths[d] / avgfl)))
                for d, tf in zip(ids, weights, strict=True)
            }
        raise _Unsupported(type(weighting).__name__)  # pragma: no cover - another weighting

    def _decoded(self, reader: Any, field: str, btext: bytes) -> tuple[array[int], array[float]]:
        key = (_segment_key(reader), field, btext)
        with self._lock:
            found = self._postings.pop(key, None)
            if found is not None:
                self._postings[key] = found  # most recently used last
                return found
        matcher = reader.postings(field, btext)
        if isinstance(matcher, FilterMatcher):
            matcher = matcher.child  # deletions are applied by the caller
        ids = array("i")
        weights = array("f")  # as Whoosh stores them
        if hasattr(matcher, "_read_ids") and hasattr(matcher, "_next_block"):
            while matcher.is_active():  # whole blocks, not posting by posting
                matcher._read_ids()
                matcher._read_weights()
                ids.extend(matcher._ids[matcher._i :])
                weights.extend(matcher._weights[matcher._i :])
                matcher._next_block()
        else:  # postings inlined in the term info
            while matcher.is_active():
                ids.append(matcher.id())
                weights.append(matcher.weight())
                matcher.next()
        with self._lock:
            self._postings[key] = (ids, weights)
            self._size += len(ids)
            while self._size > POSTINGS_CACHE and len(self._postings) > 1:
                old = next(iter(self._postings))
                self._size -= len(self._postings.pop(old)[0])
        return ids, weights

    def _field_lengths(self, reader: Any, field: str) -> list[int]:
        key = (_segment_key(reader), field)
        found = self._lengths.get(key)
        if found is None:
            count = reader.doc_count_all()
            try:  # the whole length column in one read (Whoosh reads it a byte per posting)
                column = reader._perdoc._cached_reader(_lenfield(field), LENGTHS_COLUMN)
                raw = column._dbfile.get(column._basepos, column._count)
                found = [_LENGTH_OF_BYTE[b] for b in raw] + [0] * (count - len(raw))
            except AttributeError:  # pragma: no cover - another codec
                found = [reader.doc_field_length(d, field, 0) or 0 for d in range(count)]
            with self._lock:
                self._lengths[key] = found
        return found

    def searcher_column(self, searcher: Searcher, field: str) -> list[tuple[str, ...]]:
        """``column_values`` of every segment joined in docnum order, once per searcher: facet
        counting is then one C-level pass (finding each document's segment with a bisect and a
        generator step per document was ~12% of a two-word search with facets)."""
        found = self._joined.get(field)
        if found is None:
            leaves = [leaf.reader() for leaf, _ in searcher.leaf_searchers()]
            if len(leaves) == 1:
                found = self.column_values(leaves[0], field)
            else:
                found = list(chain.from_iterable(self.column_values(r, field) for r in leaves))
            with self._lock:
                self._joined[field] = found
        return found

    def column_values(self, reader: Any, field: str) -> list[tuple[str, ...]]:
        """The comma-separated values of a column for every document of one segment, read once
        (reading the column per document and per search cost ~60 ms a facet count)."""
        if reader.segment() is None:
            return []  # the empty reader of an index with no segment yet has no columns
        key = (_segment_key(reader), field)
        found = self._columns.get(key)
        if found is None:
            column = reader.column_reader(field)
            parsed: dict[object, tuple[str, ...]] = {}  # few distinct values: split each once
            found = []
            for value in column:
                values = parsed.get(value)
                if values is None:
                    values = parsed[value] = tuple(v for v in _text(value).split(",") if v)
                found.append(values)
            with self._lock:
                self._columns[key] = found
        return found


class _WriteCodec(W3Codec):  # type: ignore[misc]
    """Whoosh's codec, except that writing a segment's postings reads each field's lengths once.

    Whoosh writes every posting with its document's field length, read from the new segment's
    length column one posting at a time (a seek and a read of one byte each: ~15% of a rebuild's
    CPU in the profile). The segments it makes record the stock codec, so nothing that reads
    the index depends on this class.
    """

    def new_segment(self, storage: Any, indexname: str) -> W3Segment:  # noqa: ARG002
        return W3Segment(W3Codec(), indexname)

    def per_document_reader(self, storage: Any, segment: Any) -> W3PerDocReader:
        return _LengthsOnce(storage, segment)


class _LengthsOnce(W3PerDocReader):  # type: ignore[misc]
    """Field lengths read as one column per field (same values as ``doc_field_length``)."""

    def __init__(self, storage: Any, segment: Any) -> None:
        super().__init__(storage, segment)
        self._length_lists: dict[str, list[int | None] | None] = {}

    def doc_field_length(self, docnum: int, fieldname: str, default: int = 0) -> int | None:
        lengths = self._length_lists.get(fieldname, ())
        if lengths == ():
            lengths = self._length_lists[fieldname] = self._read_lengths(fieldname)
        if lengths is None or docnum > self._doccount:
            return super().doc_field_length(docnum, fieldname, default)  # type: ignore[no-any-return]
        return lengths[docnum] if docnum < len(lengths) else None

    def _read_lengths(self, fieldname: str) -> list[int | None] | None:
        column = self._cached_reader(_lenfield(fieldname), LENGTHS_COLUMN)
        try:
            raw = column._dbfile.get(column._basepos, column._count)
        except AttributeError:  # no such column, or another column type: Whoosh's own way
            return None
        # as Whoosh answers: a zero byte (no length recorded) is None
        return [_LENGTH_OF_BYTE[b] if b else None for b in raw]


class _Unsupported(Exception):
    """A query or weighting the fast path does not handle."""


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
        self._postings = _Postings()

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
        target = self._target_dir()
        if target is None:  # pragma: no cover - ensure() just made it
            raise FileNotFoundError("no search index yet")
        ix = whoosh_index.open_dir(str(target))
        writer = ix.writer(timeout=30.0, compound=COMPOUND, codec=_WriteCodec())
        try:
            # Whoosh's update_document opens a reader of every segment to find the replaced
            # document (copying each compound file again); the searcher of this process holds
            # them open already. With the writer lock held no one else commits, so refreshed
            # now it sees exactly the writer's segments, in the writer's order — unless a
            # rebuild swapped in another directory meanwhile: then Whoosh's own reader it is.
            with self._lock:
                searcher = self._current_searcher()
                if searcher is None or self._target != str(target):
                    searcher = writer.searcher()
                for key in chain(deletes, (d.key for d in upserts)):
                    writer.delete_by_term("key", key, searcher=searcher)
            for doc in upserts:
                writer.add_document(**_fields(doc))
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
        parallel = total >= PARALLEL_REBUILD and (os.cpu_count() or 1) > 1
        if parallel:
            # analysing and writing postings is ~90% of a rebuild and pure Python: two writer
            # processes take a share each while this one loads documents from the database.
            # Their two segments stay as they are; merging them would read every posting again.
            writer = ix.writer(
                procs=2, multisegment=True, limitmb=256, compound=COMPOUND, codec=_WriteCodec()
            )
        else:
            writer = ix.writer(limitmb=256, compound=COMPOUND, codec=_WriteCodec())
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
        writer.commit(optimize=not parallel)
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
        # segments mapped as the searchers map them: Whoosh's own reader copies every one
        with _open_searcher(ix, None) as searcher:
            reader = searcher.reader()
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
            same_index = self._searcher is not None and str(target) == self._target
            previous = self._searcher if same_index else None
            if self._searcher is not None and not same_index:
                self._searcher.close()
            self._searcher = _open_searcher(whoosh_index.open_dir(str(target)), previous)
            self._target = str(target)
            # an index with no segment yet (nothing committed) has one empty leaf, no segment
            segments = (leaf.reader().segment() for leaf, _ in self._searcher.leaf_searchers())
            self._postings.new_searcher({seg.segment_id() for seg in segments if seg is not None})
        return self._searcher

    def close(self) -> None:
        """Release the searcher's files."""
        with self._lock:
            if self._searcher is not None:
                self._searcher.close()
                self._searcher = None

    def search(
        self, request: SearchRequest, *, connection: Connection | None = None
    ) -> SearchResults:
        """Run a search for one user: permissions as a filter, ranked, snippets, facets (the
        index is in files: ``connection`` is not needed)."""
        del connection
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
            wanted = max(window, FACET_WINDOW if request.facets else 0)
            total, best = self._ranked(searcher, compiled, hidden, wanted)
            ranked = self._rerank(searcher, best[:window])
            start = (request.page - 1) * request.per_page
            chosen = ranked[start : start + request.per_page]
            matcher = make_matcher(query)
            hits = [
                self._hit(searcher, docnum, score, matcher, request) for docnum, score in chosen
            ]
            facets: dict[str, list[Facet]] = {}
            if request.facets:
                facets = self._facets(searcher, [docnum for docnum, _ in best[:FACET_WINDOW]])
            suggestion = None
            if request.suggest and total < 3:
                suggestion = self._suggest(searcher, query, hidden)
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

    def _ranked(
        self, searcher: Searcher, compiled: wq.Query, hidden: wq.Query | None, wanted: int
    ) -> tuple[int, list[tuple[int, float]]]:
        """How many documents match, and the ``wanted`` best as (docnum, score)."""
        tree = as_tree(compiled.normalize())
        hidden_tree = as_tree(hidden.normalize()) if hidden is not None else None
        if tree is not None and (hidden is None or hidden_tree is not None):

            def term_scores(field: str, text: str, only: set[int] | None) -> dict[int, float]:
                return self._postings.scores(searcher, field, text, only)

            def term_ids(field: str, text: str) -> Collection[int]:
                return self._postings.ids(searcher, field, text)

            try:
                scored = ranking.evaluate(tree, term_scores, term_ids)
                if hidden_tree is not None:
                    hide = ranking.matching(hidden_tree, term_ids)
                    scored = {d: s for d, s in scored.items() if d not in hide}
                return len(scored), ranking.best(scored, wanted)
            except _Unsupported:  # pragma: no cover - a custom weighting model
                pass
        # phrases, date ranges, prefixes: Whoosh's matchers. limit=None scores and counts in
        # one pass, cheaper than a top-N pass plus the separate counting pass len() needs
        results = searcher.search(compiled, limit=None, mask=hidden)
        top = heapq.nsmallest(wanted, results.top_n, key=lambda t: (-t[0], t[1]))
        return len(results), [(docnum, score) for score, docnum in top]

    def _facets(self, searcher: Searcher, docnums: list[int]) -> dict[str, list[Facet]]:
        out: dict[str, list[Facet]] = {}
        for name, field in FACET_COLUMNS.items():
            values = self._postings.searcher_column(searcher, field)
            counts = Counter(chain.from_iterable(map(values.__getitem__, docnums)))
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

    def _suggest(
        self, searcher: Searcher, query: ParsedQuery, hidden: wq.Query | None
    ) -> str | None:
        """Did-you-mean from the words of titles and headings the user may read: a hidden
        document's words are neither suggested nor make a word count as known."""
        hide: set[int] | None = None

        def visible(field: str, term: str) -> bool:
            nonlocal hide
            if hidden is None:
                return bool(searcher.doc_frequency(field, term))
            if hide is None:
                hide = set(searcher.docs_for_query(hidden))
            return any(d not in hide for d in searcher.docs_for_query(wq.Term(field, term)))

        text = query.text
        changed = False
        for word in dict.fromkeys(query.free_words()):
            if len(word) < 3 or word.isdigit():
                continue
            s = stem(word)
            if any(visible(f, s) for f, _ in TEXT_FIELDS):
                continue
            found = _spelling(searcher, "title", word, visible) or _spelling(
                searcher, "headings", word, visible
            )
            if found and found != word:
                text = re.sub(rf"(?<!\w){re.escape(word)}(?!\w)", found, text, flags=re.I)
                changed = True
        return text if changed else None


def _spelling(
    searcher: Searcher,
    field: str,
    word: str,
    visible: Callable[[str, str], bool],
    maxdist: int = 2,
) -> str | None:
    """What ``searcher.suggest(field, word, limit=1)`` answers, asked of each segment, among the
    words ``visible`` to the user.

    Whoosh finds words within an edit distance with a fast automaton over one segment's word
    list, but over several segments (a parallel rebuild leaves two) it compares every word of
    the field: ~300 ms. The ranking is Whoosh's: the most frequent word wins.
    """
    reader = searcher.reader()
    spell_field = searcher.schema[field].spelling_fieldname(field)
    near: set[str] = set()
    for leaf, _ in searcher.leaf_searchers():
        leaf_reader = leaf.reader()
        if leaf_reader.doc_count_all() < SMALL_SEGMENT:
            # the few words of a small segment (each save adds one) are quicker to compare one
            # by one than to build the automaton (~8 ms) for
            near.update(IndexReader.terms_within(leaf_reader, spell_field, word, maxdist))
        else:
            near.update(leaf_reader.terms_within(spell_field, word, maxdist, prefix=0))
    scored = sorted(
        ((0 - (maxdist + (1.0 / (reader.frequency(field, w) or 1) * 0.5)), w) for w in near),
        reverse=True,
    )
    # the spelling field has no postings per document (Whoosh files every word under document
    # 0), so whether a reader may see a word is asked of the field itself, by its stem
    return next((w for _, w in scored if visible(field, stem(w))), None)


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
