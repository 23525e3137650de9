"""Anchoring threads to a rendered page: find a quoted passage or a heading, place markers.

A passage anchor is the text a reader selected in the rendered page (what the browser's
selection gives), with a little text before and after it to tell repeated phrases apart. It is
matched against the plain text of a rendered revision with whitespace collapsed, so it survives
re-rendering and small edits elsewhere, and fails (the thread is *outdated*) when the passage
itself changed or went away.
"""

from __future__ import annotations

import html as htmllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html.parser import HTMLParser

_VOID = {"area", "br", "col", "embed", "hr", "img", "input", "source", "track", "wbr"}
# text in these is separated from its neighbours, as a browser's selection text separates it
_BLOCK = {
    "address", "article", "aside", "blockquote", "br", "dd", "details", "div", "dl", "dt",
    "figcaption", "figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li",
    "ol", "p", "pre", "section", "summary", "table", "td", "th", "tr", "ul",
}  # fmt: skip


def normalise(text: str) -> str:
    """Collapse whitespace the way the page text is collapsed."""
    return " ".join(text.split())


@dataclass(frozen=True)
class Block:
    """A top-level element of the rendered page: where it ends and the text it holds."""

    tag: str
    element_id: str
    end: int  # offset in the HTML just after the element
    text: str


class _Blocks(HTMLParser):
    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=True)
        self.source = source
        self.line_starts = [0]
        for i, ch in enumerate(source):
            if ch == "\n":
                self.line_starts.append(i + 1)
        self.depth = 0
        self.blocks: list[Block] = []
        self.current: tuple[str, str] | None = None
        self.parts: list[str] = []
        self.skip_depth = 0  # inside the table of contents or a footnote back-link

    def _offset(self) -> int:
        line, col = self.getpos()
        return self.line_starts[line - 1] + col

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = dict(attrs)
        if self.depth == 0:
            self.current = (tag, attr.get("id") or "")
            self.parts = []
        if self.skip_depth or "toc" in (attr.get("class") or "").split():
            self.skip_depth += 0 if tag in _VOID else 1
        if tag in _VOID:
            if self.depth == 0:
                self._close(self._offset() + len(self.get_starttag_text() or ""))
            if tag in _BLOCK:
                self.parts.append(" ")
            return
        self.depth += 1
        if tag in _BLOCK:
            self.parts.append(" ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:  # noqa: ARG002
        if self.depth == 0:
            self.current = (tag, "")
            self.parts = []
            self._close(self._offset() + len(self.get_starttag_text() or ""))

    def handle_endtag(self, tag: str) -> None:
        if tag in _VOID:
            return
        if self.skip_depth:
            self.skip_depth -= 1
        self.depth = max(0, self.depth - 1)
        if tag in _BLOCK:
            self.parts.append(" ")
        if self.depth == 0 and self.current is not None:
            start = self._offset()
            end = self.source.find(">", start)
            self._close(end + 1 if end >= 0 else len(self.source))

    def handle_data(self, data: str) -> None:
        if not self.skip_depth:
            self.parts.append(data)

    def _close(self, end: int) -> None:
        if self.current is None:
            return
        tag, element_id = self.current
        self.blocks.append(Block(tag, element_id, end, normalise("".join(self.parts))))
        self.current = None
        self.parts = []


def blocks(html: str) -> list[Block]:
    """The top-level elements of rendered page HTML, in order."""
    parser = _Blocks(html)
    parser.feed(html)
    parser.close()
    return parser.blocks


@dataclass(frozen=True)
class Anchor:
    """What a thread points at; ``quote`` empty and ``heading`` empty means the whole page."""

    heading: str = ""
    quote: str = ""
    prefix: str = ""
    suffix: str = ""


def find_passage(page_blocks: Sequence[Block], anchor: Anchor) -> int | None:
    """Index of the block in which the quoted passage ends, or None when it is not there."""
    quote = normalise(anchor.quote)
    if not quote:
        return None
    text, ends = "", []
    for block in page_blocks:
        text = f"{text} {block.text}" if text else block.text
        ends.append(len(text))
    prefix, suffix = normalise(anchor.prefix), normalise(anchor.suffix)
    best: tuple[int, int] | None = None  # (score, end offset)
    start = text.find(quote)
    while start >= 0:
        end = start + len(quote)
        score = 0
        if prefix and text[:start].rstrip().endswith(prefix.strip()):
            score += 1
        if suffix and text[end:].lstrip().startswith(suffix.strip()):
            score += 1
        if best is None or score > best[0]:
            best = (score, end)
        start = text.find(quote, start + 1)
    if best is None:
        return None
    return next(i for i, block_end in enumerate(ends) if block_end >= best[1])


def find_heading(page_blocks: Sequence[Block], heading_id: str) -> int | None:
    """Index of the heading block with this id."""
    for i, block in enumerate(page_blocks):
        if block.element_id == heading_id and block.tag in {"h1", "h2", "h3", "h4", "h5", "h6"}:
            return i
    return None


def locate(page_blocks: Sequence[Block], anchor: Anchor) -> int | None:
    """Where an anchor sits in the page (block index); None when it no longer matches."""
    if anchor.quote:
        return find_passage(page_blocks, anchor)
    if anchor.heading:
        return find_heading(page_blocks, anchor.heading)
    return None


def headings(page_blocks: Sequence[Block]) -> list[tuple[str, str]]:
    """(id, text) of every heading with an id, for the "about this section" choice."""
    return [
        (b.element_id, b.text)
        for b in page_blocks
        if b.element_id and b.tag in {"h1", "h2", "h3", "h4", "h5", "h6"}
    ]


def insert_after_blocks(html: str, page_blocks: Sequence[Block], inserts: dict[int, str]) -> str:
    """Insert trusted HTML after the given blocks (by index)."""
    if not inserts:
        return html
    out, last = [], 0
    for index in sorted(inserts):
        end = page_blocks[index].end
        out.append(html[last:end])
        out.append(inserts[index])
        last = end
    out.append(html[last:])
    return "".join(out)


def place(
    html: str,
    anchors: Sequence[tuple[int, Anchor]],
    marker: Callable[[list[int]], str],
) -> tuple[str, set[int]]:
    """Insert ``marker(thread_ids)`` after the block of each located anchor.

    Returns the new HTML and the ids of the threads whose anchor was found.
    """
    page_blocks = blocks(html)
    by_block: dict[int, list[int]] = {}
    for thread_id, anchor in anchors:
        index = locate(page_blocks, anchor)
        if index is not None:
            by_block.setdefault(index, []).append(thread_id)
    inserts = {index: marker(ids) for index, ids in by_block.items()}
    placed = {tid for ids in by_block.values() for tid in ids}
    return insert_after_blocks(html, page_blocks, inserts), placed


def escape(text: str) -> str:
    """HTML-escape plain text (quotes included)."""
    return htmllib.escape(text, quote=True)
