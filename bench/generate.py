"""A deterministic, realistic wiki for benchmarks: pages with headings, links and tags, comments.

    python -m bench.generate --data-dir /tmp/atrium-bench --pages 10000 --comments 50000
    # issue #8's full set: ~20 revisions a page, 500 decisions, a 500-revision page, a workshop
    python -m bench.generate --data-dir /tmp/atrium-bench --revisions 20 --decisions 500 \
        --long-history 500 --workshop-ideas 40

Rows are written directly (in bulk) rather than through the services, so generating 10,000
pages takes seconds rather than minutes; the rendered HTML is built alongside the markdown, the
way the pages service caches it. Comments are generated only when the discussions tables exist.
"""

from __future__ import annotations

import argparse
import importlib
import random
from datetime import UTC, datetime, timedelta
from html import escape
from pathlib import Path

from sqlalchemy import insert, inspect, text

from app.accounts.models import Role, User
from app.core.config import Settings
from app.core.db import make_engine, migrate, open_session
from app.pages.models import Page, PageLink, RenderedRevision, Revision, RevisionKind
from bench.activity import add_decisions, add_workshop, edit_chain

SEED = 20261125
LONG_HISTORY = "bench/long-history"
DOMAIN = [
    "service",
    "portfolio",
    "demand",
    "capacity",
    "governance",
    "incident",
    "problem",
    "change",
    "release",
    "risk",
    "supplier",
    "contract",
    "budget",
    "forecast",
    "architecture",
    "platform",
    "cloud",
    "security",
    "identity",
    "access",
    "onboarding",
    "offboarding",
    "request",
    "fulfilment",
    "catalogue",
    "agreement",
    "escalation",
    "roadmap",
    "backlog",
    "priority",
    "stakeholder",
    "sponsor",
    "steering",
    "committee",
    "review",
    "approval",
    "audit",
    "compliance",
    "policy",
    "standard",
    "process",
    "procedure",
    "workflow",
    "handover",
    "operation",
    "monitoring",
    "availability",
    "continuity",
    "recovery",
    "backup",
    "licence",
    "asset",
    "configuration",
    "inventory",
    "vendor",
    "invoice",
    "payment",
    "ledger",
    "cost",
    "allocation",
    "chargeback",
    "showback",
    "value",
    "outcome",
    "metric",
    "target",
    "baseline",
    "maturity",
    "capability",
    "team",
    "role",
    "responsibility",
    "accountability",
    "decision",
    "workshop",
    "proposal",
    "retrospective",
    "feedback",
]
GLUE = [
    "the",
    "a",
    "of",
    "to",
    "and",
    "in",
    "for",
    "with",
    "on",
    "by",
    "as",
    "is",
    "are",
    "be",
    "will",
    "that",
    "this",
    "from",
    "at",
    "or",
    "we",
    "our",
]
TAGS = [f"{w}" for w in DOMAIN[:40]]
SECTIONS = ["core-processes", "services", "teams", "governance", "architecture", "policies"]


def _vocabulary(rng: random.Random, size: int = 4000) -> list[str]:
    syllables = [
        "ka",
        "lo",
        "mi",
        "ne",
        "ru",
        "sa",
        "te",
        "vo",
        "zi",
        "pa",
        "qu",
        "ri",
        "ten",
        "dor",
        "mel",
        "fin",
        "gra",
    ]
    words = set(DOMAIN)
    while len(words) < size:
        words.add("".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))))
    return sorted(words)


def _sentence(rng: random.Random, vocab: list[str], weights: list[float]) -> list[str]:
    n = rng.randint(8, 18)
    words = rng.choices(vocab, weights=weights, k=n)
    for i in range(0, n, 3):
        words[i] = rng.choice(GLUE)
    return words


def build_page(
    rng: random.Random, vocab: list[str], weights: list[float], titles: list[str]
) -> tuple[str, str, list[str], list[str]]:
    """(markdown, html, tags, linked titles) of about 600 words."""
    md: list[str] = []
    html: list[str] = []
    links: list[str] = []
    words = 0
    while words < 600:
        heading = " ".join(rng.choices(DOMAIN, k=rng.randint(1, 3))).capitalize()
        md.append(f"## {heading}\n")
        html.append(f'<h2 id="h-{len(html)}">{escape(heading)}</h2>')
        for _ in range(rng.randint(2, 3)):
            sentences = []
            for _ in range(rng.randint(3, 5)):
                s = _sentence(rng, vocab, weights)
                words += len(s)
                sentences.append(" ".join(s).capitalize() + ".")
            para_md = " ".join(sentences)
            para_html = escape(para_md)
            if rng.random() < 0.5:
                target = titles[rng.randrange(len(titles))]
                links.append(target)
                para_md += f" See [[{target}]]."
                para_html += f' See <a class="wikilink" href="/wiki/x">{escape(target)}</a>.'
            md.append(para_md + "\n")
            html.append(f"<p>{para_html}</p>")
    tags = sorted(set(rng.sample(TAGS, rng.randint(1, 4))))
    return "\n".join(md), "\n".join(html), tags, links


def generate(
    settings: Settings,
    *,
    pages: int,
    comments: int,
    revisions: int = 1,
    decisions: int = 0,
    long_history: int = 0,
    workshop_ideas: int = 0,
    seed: int = SEED,
) -> dict[str, int]:
    """Fill an empty, migrated database; returns counts.

    ``revisions`` is the average number of revisions per page (1 to 2 * revisions - 1 each,
    each one an edit of one paragraph of the previous); ``long_history`` adds the page
    ``bench/long-history`` with that many revisions; ``decisions`` and ``workshop_ideas`` (a
    live workshop with that many ideas, when > 0) go through their services.
    """
    rng = random.Random(seed)
    migrate(settings)
    engine = make_engine(settings)
    vocab = _vocabulary(rng)
    weights = [1.0 / (rank + 1) ** 0.9 for rank in range(len(vocab))]
    rng.shuffle(weights)

    def sentence() -> str:
        return " ".join(_sentence(rng, vocab, weights)).capitalize() + "."

    titles = [
        " ".join(w.capitalize() for w in rng.sample(DOMAIN, rng.randint(2, 4))) + f" {i}"
        for i in range(pages)
    ]
    start = datetime(2025, 1, 1, tzinfo=UTC)
    made_revisions = body_bytes = 0
    with engine.begin() as conn:
        conn.execute(
            insert(User),
            [
                {
                    "username": f"user{u}",
                    "display_name": f"User {u}",
                    # a few facilitators: decisions and workshops need one
                    "role": Role.facilitator if u < 3 else Role.editor,
                    "is_active": True,
                    "password_hash": "",
                    "created_at": start,
                }
                for u in range(50)
            ],
        )
        slugs: list[str] = []
        rev_id = 0
        for i in range(0, pages, 500):
            page_rows, rev_rows, html_rows, link_rows = [], [], [], []
            for n in range(i, min(pages, i + 500)):
                body, html, tags, links = build_page(rng, vocab, weights, titles)
                slug = f"{rng.choice(SECTIONS)}/page-{n}"
                slugs.append(slug)
                when = start + timedelta(minutes=rng.randint(0, 60 * 24 * 600))
                count = rng.randint(1, 2 * revisions - 1) if revisions > 1 else 1
                for number, text_ in enumerate(edit_chain(rng, body, count, sentence), 1):
                    rev_id += 1
                    rev_rows.append(
                        _revision(rev_id, n + 1, number, slug, titles[n], tags, text_, when)
                    )
                    rev_rows[-1]["author_id"] = rng.randint(1, 50)
                    body_bytes += len(text_.encode())
                    if number < count:  # one revision: the old data set exactly
                        when += timedelta(minutes=rng.randint(5, 60 * 24 * 7))
                html_rows.append(
                    {"revision_id": rev_id, "html": html, "toc": "", "rendered_at": when}
                )
                page_rows.append(
                    {
                        "id": n + 1,
                        "slug": slug,
                        "title": titles[n],
                        "tags": tags,
                        "head": count,
                        "created_at": rev_rows[-count]["created_at"],
                        "updated_at": rev_rows[-1]["created_at"],
                    }
                )
                for target in dict.fromkeys(links):
                    link_rows.append({"source_id": n + 1, "target_slug": _slug_of(target)})
            conn.execute(insert(Page), page_rows)
            conn.execute(insert(Revision), _stored(rev_rows))
            conn.execute(insert(RenderedRevision), html_rows)
            if link_rows:
                conn.execute(insert(PageLink), link_rows)
            made_revisions += len(rev_rows)
        if long_history:
            body, _html, tags, _links = build_page(rng, vocab, weights, titles)
            page_id = pages + 1
            rows = [
                _revision(rev_id + k, page_id, k, LONG_HISTORY, "Long history", tags, text_, start)
                | {"author_id": k % 50 + 1, "created_at": start + timedelta(hours=k)}
                for k, text_ in enumerate(edit_chain(rng, body, long_history, sentence), 1)
            ]
            conn.execute(
                insert(Page),
                [
                    {
                        "id": page_id,
                        "slug": LONG_HISTORY,
                        "title": "Long history",
                        "tags": tags,
                        "head": long_history,
                        "created_at": start,
                        "updated_at": rows[-1]["created_at"],
                    }
                ],
            )
            conn.execute(insert(Revision), _stored(rows))
            made_revisions += len(rows)
            body_bytes += sum(len(str(r["body"]).encode()) for r in rows)
        made_comments = 0
        if comments and {"thread", "comment"} <= set(inspect(conn).get_table_names()):
            made_comments = _comments(conn, rng, vocab, weights, pages, comments, start)
        if conn.dialect.name == "postgresql":
            for table in ("page", "revision", "user_account"):
                conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT max(id) FROM {table}))"
                    )
                )
    counts = {
        "pages": pages,
        "revisions": made_revisions,
        "body_bytes": body_bytes,
        "comments": made_comments,
    }
    with open_session(engine, settings) as session:
        if decisions:
            counts["decisions"] = add_decisions(
                session, rng, count=decisions, slugs=slugs, words=sentence
            )
        if workshop_ideas:
            counts["workshop"] = add_workshop(
                session, rng, ideas=workshop_ideas, slugs=slugs, words=sentence
            )
    engine.dispose()
    return counts


def _stored(rows: list[dict[str, object]]) -> list[dict[str, object]]:
    """Rows as the revision table stores them: plain ``body``, or compressed when the app's
    revision storage (app.pages.storage) is in use; each page's rows are in order."""
    if "body" in Revision.__table__.columns:  # type: ignore[attr-defined]
        return rows
    storage = importlib.import_module("app.pages.storage")
    encoded: list[dict[str, object]] = storage.encode_rows(rows)
    return encoded


def _revision(
    rev_id: int,
    page_id: int,
    number: int,
    slug: str,
    title: str,
    tags: list[str],
    body: str,
    when: datetime,
) -> dict[str, object]:
    return {
        "id": rev_id,
        "page_id": page_id,
        "number": number,
        "kind": RevisionKind.create if number == 1 else RevisionKind.edit,
        "slug": slug,
        "title": title,
        "tags": tags,
        "body": body,
        "summary": "" if number == 1 else "Touched up a paragraph",
        "author_id": None,
        "created_at": when,
    }


def _slug_of(title: str) -> str:
    return "-".join(title.lower().split())


def _comments(
    conn: object,
    rng: random.Random,
    vocab: list[str],
    weights: list[float],
    pages: int,
    comments: int,
    start: datetime,
) -> int:
    from app.discussions.models import Comment, Thread

    threads = max(1, comments // 10)
    rows = []
    for t in range(threads):
        when = start + timedelta(minutes=rng.randint(0, 60 * 24 * 600))
        rows.append(
            {
                "id": t + 1,
                "page_id": rng.randint(1, pages),
                "title": " ".join(rng.choices(DOMAIN, k=4)).capitalize(),
                "author_id": rng.randint(1, 50),
                "comment_count": 10,
                "created_at": when,
                "last_activity_at": when,
            }
        )
    conn.execute(insert(Thread), rows)  # type: ignore[attr-defined]
    for i in range(0, comments, 5000):
        batch = []
        for c in range(i, min(comments, i + 5000)):
            body = " ".join(
                " ".join(_sentence(rng, vocab, weights)) + "." for _ in range(rng.randint(1, 4))
            )
            batch.append(
                {
                    "id": c + 1,
                    "thread_id": c // 10 + 1,
                    "author_id": rng.randint(1, 50),
                    "body": body,
                    "html": f"<p>{escape(body)}</p>",
                    "version": 1,
                    "created_at": start + timedelta(minutes=rng.randint(0, 60 * 24 * 600)),
                }
            )
        conn.execute(insert(Comment), batch)  # type: ignore[attr-defined]
    return comments


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--pages", type=int, default=10_000)
    parser.add_argument("--comments", type=int, default=50_000)
    parser.add_argument("--revisions", type=int, default=1, help="average revisions per page")
    parser.add_argument("--decisions", type=int, default=0, help="decision records")
    parser.add_argument(
        "--long-history", type=int, default=0, help=f"revisions of the page {LONG_HISTORY}"
    )
    parser.add_argument("--workshop-ideas", type=int, default=0, help="a live workshop's ideas")
    args = parser.parse_args()
    settings = Settings(data_dir=args.data_dir, database_url=args.database_url, secret_key="bench")
    counts = generate(
        settings,
        pages=args.pages,
        comments=args.comments,
        revisions=args.revisions,
        decisions=args.decisions,
        long_history=args.long_history,
        workshop_ideas=args.workshop_ideas,
    )
    print(counts)


if __name__ == "__main__":
    main()
