"""The query language, parsed into a small tree that every backend compiles its own way.

Several words mean all of them; ``"exact phrases"``; ``AND`` (the default), ``OR``, ``NOT`` and
``-word``; ``prefix*``; and field filters ``title:`` ``tag:`` ``author:`` ``kind:`` ``status:``
``in:subtree`` and ``updated:`` with ``>``, ``>=``, ``<``, ``<=``, a single day/month/year or a
``from..to`` range. The parser never fails: broken syntax (an unbalanced quote, a lone ``NOT``,
an unknown field, a bad date) degrades to the most sensible search and a note for the user.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

WORD_RE = re.compile(r"[^\W_]+", re.UNICODE)

# Filter fields and their aliases; the value after the colon is matched exactly (lower-cased).
FIELD_ALIASES = {
    "title": "title",
    "tag": "tag",
    "tags": "tag",
    "author": "author",
    "by": "author",
    "kind": "kind",
    "type": "kind",
    "is": "kind",
    "status": "status",
    "in": "in",
    "under": "in",
    "updated": "updated",
    "date": "updated",
}
KIND_ALIASES = {
    "pages": "page",
    "threads": "thread",
    "discussion": "thread",
    "discussions": "thread",
    "comments": "comment",
    "decisions": "decision",
    "workshops": "workshop",
    "proposals": "proposal",
}
# Common words that alone would match nearly everything; dropped from free text (not phrases).
STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "but",
        "by",
        "for",
        "if",
        "in",
        "into",
        "is",
        "it",
        "no",
        "not",
        "of",
        "on",
        "or",
        "such",
        "that",
        "the",
        "their",
        "then",
        "there",
        "these",
        "they",
        "this",
        "to",
        "was",
        "will",
        "with",
    ]
)
MAX_CLAUSES = 24  # a pasted essay searches for its first words rather than thousands of terms


@dataclass(frozen=True)
class Word:
    """One word; ``field`` None means any text field; ``prefix`` for an explicit ``word*``."""

    text: str
    field: str | None = None
    prefix: bool = False


@dataclass(frozen=True)
class Phrase:
    """Words that must appear next to each other, in this order."""

    words: tuple[str, ...]
    field: str | None = None


@dataclass(frozen=True)
class Match:
    """An exact keyword filter: tag, author, kind, status, or ``in`` (a page subtree)."""

    field: str
    value: str


@dataclass(frozen=True)
class DateRange:
    """``updated`` within [start, end) (either end open)."""

    start: datetime | None
    end: datetime | None


@dataclass(frozen=True)
class AnyOf:
    """At least one of the items (``a OR b``)."""

    items: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    """Documents that do not match the item (``-word``, ``NOT word``)."""

    item: Node


Node = Word | Phrase | Match | DateRange | AnyOf | Not


@dataclass(frozen=True)
class ParsedQuery:
    """All clauses must hold; ``notes`` explain anything that was read differently."""

    text: str
    clauses: tuple[Node, ...] = ()
    notes: tuple[str, ...] = field(default=())

    @property
    def is_empty(self) -> bool:
        """Whether there is nothing to search for."""
        return not self.clauses

    @property
    def has_positive(self) -> bool:
        """Whether some clause selects documents (rather than only excluding some)."""
        return any(not isinstance(c, Not) for c in self.clauses)

    def highlight_words(self) -> list[tuple[str, bool]]:
        """Words to highlight in snippets, each with whether it is an explicit prefix."""
        out: list[tuple[str, bool]] = []

        def walk(node: Node) -> None:
            if isinstance(node, Word):
                out.append((node.text, node.prefix))
            elif isinstance(node, Phrase):
                out.extend((w, False) for w in node.words)
            elif isinstance(node, AnyOf):
                for item in node.items:
                    walk(item)

        for clause in self.clauses:
            walk(clause)
        return out

    def free_words(self) -> list[str]:
        """Plain words (not prefixes, not excluded), for "did you mean"."""
        return [w for w, prefix in self.highlight_words() if not prefix]

    def filters(self, name: str) -> list[str]:
        """Values of the top-level ``name:`` filters (used to show active facets)."""
        return [c.value for c in self.clauses if isinstance(c, Match) and c.field == name]


# --- tokenising ------------------------------------------------------------------------------


@dataclass
class _Token:
    kind: str  # "op", "item"
    value: str = ""
    node: Node | None = None
    negated: bool = False


_FIELD_RE = re.compile(r"^([A-Za-z]+):(.*)$", re.DOTALL)


def _words(text: str) -> list[str]:
    return [w.lower() for w in WORD_RE.findall(text)]


def _text_node(raw: str, field_name: str | None, quoted: bool) -> Node | None:
    """A word, a prefix, or (for quoted or punctuated text such as order-to-cash) a phrase."""
    prefix = raw.endswith("*") and not quoted
    words = _words(raw)
    if not words:
        return None
    if quoted or len(words) > 1:
        if len(words) == 1:
            return Word(words[0], field=field_name)
        return Phrase(tuple(words), field=field_name)
    return Word(words[0], field=field_name, prefix=prefix)


def _period(text: str) -> tuple[datetime, datetime] | None:
    """'2026' / '2026-03' / '2026-03-14' -> [start, end) in UTC; None when not a date."""
    text = text.strip()
    try:
        if re.fullmatch(r"\d{4}", text):
            y = int(text)
            return _utc(date(y, 1, 1)), _utc(date(y + 1, 1, 1))
        if m := re.fullmatch(r"(\d{4})-(\d{1,2})", text):
            y, mo = int(m[1]), int(m[2])
            start = date(y, mo, 1)
            end = date(y + 1, 1, 1) if mo == 12 else date(y, mo + 1, 1)
            return _utc(start), _utc(end)
        if m := re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})", text):
            day = date(int(m[1]), int(m[2]), int(m[3]))
            return _utc(day), _utc(day + timedelta(days=1))
    except ValueError:
        return None
    return None


def _utc(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def parse_dates(expr: str) -> DateRange | None:
    """``>2026-01-01``, ``<=2025``, ``2026-03``, ``2026-01-01..2026-02-15``; None if unreadable."""
    expr = expr.strip()
    if ".." in expr:
        left, _, right = expr.partition("..")
        lo = _period(left) if left.strip() else None
        hi = _period(right) if right.strip() else None
        if (left.strip() and lo is None) or (right.strip() and hi is None) or (not lo and not hi):
            return None
        return DateRange(lo[0] if lo else None, hi[1] if hi else None)
    for op in (">=", "<=", ">", "<", "="):
        if expr.startswith(op):
            p = _period(expr[len(op) :])
            if p is None:
                return None
            return {
                ">=": DateRange(p[0], None),
                "<=": DateRange(None, p[1]),
                ">": DateRange(p[1], None),
                "<": DateRange(None, p[0]),
                "=": DateRange(p[0], p[1]),
            }[op]
    p = _period(expr)
    return DateRange(p[0], p[1]) if p else None


def _field_node(name: str, value: str, quoted: bool, notes: list[str]) -> Node | None:
    canonical = FIELD_ALIASES[name]
    value = value.strip()
    if not value:
        return None
    if canonical == "title":
        return _text_node(value, "title", quoted)
    if canonical == "updated":
        found = parse_dates(value)
        if found is None:
            notes.append(f"Ignored the date filter {name}:{value} (use e.g. updated:>2026-01-01).")
        return found
    value = value.lower()
    if canonical == "kind":
        value = KIND_ALIASES.get(value, value)
    if canonical == "in":
        value = value.removeprefix("/").removeprefix("wiki/").strip("/")
    return Match(canonical, value) if value else None


def _tokens(text: str, notes: list[str]) -> list[_Token]:
    out: list[_Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace() or ch in "()":
            i += 1
            continue
        negated = False
        if ch in "-+" and i + 1 < n and not text[i + 1].isspace():
            negated = ch == "-"
            i += 1
            ch = text[i]
        if ch == '"':
            end = text.find('"', i + 1)
            if end == -1:
                notes.append("A quote was not closed; searched for the quoted words as a phrase.")
                end = n
            node = _text_node(text[i + 1 : end], None, quoted=True)
            if node is not None:
                out.append(_Token("item", node=node, negated=negated))
            i = end + 1
            continue
        j = i
        while j < n and not text[j].isspace() and text[j] not in "()":
            j += 1
        raw = text[i:j]
        m = _FIELD_RE.match(raw)
        if m and m[1].lower() in FIELD_ALIASES:
            name, value = m[1].lower(), m[2]
            quoted = value.startswith('"')
            if quoted:
                end = text.find('"', i + len(m[1]) + 2)
                if end == -1:
                    notes.append("A quote was not closed; read it up to the end of the search.")
                    end = n
                value = text[i + len(m[1]) + 2 : end]
                j = end + 1
            node = _field_node(name, value, quoted, notes)
            if node is not None:
                out.append(_Token("item", node=node, negated=negated))
            i = j
            continue
        if raw in ("AND", "OR", "NOT") and not negated:
            out.append(_Token("op", value=raw))
        else:
            node = _text_node(raw, None, quoted=False)
            if node is not None:
                out.append(_Token("item", node=node, negated=negated))
        i = j
    return out


# --- parsing ----------------------------------------------------------------------------------


def parse(text: str) -> ParsedQuery:
    """Parse what the user typed; never raises."""
    text = (text or "")[:1000]
    notes: list[str] = []
    tokens = _tokens(text, notes)

    # NOT applies to the next item; a NOT with nothing after it is dropped
    items: list[_Token] = []
    pending_not = False
    for tok in tokens:
        if tok.kind == "op" and tok.value == "NOT":
            pending_not = not pending_not
            continue
        if tok.kind == "item" and pending_not:
            tok.negated = not tok.negated
            pending_not = False
        items.append(tok)
    if pending_not:
        notes.append("NOT needs a word after it; it was ignored.")

    # OR binds neighbours into one group; AND is the default and so a no-op
    groups: list[list[_Token]] = []
    joining = False
    for tok in items:
        if tok.kind == "op":
            joining = tok.value == "OR" and bool(groups)
            continue
        if joining and groups:
            groups[-1].append(tok)
        else:
            groups.append([tok])
        joining = False

    clauses: list[Node] = []
    for group in groups:
        nodes = [_negate(t) for t in group if t.node is not None]
        if len(nodes) == 1:
            clauses.append(nodes[0])
        elif nodes:
            clauses.append(AnyOf(tuple(nodes)))

    clauses = _drop_stopwords(clauses)
    if len(clauses) > MAX_CLAUSES:
        notes.append(f"Only the first {MAX_CLAUSES} terms were searched.")
        clauses = clauses[:MAX_CLAUSES]
    # deduplicate, keeping order
    unique = tuple(dict.fromkeys(clauses))
    return ParsedQuery(text=text, clauses=unique, notes=tuple(notes))


def _negate(tok: _Token) -> Node:
    assert tok.node is not None
    return Not(tok.node) if tok.negated else tok.node


def _drop_stopwords(clauses: list[Node]) -> list[Node]:
    def is_stop(node: Node) -> bool:
        return (
            isinstance(node, Word)
            and node.field is None
            and not node.prefix
            and node.text in STOPWORDS
        )

    kept = [c for c in clauses if not is_stop(c)]
    # a search made only of common words ("to be or not to be") still searches for them
    return kept if any(not isinstance(c, Not) for c in kept) or not clauses else clauses


def with_filter(text: str, name: str, value: str) -> str:
    """The query text with ``name:value`` added (a facet link), quoted when needed."""
    token = f'{name}:"{value}"' if re.search(r"[\s\"]", value) else f"{name}:{value}"
    parsed = parse(text)
    if value.lower() in parsed.filters(name):
        return text
    return f"{text.strip()} {token}".strip()


def without_filter(text: str, name: str, value: str) -> str:
    """The query text with a ``name:value`` filter removed (to clear an active facet)."""
    pattern = re.compile(
        rf'(?<!\S){re.escape(name)}:(?:"{re.escape(value)}"|{re.escape(value)})(?!\S)', re.I
    )
    return re.sub(r"\s{2,}", " ", pattern.sub("", text)).strip()
