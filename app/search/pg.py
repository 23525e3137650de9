"""The PostgreSQL full-text backend: one shared index for several app servers.

Documents live in ``search_document``; its ``tsv`` column is a stored generated ``tsvector``
(title A, headings and tags B, body D) with a GIN index (migration 0003). ``enqueue`` writes the
document in the same transaction as the change (see ``service._index_in_transaction``); the
outbox and the indexer cover anything that could not be written there. Ranking is
``ts_rank_cd`` over ``rank_tsv`` (a small vector: title, headings, tags and the start of the
body; migration 0010) with the gentle backlinks/recency boost; ``ts_headline`` runs only on the
rows of the requested page.
"""

from __future__ import annotations

import difflib
import hashlib
import re
import time
from collections.abc import Iterable, Sequence
from contextlib import nullcontext
from datetime import UTC
from typing import Any

from markupsafe import Markup
from sqlalchemy import Connection, Engine, delete, text
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import Session, col, select

from app.search import snippets, sources
from app.search.documents import (
    Facet,
    Hit,
    Progress,
    SearchDocument,
    SearchRequest,
    SearchResults,
    doc_key,
)
from app.search.models import SearchDocumentRow
from app.search.query import AnyOf, DateRange, Match, Node, Not, ParsedQuery, Phrase, Word

EN = "'english'::regconfig"
SIMPLE = "'simple'::regconfig"
HEADLINE = (
    f'StartSel="{snippets.START}", StopSel="{snippets.STOP}", MaxWords=32, MinWords=12, '
    'MaxFragments=2, FragmentDelimiter=" … "'
)
TITLE_HEADLINE = f'StartSel="{snippets.START}", StopSel="{snippets.STOP}", HighlightAll=true'
BOOST = (
    "(1 + 0.05 * least(1.0, ln(1 + greatest(d.backlinks, 0)) / ln(51)) + 0.05 * "
    "exp(-greatest(extract(epoch from (now() - d.updated_at)), 0) / 86400.0 / 180.0))"
)
SUGGEST_LIMIT = 3


def _scope(scope: str) -> str:
    """The stored form of a scope: a restricted root may be as long as the column, and its scope
    is longer by the prefix, so long ones are stored as a digest (searches ask for the same)."""
    if len(scope) <= 255:
        return scope
    return "sha256:" + hashlib.sha256(scope.encode()).hexdigest()


def _row(doc: SearchDocument) -> dict[str, Any]:
    return {
        "kind": doc.kind,
        "ref_id": doc.ref_id,
        "title": doc.title,
        "headings": doc.headings,
        "body": doc.body,
        "tags_text": " ".join(doc.tags),
        "tags": list(doc.tags),
        "authors": list(doc.authors),
        "path": doc.path[:255],
        "status": doc.status,
        "scope": _scope(doc.scope),
        "url": doc.url,
        "extra": {"crumbs": [list(c) for c in doc.crumbs], "context": doc.context},
        "updated_at": doc.updated,
        "backlinks": doc.backlinks,
        "version": doc.version,
    }


class _Compiler:
    """The parsed query as a SQL condition and a tsquery for ranking (bound parameters only)."""

    def __init__(self) -> None:
        self.params: dict[str, Any] = {}

    def param(self, value: Any) -> str:
        name = f"p{len(self.params)}"
        self.params[name] = value
        return f":{name}"

    def word(self, node: Word) -> str:
        weight = "A" if node.field == "title" else ""
        lexeme = "'" + node.text.replace("'", "") + "'"
        prefix = self.param(f"{lexeme}:*{weight}")
        if node.prefix:
            return f"to_tsquery({SIMPLE}, {prefix})"
        exact = self.param(f"{lexeme}:{weight}" if weight else lexeme)
        return f"(to_tsquery({EN}, {exact}) || to_tsquery({SIMPLE}, {prefix}))"

    def tsquery(self, node: Node) -> str | None:
        """The tsquery of a text clause (None for filters)."""
        if isinstance(node, Word):
            return self.word(node)
        if isinstance(node, Phrase):
            quoted = self.param('"' + " ".join(node.words) + '"')
            return f"websearch_to_tsquery({EN}, {quoted})"
        if isinstance(node, AnyOf):
            parts = [self.tsquery(i) for i in node.items if not isinstance(i, Not)]
            found = [p for p in parts if p]
            return "(" + " || ".join(found) + ")" if found else None
        return None

    def condition(self, node: Node) -> str:
        if isinstance(node, Word):
            return f"d.tsv @@ {self.word(node)}"
        if isinstance(node, Phrase):
            q = self.tsquery(node)
            if node.field == "title":
                return f"to_tsvector({EN}, d.title) @@ {q}"
            return f"d.tsv @@ {q}"
        if isinstance(node, Match):
            value = self.param(node.value)
            if node.field == "tag":
                return f"(d.tags::jsonb ? {value})"
            if node.field == "author":
                return f"(d.authors::jsonb ? {value})"
            if node.field == "in":
                like = self.param(node.value.replace("%", r"\%").replace("_", r"\_") + "/%")
                return f"(d.path = {value} OR d.path LIKE {like})"
            column = "d.kind" if node.field == "kind" else "d.status"
            return f"{column} = {value}"
        if isinstance(node, DateRange):
            parts = ["TRUE"]
            if node.start:
                parts.append(f"d.updated_at >= {self.param(node.start)}")
            if node.end:
                parts.append(f"d.updated_at < {self.param(node.end)}")
            return "(" + " AND ".join(parts) + ")"
        if isinstance(node, AnyOf):
            return "(" + " OR ".join(self.condition(i) for i in node.items) + ")"
        return f"NOT ({self.condition(node.item)})"

    def compile(self, query: ParsedQuery) -> tuple[str, str | None]:
        conditions = [self.condition(c) for c in query.clauses] or ["TRUE"]
        ranked = [q for c in query.clauses if (q := self.tsquery(c))]
        return " AND ".join(conditions), (" && ".join(ranked) if ranked else None)


class PostgresBackend:
    """Full-text search in PostgreSQL over ``search_document``."""

    name = "postgres"

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- writing

    @staticmethod
    def apply_in(
        session: Session, upserts: Sequence[SearchDocument], deletes: Sequence[str]
    ) -> None:
        """Write documents inside the caller's transaction."""
        for key in deletes:
            kind, _, ref = key.partition(":")
            session.execute(
                delete(SearchDocumentRow).where(
                    col(SearchDocumentRow.kind) == kind, col(SearchDocumentRow.ref_id) == int(ref)
                )
            )
        if upserts:
            rows = [_row(d) for d in upserts]
            stmt = insert(SearchDocumentRow).values(rows)
            update = {k: stmt.excluded[k] for k in rows[0] if k not in ("kind", "ref_id")}
            session.execute(
                stmt.on_conflict_do_update(constraint="uq_search_document_kind_ref", set_=update)
            )

    @classmethod
    def write_in(cls, session: Session, keys: Sequence[tuple[str, int]]) -> None:
        """Load these documents from their sources and write them in the caller's transaction."""
        by_kind: dict[str, list[int]] = {}
        for kind, ref_id in keys:
            by_kind.setdefault(kind, []).append(ref_id)
        registered = sources.sources()
        upserts: list[SearchDocument] = []
        deletes: list[str] = []
        for kind, ids in by_kind.items():
            source = registered.get(kind)
            if source is None:
                raise LookupError(f"no search source for {kind!r}")
            docs = source.load(session, ids)
            upserts += docs
            found = {d.ref_id for d in docs}
            deletes += [doc_key(kind, i) for i in ids if i not in found]
        cls.apply_in(session, upserts, deletes)

    def apply(self, upserts: Sequence[SearchDocument], deletes: Sequence[str]) -> None:
        """Add/replace and remove documents in one transaction."""
        with Session(self.engine) as session:
            self.apply_in(session, upserts, deletes)
            session.commit()

    def upsert(self, docs: Sequence[SearchDocument]) -> None:
        """Add or replace documents."""
        self.apply(docs, [])

    def delete(self, keys: Sequence[str]) -> None:
        """Remove documents by key."""
        self.apply([], keys)

    def rebuild(
        self, docs: Iterable[SearchDocument], *, total: int, progress: Progress | None = None
    ) -> int:
        """Replace every document in one transaction; searches see the old set until commit."""
        count = 0
        batch: list[SearchDocument] = []
        with Session(self.engine) as session:
            session.execute(delete(SearchDocumentRow))
            for doc in docs:
                batch.append(doc)
                count += 1
                if len(batch) >= 500:
                    self.apply_in(session, batch, [])
                    batch.clear()
                if progress is not None:
                    progress(count, total)
            self.apply_in(session, batch, [])
            session.commit()
        return count

    def ensure(self) -> None:
        """Nothing to create: the table comes with the migrations."""

    def close(self) -> None:
        """Nothing held between searches."""

    def indexed_versions(self) -> dict[str, str]:
        """Key -> version of every stored document."""
        with Session(self.engine) as session:
            rows = session.exec(
                select(SearchDocumentRow.kind, SearchDocumentRow.ref_id, SearchDocumentRow.version)
            ).all()
        return {doc_key(k, i): v for k, i, v in rows}

    def size_bytes(self) -> int:
        """Bytes of the table, its TOAST data and indexes."""
        with self.engine.connect() as conn:
            size = conn.execute(text("SELECT pg_total_relation_size('search_document')")).scalar()
        return int(size or 0)

    # -- searching

    def search(
        self, request: SearchRequest, *, connection: Connection | None = None
    ) -> SearchResults:
        """Ranked, permission-filtered results; ts_headline only on the returned page."""
        started = time.perf_counter()
        query = request.query
        result = SearchResults(
            query=query, hits=[], total=0, page=request.page, per_page=request.per_page
        )
        if query.is_empty or not request.kinds:
            return result
        c = _Compiler()
        where, tsq = c.compile(query)
        kinds = c.param(sorted(request.kinds))
        scopes = c.param(sorted(map(_scope, request.scopes)))
        where = f"({where}) AND d.kind = ANY({kinds}) AND d.scope = ANY({scopes})"
        tsq_sql = tsq or "NULL::tsquery"
        # ranked on the small rank vector (title, headings, tags, the body's first 1,000
        # characters; migration 0010) kept in the row: ranking on the full vector read ~5 KB of
        # TOAST per matching page. Matching uses the full vector.
        rank = f"ts_rank_cd(d.rank_tsv, {tsq_sql}) * {BOOST}" if tsq else "0"
        limit, offset = c.param(request.per_page), c.param((request.page - 1) * request.per_page)
        headline = (
            f"ts_headline({EN}, top.body, {tsq_sql}, {c.param(HEADLINE)})"
            if tsq and request.snippets
            else "''"
        )
        title = f"ts_headline({EN}, top.title, {tsq_sql}, {c.param(TITLE_HEADLINE)})"
        # One statement: the matches are found (GIN) and ranked once, counted from the same
        # materialised set rather than by a second scan, and only the ids and ranks go through
        # the sort; the page's rows are fetched by id for ts_headline.
        sql = f"""
            WITH matched AS MATERIALIZED (
                SELECT d.id, d.updated_at, {rank} AS rank FROM search_document d WHERE {where}
            ), best AS (
                SELECT m.id, m.rank FROM matched m
                ORDER BY m.rank DESC, m.updated_at DESC, m.id
                LIMIT {limit} OFFSET {offset}
            ), top AS (
                SELECT d.*, best.rank FROM best JOIN search_document d ON d.id = best.id
            )
            SELECT top.*, {headline} AS snippet, {title if tsq else "top.title"} AS title_marked,
                   (SELECT count(*) FROM matched) AS total
            FROM top
            ORDER BY top.rank DESC, top.updated_at DESC, top.id
        """
        # the request's own connection when given: taking a second one from the pool while
        # the request holds one let 20 concurrent searches exhaust the pool and wait for its
        # 30 s timeout
        opened = nullcontext(connection) if connection is not None else self.engine.connect()
        with opened as conn:
            rows = conn.execute(text(sql), c.params).mappings().all()
            if rows:
                total = rows[0]["total"]
            else:  # a page past the end: still say how many there are
                total = conn.execute(
                    text(f"SELECT count(*) FROM search_document d WHERE {where}"), c.params
                ).scalar_one()
            facets = self._facets(conn, where, c.params) if request.facets else {}
            suggestion = None
            if request.suggest and total < SUGGEST_LIMIT:
                suggestion = self._suggest(conn, query, request)
        result.total = int(total)
        result.facets = facets
        result.suggestion = suggestion
        result.hits = [self._hit(r, request) for r in rows]
        result.elapsed_ms = (time.perf_counter() - started) * 1000
        return result

    @staticmethod
    def _hit(r: Any, request: SearchRequest) -> Hit:
        extra = r["extra"] or {}
        updated = r["updated_at"]
        if updated.tzinfo is None:
            updated = updated.replace(tzinfo=UTC)
        return Hit(
            kind=r["kind"],
            ref_id=r["ref_id"],
            title=r["title"],
            title_html=snippets.from_markers(r["title_marked"] or r["title"]),
            snippet=snippets.from_markers(r["snippet"] or "") if request.snippets else Markup(""),
            url=r["url"],
            path=r["path"],
            crumbs=tuple((a, b) for a, b in extra.get("crumbs", [])),
            authors=tuple(r["authors"] or ()),
            tags=tuple(r["tags"] or ()),
            status=r["status"],
            updated=updated,
            score=float(r["rank"] or 0),
            context=extra.get("context", ""),
        )

    @staticmethod
    def _facets(conn: Any, where: str, params: dict[str, Any]) -> dict[str, list[Facet]]:
        out: dict[str, list[Facet]] = {}
        queries = {
            "kind": f"SELECT d.kind AS v, count(*) AS n FROM search_document d WHERE {where} "
            "GROUP BY d.kind",
            "tag": "SELECT t AS v, count(*) AS n FROM search_document d, "
            f"jsonb_array_elements_text(d.tags::jsonb) t WHERE {where} GROUP BY t",
            "author": "SELECT a AS v, count(*) AS n FROM search_document d, "
            f"jsonb_array_elements_text(d.authors::jsonb) a WHERE {where} GROUP BY a",
        }
        for name, sql in queries.items():
            rows = conn.execute(text(sql + " ORDER BY n DESC, v LIMIT 12"), params).all()
            out[name] = [Facet(str(v), int(n)) for v, n in rows if v]
        return out

    @staticmethod
    def _suggest(conn: Any, query: ParsedQuery, request: SearchRequest) -> str | None:
        """For each word no readable document contains, the closest word of the titles and
        headings the user may read (a hidden document's words are never suggested)."""
        words = [w for w in dict.fromkeys(query.free_words()) if len(w) >= 3 and not w.isdigit()]
        readable = "d.kind = ANY(:kinds) AND d.scope = ANY(:scopes)"
        allowed = {"kinds": sorted(request.kinds), "scopes": sorted(map(_scope, request.scopes))}
        unknown = [
            w
            for w in words
            if conn.execute(
                text(
                    f"SELECT 1 FROM search_document d WHERE d.tsv @@ to_tsquery({EN}, :w) "
                    f"AND {readable} LIMIT 1"
                ),
                {"w": "'" + w.replace("'", "") + "'", **allowed},
            ).first()
            is None
        ]
        if not unknown:
            return None
        # each word once per document, most common first (what ts_stat's ndoc ranks by)
        vocabulary = [
            str(w)
            for (w,) in conn.execute(
                text(
                    "SELECT w.word FROM search_document d, unnest(tsvector_to_array("
                    "to_tsvector('simple', d.title || ' ' || d.headings))) AS w(word) "
                    f"WHERE {readable} GROUP BY w.word ORDER BY count(*) DESC, w.word "
                    "LIMIT 20000"
                ),
                allowed,
            )
        ]
        out = query.text
        for word in unknown:
            close = difflib.get_close_matches(word, vocabulary, n=1, cutoff=0.75)
            if close:
                out = re.sub(rf"(?<!\w){re.escape(word)}(?!\w)", close[0], out, flags=re.I)
        return out if out != query.text else None
