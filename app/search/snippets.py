"""Snippets and highlighting: pick the best passage, escape everything, mark the matches."""

from __future__ import annotations

import math
import re
from bisect import bisect_left
from collections.abc import Callable
from itertools import accumulate

from markupsafe import Markup, escape

TOKEN_RE = re.compile(r"[^\W_]+", re.UNICODE)
SPLIT_RE = re.compile(r"([^\W_]+)", re.UNICODE)
Matcher = Callable[[str], bool]

# Markers a backend (PostgreSQL's ts_headline) puts around matches in unescaped text; private-use
# code points, so text typed by users cannot fake them and they never reach the browser.
START, STOP = "\ue000", "\ue001"


class WordMatcher:
    """A matcher that remembers its answers: the 20 snippets of a results page test mostly the
    same words, so after the first few the test runs as set operations."""

    def __init__(self, test: Matcher) -> None:
        self._test = test
        self._yes: set[str] = set()
        self._no: set[str] = set()

    def __call__(self, word: str) -> bool:
        """Whether ``word`` matches."""
        return bool(self.matching({word}))

    def matching(self, words: set[str]) -> set[str]:
        """The members of ``words`` that match."""
        for word in words - self._yes - self._no:
            (self._yes if self._test(word) else self._no).add(word)
        return words & self._yes


def highlight(text: str, matches: Matcher) -> Markup:
    """The whole of ``text``, escaped, with matching words in <mark>."""
    return _render(text, [(m.start(), m.end()) for m in TOKEN_RE.finditer(text) if matches(m[0])])


def snippet(text: str, matches: Matcher, *, words: int = 32, fragments: int = 2) -> Markup:
    """Up to ``fragments`` passages of about ``words`` words with the densest matches."""
    # split() with a group gives [gap, word, gap, word, …, gap] and the running sum of their
    # lengths gives every word's offsets, all in C: ~3x faster than a match object per word
    # and a matcher call per word (20 snippets of 600-word bodies were ~15 ms of a search)
    parts = SPLIT_RE.split(text)
    tokens = parts[1::2]
    if not tokens:
        return Markup("")
    ends = list(accumulate(map(len, parts)))
    spans = list(zip(ends[0::2], ends[1::2], strict=False))
    distinct = set(tokens)
    if isinstance(matches, WordMatcher):
        good = matches.matching(distinct)
    else:
        good = {w for w in distinct if matches(w)}
    where = [i for i, w in enumerate(tokens) if w in good]
    if not where:
        return _cut(text, spans, 0, min(len(tokens), words * fragments // 2 + 8), [])
    # score windows starting near each match by the distinct matching words they hold
    chosen: list[tuple[int, int]] = []
    taken: list[tuple[int, int]] = []
    for _ in range(fragments):
        best, best_lo = -1.0, -1
        for pos in where:
            lo = max(0, pos - 4)
            hi = lo + words
            if any(a < hi and lo < b for a, b in taken):
                continue
            inside = where[bisect_left(where, lo) : bisect_left(where, hi)]
            different = {tokens[i].lower() for i in inside}
            score = len(different) + 0.1 * len(inside) - 0.0001 * lo
            if score > best:
                best, best_lo = score, lo
        if best_lo < 0:
            break
        end = min(len(tokens), best_lo + words)
        chosen.append((best_lo, end))
        taken.append((best_lo - words // 2, end + words // 2))
    chosen.sort()
    marks = [spans[i] for i in where]
    cuts = [_cut(text, spans, a, b, marks) for a, b in chosen]
    return Markup(" ").join(cuts)


def _cut(
    text: str, spans: list[tuple[int, int]], first: int, last: int, marks: list[tuple[int, int]]
) -> Markup:
    start = 0 if first == 0 else spans[first][0]
    end = len(text) if last >= len(spans) else spans[last - 1][1]
    inner = [(a - start, b - start) for a, b in marks if a >= start and b <= end]
    out = _render(text[start:end].replace("\n", " "), inner)
    prefix = Markup("… ") if start > 0 else Markup("")
    suffix = Markup(" …") if end < len(text) else Markup("")
    return prefix + out + suffix


def _render(text: str, marks: list[tuple[int, int]]) -> Markup:
    out: list[str] = []
    pos = 0
    for a, b in marks:
        out.append(str(escape(text[pos:a])))
        out.append(f"<mark>{escape(text[a:b])}</mark>")
        pos = b
    out.append(str(escape(text[pos:])))
    return Markup("".join(out))


def from_markers(text: str) -> Markup:
    """Escape text a backend marked with START/STOP and turn the markers into <mark>."""
    out: list[str] = []
    for i, part in enumerate(text.split(START)):
        if i == 0:
            out.append(str(escape(part.replace(STOP, ""))))
            continue
        marked, _, rest = part.partition(STOP)
        out.append(f"<mark>{escape(marked)}</mark>{escape(rest.replace(STOP, ''))}")
    return Markup("".join(out))


def gentle_boost(score: float, *, backlinks: int, age_days: float) -> float:
    """At most +10%: links and recent edits order near-equal matches, never overturn a strong one.

    A title match outscores a body match by far more than 10% (title weighs several times the
    body), so this can only break near-ties.
    """
    links = min(1.0, math.log1p(max(0, backlinks)) / math.log(51))
    recent = math.exp(-max(0.0, age_days) / 180.0)
    return score * (1.0 + 0.05 * links + 0.05 * recent)
