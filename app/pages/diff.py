"""Line diffs between two revisions, with word-level highlights, as escaped HTML rows."""

from __future__ import annotations

import difflib
import re
from bisect import bisect_left
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

import cydifflib  # type: ignore[import-untyped]  # ships no type information
from markupsafe import Markup, escape

DiffKind = Literal["equal", "delete", "insert", "replace", "skip"]

# Below this similarity a changed line pair reads better as a removal plus an addition.
_MIN_PAIR_RATIO = 0.3
_TOKEN = re.compile(r"\w+|\s+|[^\w\s]")
_EMPTY = Markup("")
# Matching effort (see _match): up to _DIRECT_WORK plain SequenceMatcher; past _MAX_WORK
# without an anchor, a region is only matched at its edges rather than stall the request.
_DIRECT_WORK = 20_000
_MAX_WORK = 250_000
_MAX_DEPTH = 40

Opcode = tuple[str, int, int, int, int]

# difflib's SequenceMatcher compiled with Cython: the same algorithm, so the same matching blocks
# (test_same_rows_as_difflib), about three times faster on the long lines of word diffs
SequenceMatcher: type[difflib.SequenceMatcher[str]] = cydifflib.SequenceMatcher


@dataclass(frozen=True)
class DiffLine:
    """One row of a diff; `skip` rows stand for `skipped` collapsed unchanged lines."""

    kind: DiffKind
    old_no: int | None
    new_no: int | None
    old_html: Markup
    new_html: Markup
    skipped: int = 0


@dataclass(frozen=True)
class Diff:
    """The rows of a diff plus how many lines were added and removed."""

    lines: tuple[DiffLine, ...]
    added: int
    removed: int

    @property
    def unchanged(self) -> bool:
        """True when the two texts have the same lines."""
        return self.added == 0 and self.removed == 0


def _split_lines(text: str) -> list[str]:
    # A final newline (or its absence) is not a line of its own, as in the editor.
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text:
        return []
    return (text[:-1] if text.endswith("\n") else text).split("\n")


def diff_text(old: str, new: str, *, context: int = 3) -> Diff:
    """Diff `old` against `new`, keeping `context` unchanged lines around each change."""
    if context < 0:
        raise ValueError("context must be >= 0")
    a, b = _split_lines(old), _split_lines(new)
    opcodes = _opcodes(a, b)
    if all(tag == "equal" for tag, *_ in opcodes):
        return Diff(lines=(), added=0, removed=0)
    rows: list[DiffLine] = []
    added = removed = 0
    last = len(opcodes) - 1
    for index, (tag, i1, i2, j1, j2) in enumerate(opcodes):
        if tag == "equal":
            head = context if index > 0 else 0
            tail = context if index < last else 0
            rows.extend(_equal_rows(a, i1, i2, j1, head=head, tail=tail))
            continue
        removed += i2 - i1
        added += j2 - j1
        if tag == "delete":
            rows.extend(_delete_row(a[i], i + 1) for i in range(i1, i2))
        elif tag == "insert":
            rows.extend(_insert_row(b[j], j + 1) for j in range(j1, j2))
        else:
            rows.extend(_replace_rows(a, b, i1, i2, j1, j2))
    return Diff(lines=tuple(rows), added=added, removed=removed)


def _opcodes(a: Sequence[str], b: Sequence[str]) -> list[Opcode]:
    """Opcodes like SequenceMatcher.get_opcodes, but safe on long inputs."""
    blocks: list[tuple[int, int, int]] = []
    _match(a, b, 0, 0, blocks, depth=0)
    opcodes: list[Opcode] = []
    i = j = 0
    for ai, bj, size in [*blocks, (len(a), len(b), 0)]:
        if i < ai and j < bj:
            opcodes.append(("replace", i, ai, j, bj))
        elif i < ai:
            opcodes.append(("delete", i, ai, j, bj))
        elif j < bj:
            opcodes.append(("insert", i, ai, j, bj))
        i, j = ai + size, bj + size
        if size:
            opcodes.append(("equal", ai, i, bj, j))
    return opcodes


def _match(
    a: Sequence[str],
    b: Sequence[str],
    i0: int,
    j0: int,
    blocks: list[tuple[int, int, int]],
    *,
    depth: int,
) -> None:
    # SequenceMatcher rescans the remaining range for every block it finds, and for each
    # repeated item (blank lines, the spaces between words) every place it occurs: about
    # `work` steps per scan. Fine for a line or a short page, slow for pages of thousands
    # of lines or paragraphs written as one long line. There, as in patience diff, items
    # that occur once on each side, in the same order, anchor the match, and the gaps
    # between them are matched the same way.
    anchors: list[tuple[int, int]] = []
    work = len(a) * len(b)  # the most `work` can be: when that is small, no need to count
    if work > _DIRECT_WORK:
        count_a, count_b = Counter(a), Counter(b)
        work = sum(n * count_b[item] for item, n in count_a.items())
        if work > _DIRECT_WORK:
            anchors = _unique_anchors(a, b, count_a, count_b)
    if not anchors or depth > _MAX_DEPTH:
        if work <= _MAX_WORK:
            matcher = SequenceMatcher(None, a, b, autojunk=False)
            for bi, bj, size in matcher.get_matching_blocks()[:-1]:
                _add_block(blocks, i0 + bi, j0 + bj, size)
        else:  # only the common start and end match; the middle is reported as changed
            head = 0
            while head < min(len(a), len(b)) and a[head] == b[head]:
                head += 1
            tail = 0
            while tail < min(len(a), len(b)) - head and a[-1 - tail] == b[-1 - tail]:
                tail += 1
            if head:
                _add_block(blocks, i0, j0, head)
            if tail:
                _add_block(blocks, i0 + len(a) - tail, j0 + len(b) - tail, tail)
        return
    prev_i = prev_j = 0
    for i, j in [*anchors, (len(a), len(b))]:
        if prev_i < i and prev_j < j:
            _match(a[prev_i:i], b[prev_j:j], i0 + prev_i, j0 + prev_j, blocks, depth=depth + 1)
        if i < len(a):
            _add_block(blocks, i0 + i, j0 + j, 1)
        prev_i, prev_j = i + 1, j + 1


def _add_block(blocks: list[tuple[int, int, int]], i: int, j: int, size: int) -> None:
    if blocks and blocks[-1][0] + blocks[-1][2] == i and blocks[-1][1] + blocks[-1][2] == j:
        start_i, start_j, prev_size = blocks.pop()
        blocks.append((start_i, start_j, prev_size + size))
    else:
        blocks.append((i, j, size))


def _unique_anchors(
    a: Sequence[str], b: Sequence[str], count_a: Counter[str], count_b: Counter[str]
) -> list[tuple[int, int]]:
    """Pairs (i, j) of items unique on both sides, forming the longest in-order chain."""
    where_b = {line: j for j, line in enumerate(b) if count_b[line] == 1}
    pairs = [
        (i, where_b[line]) for i, line in enumerate(a) if count_a[line] == 1 and line in where_b
    ]
    # Patience sorting: tails[k] is the pair index ending the best chain of length k + 1.
    tails: list[int] = []
    tail_js: list[int] = []
    back: list[int] = []
    for n, (_, j) in enumerate(pairs):
        k = bisect_left(tail_js, j)
        back.append(tails[k - 1] if k else -1)
        if k == len(tails):
            tails.append(n)
            tail_js.append(j)
        else:
            tails[k] = n
            tail_js[k] = j
    chain: list[tuple[int, int]] = []
    n = tails[-1] if tails else -1
    while n >= 0:
        chain.append(pairs[n])
        n = back[n]
    return chain[::-1]


def _equal_rows(
    a: Sequence[str], i1: int, i2: int, j1: int, *, head: int, tail: int
) -> Iterator[DiffLine]:
    count = i2 - i1
    if count <= head + tail:
        head, tail = count, 0
    for i in range(i1, i1 + head):
        yield _equal_row(a[i], i + 1, j1 + (i - i1) + 1)
    if head + tail < count:
        yield DiffLine("skip", None, None, _EMPTY, _EMPTY, skipped=count - head - tail)
    for i in range(i2 - tail, i2):
        yield _equal_row(a[i], i + 1, j1 + (i - i1) + 1)


def _equal_row(line: str, old_no: int, new_no: int) -> DiffLine:
    html = escape(line)
    return DiffLine("equal", old_no, new_no, html, html)


def _delete_row(line: str, old_no: int) -> DiffLine:
    return DiffLine("delete", old_no, None, escape(line), _EMPTY)


def _insert_row(line: str, new_no: int) -> DiffLine:
    return DiffLine("insert", None, new_no, _EMPTY, escape(line))


def _replace_rows(
    a: Sequence[str], b: Sequence[str], i1: int, i2: int, j1: int, j2: int
) -> Iterator[DiffLine]:
    # Pair lines in order; a longer side's extra lines are plain removals or additions.
    paired = min(i2 - i1, j2 - j1)
    for k in range(paired):
        old_line, new_line = a[i1 + k], b[j1 + k]
        highlighted = _word_diff(old_line, new_line)
        if highlighted is None:
            yield _delete_row(old_line, i1 + k + 1)
            yield _insert_row(new_line, j1 + k + 1)
        else:
            old_html, new_html = highlighted
            yield DiffLine("replace", i1 + k + 1, j1 + k + 1, old_html, new_html)
    for i in range(i1 + paired, i2):
        yield _delete_row(a[i], i + 1)
    for j in range(j1 + paired, j2):
        yield _insert_row(b[j], j + 1)


def _word_diff(old: str, new: str) -> tuple[Markup, Markup] | None:
    """Mark changed words in a line pair, or return None when the lines are too dissimilar."""
    old_tokens, new_tokens = _TOKEN.findall(old), _TOKEN.findall(new)
    opcodes = _absorb_spaces(_opcodes(old_tokens, new_tokens), old_tokens)
    # Similarity by non-blank characters: shared spaces alone must not make two
    # unrelated lines look alike.
    kept = sum(
        len("".join("".join(old_tokens[i1:i2]).split()))
        for tag, i1, i2, _, _ in opcodes
        if tag == "equal"
    )
    total = len("".join(old.split())) + len("".join(new.split()))
    if total and 2 * kept / total < _MIN_PAIR_RATIO:
        return None
    old_parts: list[Markup] = []
    new_parts: list[Markup] = []
    for tag, i1, i2, j1, j2 in opcodes:
        old_chunk, new_chunk = "".join(old_tokens[i1:i2]), "".join(new_tokens[j1:j2])
        if tag == "equal":
            old_parts.append(escape(old_chunk))
            new_parts.append(escape(new_chunk))
            continue
        if old_chunk:
            old_parts.append(Markup("<del>{}</del>").format(old_chunk))
        if new_chunk:
            new_parts.append(Markup("<ins>{}</ins>").format(new_chunk))
    return _EMPTY.join(old_parts), _EMPTY.join(new_parts)


def _absorb_spaces(opcodes: Sequence[Opcode], old_tokens: Sequence[str]) -> list[Opcode]:
    # "a b c d" -> "a x y d" should read as one change "b c" -> "x y", not two changes
    # around an unchanged space, so whitespace-only runs between changes join them.
    merged: list[Opcode] = []
    for n, op in enumerate(opcodes):
        tag, i1, i2, j1, j2 = op
        between_changes = 0 < n < len(opcodes) - 1
        if tag == "equal" and between_changes and not "".join(old_tokens[i1:i2]).strip():
            tag = "replace"
        if merged and tag != "equal" and merged[-1][0] != "equal":
            prev = merged.pop()
            op = ("replace", prev[1], i2, prev[3], j2)
        else:
            op = (tag, i1, i2, j1, j2)
        merged.append(op)
    return merged
