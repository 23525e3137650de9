"""Three-way merge of concurrent page edits: body text, scalar fields and tags."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TypeVar

import merge3

T = TypeVar("T")

START_MARKER = "<<<<<<< theirs (saved meanwhile)"
MID_MARKER = "======="
END_MARKER = ">>>>>>> yours"


@dataclass(frozen=True)
class MergeResult:
    """Outcome of `merge_text`: the merged text, or a proposal with conflict blocks."""

    text: str
    clean: bool
    conflicts: int


def _split_lines(text: str) -> list[str]:
    # Lines without their terminator, so a missing final newline on one side does not
    # turn an untouched last line into a change.
    if not text:
        return []
    body = text[:-1] if text.endswith("\n") else text
    return body.split("\n")


def merge_text(base: str, theirs: str, yours: str) -> MergeResult:
    """Merge `theirs` (saved meanwhile) and `yours` (the editor's text) against `base`."""
    base, theirs, yours = (s.replace("\r\n", "\n") for s in (base, theirs, yours))
    m3 = merge3.Merge3(_split_lines(base), _split_lines(theirs), _split_lines(yours))
    out: list[str] = []
    conflicts = 0
    for kind, lines in _merged_chunks(m3):
        if kind == "conflict":
            conflicts += 1
        out.extend(lines)
    text = "\n".join(out)
    if out and yours.endswith("\n"):
        text += "\n"
    return MergeResult(text=text, clean=conflicts == 0, conflicts=conflicts)


def _merged_chunks(m3: merge3.Merge3[str]) -> Iterator[tuple[str, Sequence[str]]]:
    for group in m3.merge_groups():
        if group[0] != "conflict":
            yield group[0], group[1]
            continue
        _, _, theirs, yours = group
        # Lines both sides agree on at the edges of a conflict are not part of it; trimming
        # only the edges (not the middle) keeps one block per conflict for the editor.
        head = 0
        while head < min(len(theirs), len(yours)) and theirs[head] == yours[head]:
            head += 1
        tail = 0
        while (
            tail < min(len(theirs), len(yours)) - head
            and theirs[len(theirs) - 1 - tail] == yours[len(yours) - 1 - tail]
        ):
            tail += 1
        yield "same", theirs[:head]
        yield (
            "conflict",
            [
                START_MARKER,
                *theirs[head : len(theirs) - tail],
                MID_MARKER,
                *yours[head : len(yours) - tail],
                END_MARKER,
            ],
        )
        yield "same", theirs[len(theirs) - tail :]


def merge_value(base: T, theirs: T, yours: T) -> tuple[T, bool]:
    """Merge a scalar field; returns (value, ok) and keeps yours with ok=False on conflict."""
    if theirs in (yours, base):
        return yours, True
    if yours == base:
        return theirs, True
    return yours, False


def merge_tags(base: Sequence[str], theirs: Sequence[str], yours: Sequence[str]) -> list[str]:
    """Merge tag lists set-wise: apply both sides' additions and removals to `base`."""
    base_set, theirs_set, yours_set = set(base), set(theirs), set(yours)
    removed = (base_set - theirs_set) | (base_set - yours_set)
    result: list[str] = []
    seen: set[str] = set()
    for tag in [*yours, *theirs]:
        if tag in seen or tag in removed:
            continue
        seen.add(tag)
        result.append(tag)
    return result


def has_conflict_markers(text: str) -> bool:
    """Tell whether `text` still contains a start, middle and end conflict marker, in order."""
    expected = 0
    for line in text.splitlines():
        if expected == 0 and line.startswith("<<<<<<< "):
            expected = 1
        elif expected == 1 and line.rstrip() == MID_MARKER:
            expected = 2
        elif expected == 2 and line.startswith(">>>>>>> "):
            return True
    return False
