"""Sections of a page's markdown: split at the headings, splice one section back, link headings.

A *section* is a heading line and everything after it up to the next heading of the same or a
higher level, so a section holds its subsections. Sections are numbered from 1 in the order
their headings appear in the source. Section 0 is the *lead*, the text before the first
heading; it exists only when that text is not blank, can be edited by its number (URL, API),
and has no edit link in the page (there is no heading to put one on).

The rules follow the renderer (Python-Markdown with pymdownx.superfences), not CommonMark:

- an ATX heading is a line that starts at column 0 with one to six ``#`` (a space after them
  is not required); closing ``#``s are not part of its text;
- a setext heading is a non-blank line that starts a block (first line, after a blank line,
  a heading or a horizontal rule), indented less than four spaces, followed by a line of ``=``
  (level 1) or ``-`` (level 2) at column 0;
- lines inside fenced code (three or more backticks or tildes, closed by the same fence at the
  same indentation) are never headings; a fence that is never closed, or whose content is less
  indented than the fence, is not code (the renderer leaves it as text too);
- headings nested in blockquotes, lists or admonitions (``>``-prefixed or indented) are parts
  of the section they are in, not sections.

Raw HTML blocks are not understood here: a ``#`` line inside ``<div>…</div>`` counts as a
heading although the renderer keeps it as HTML. ``link_headings`` and ``anchors`` pair
sections with the rendered headings by number *and* text, so such a page loses edit links for
the headings that no longer pair up rather than linking the wrong section.

Everything here is a pure function of strings.
"""

from __future__ import annotations

import html as htmllib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

_ATX_RE = re.compile(r"(#{1,6})((?:\\.|[^\\#]|#+(?=[^#\n]))*?)#*")  # Python-Markdown's
_SETEXT_RE = re.compile(r"(?:=+|-+) *")
_HR_RE = re.compile(r" {0,3}(?:(?:-+ {0,2}){3,}|(?:_+ {0,2}){3,}|(?:\*+ {0,2}){3,}) *")
_FENCE_RE = re.compile(r"( *)(`{3,}|~{3,})(.*)")
# what superfences accepts after the fence: a language, then {attributes} or key="value" options
_FENCE_INFO_RE = re.compile(
    r"[ \t]*(?:\.?[\w#.+-]+(?=[\t ]|$))?"
    r"(?:[ \t]*\{[^\n]*\}|(?:[ \t]*[a-zA-Z][a-zA-Z0-9_]*(?:=([\"']).*?\1)?(?=[\t ]|$))+)?[ \t]*"
)
_TAB = 4


@dataclass(frozen=True)
class Section:
    """One section of a page's source; ``body[start:end]`` is its text."""

    index: int  # 1.. in source order; 0 is the lead
    level: int  # 1..6; 0 for the lead
    title: str  # the heading's text as written in the source ("" for the lead)
    start: int  # offset of the heading line (0 for the lead)
    end: int  # offset just after the section

    def source(self, body: str) -> str:
        """This section's text in ``body``."""
        return body[self.start : self.end]


@dataclass(frozen=True)
class _Heading:
    offset: int
    level: int
    title: str


def _lines(body: str) -> list[tuple[int, str]]:
    """(offset, line without its newline) of every line of ``body``."""
    out: list[tuple[int, str]] = []
    offset = 0
    for line in body.split("\n"):
        out.append((offset, line))
        offset += len(line) + 1
    return out


def _indent(line: str) -> int:
    expanded = line.expandtabs(_TAB)
    return len(expanded) - len(expanded.lstrip(" "))


def _fences(lines: Sequence[str]) -> dict[int, int]:
    """First line -> last line of each fenced code block (as superfences finds them)."""
    fences: dict[int, int] = {}
    i = 0
    while i < len(lines):
        m = _FENCE_RE.fullmatch(lines[i].expandtabs(_TAB))
        if m is None or not _FENCE_INFO_RE.fullmatch(m.group(3)):
            i += 1
            continue
        ws, fence = len(m.group(1)), m.group(2)
        close = re.compile(re.escape(fence) + r"[ \t]*")
        j = i + 1
        while j < len(lines):
            line = lines[j].expandtabs(_TAB)
            if line.strip() and _indent(line) < ws:
                break  # content less indented than the fence: not a fence after all
            if line.strip() and line[ws] != " " and close.fullmatch(line[ws:]):
                fences[i] = j
                break
            j += 1
        else:
            return fences  # never closed: the renderer looks for no further fences either
        i = j + 1
    return fences


def _headings(body: str) -> list[_Heading]:
    lines = _lines(body)
    texts = [text.rstrip("\r") for _, text in lines]
    fences = _fences(texts)
    found: list[_Heading] = []
    block_start = True  # the next line starts a markdown block
    in_code = False  # the current block began as indented code
    i = 0
    while i < len(lines):
        offset, text = lines[i][0], texts[i]
        # a fence in a block that began as indented code is put back as text by superfences
        if i in fences and not in_code:
            block_start = False
            i = fences[i] + 1
            continue
        if not text.strip():
            block_start, in_code = True, False
            i += 1
            continue
        indented = _indent(text) >= _TAB
        if indented and (block_start or in_code):
            block_start, in_code = False, True
            i += 1
            continue
        if in_code:
            # the code block ends at its first line that is not indented; the rest is a block
            block_start, in_code = True, False
        atx = _ATX_RE.fullmatch(text) if text.startswith("#") else None
        if atx is not None:
            found.append(_Heading(offset, len(atx.group(1)), atx.group(2).strip()))
            block_start = True
            i += 1
            continue
        following = texts[i + 1] if i + 1 < len(texts) else ""
        if block_start and i + 1 not in fences and _SETEXT_RE.fullmatch(following):
            level = 1 if following.startswith("=") else 2
            found.append(_Heading(offset, level, text.strip()))
            block_start = True
            i += 2
            continue
        # a rule splits its block: the line after it starts a new one
        block_start = _HR_RE.fullmatch(text) is not None
        i += 1
    return found


def split(body: str) -> list[Section]:
    """The sections of ``body``: the lead (if not blank) and one per heading, in order."""
    heads = _headings(body)
    out: list[Section] = []
    lead_end = heads[0].offset if heads else len(body)
    if body[:lead_end].strip():
        out.append(Section(index=0, level=0, title="", start=0, end=lead_end))
    for n, head in enumerate(heads):
        end = next((h.offset for h in heads[n + 1 :] if h.level <= head.level), len(body))
        out.append(
            Section(index=n + 1, level=head.level, title=head.title, start=head.offset, end=end)
        )
    return out


def find(sections: Sequence[Section], index: int) -> Section | None:
    """The section numbered ``index``, or None."""
    return next((s for s in sections if s.index == index), None)


def splice(body: str, section: Section, text: str) -> str:
    """``body`` with ``section`` replaced by ``text`` (an empty text removes the section).

    What follows the section stays where it was: the new text ends with a newline when more
    follows, and with a blank line when the old text did (a setext heading after it needs it).
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    old = section.source(body)
    rest = body[section.end :]
    if rest and text:
        if not text.endswith("\n"):
            text += "\n"
        if old.endswith("\n\n") and not text.endswith("\n\n"):
            text += "\n"
    return body[: section.start] + text + rest


# --- pairing sections with the rendered headings ------------------------------------------------

_HEADING_TAGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
_VOID = frozenset({"area", "br", "col", "embed", "hr", "img", "input", "source", "track", "wbr"})
_TAG_RE = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9]*)((?:[^>\"']|\"[^\"]*\"|'[^']*')*)>")
_ID_RE = re.compile(r"\bid=\"([^\"]*)\"")
_WIKILINK_LABEL_RE = re.compile(r"\[\[[^\[\]\n|]*\|([^\[\]\n]*)\]\]")
_LINK_RE = re.compile(r"!?\[([^\]\n]*)\]\([^)\n]*\)")


@dataclass(frozen=True)
class RenderedHeading:
    """A heading at the top level of rendered page HTML."""

    anchor: str  # its id (h-…)
    text: str  # its plain text
    close: int  # offset of its closing tag in the HTML


def rendered_headings(html: str) -> list[RenderedHeading]:
    """The top-level headings with an id in sanitised HTML (nested ones, e.g. in a quote, not)."""
    out: list[RenderedHeading] = []
    depth = 0
    current: tuple[str, str, int] | None = None  # tag, id, offset after its start tag
    for m in _TAG_RE.finditer(html):
        closing, tag = m.group(1) == "/", m.group(2).lower()
        if tag in _VOID or m.group(3).rstrip().endswith("/"):
            continue
        if not closing:
            if depth == 0 and tag in _HEADING_TAGS:
                id_match = _ID_RE.search(m.group(3))
                current = (tag, id_match.group(1) if id_match else "", m.end())
            depth += 1
            continue
        depth = max(0, depth - 1)
        if depth == 0 and current is not None and tag == current[0]:
            _, anchor, begin = current
            if anchor:
                text = htmllib.unescape(_TAG_RE.sub("", html[begin : m.start()]))
                out.append(RenderedHeading(anchor=anchor, text=text, close=m.start()))
            current = None
    return out


def _key(text: str) -> str:
    """What a heading's source and its rendered text have in common: its letters and digits."""
    return "".join(ch for ch in text.casefold() if ch.isalnum())


def _source_key(title: str) -> str:
    title = _WIKILINK_LABEL_RE.sub(r"\1", title)
    title = _LINK_RE.sub(r"\1", title)
    return _key(htmllib.unescape(title))


def pair(
    sections: Sequence[Section], headings: Sequence[RenderedHeading]
) -> list[tuple[Section, RenderedHeading]]:
    """Sections with their rendered headings: the n-th heading of each, if their texts agree."""
    heads = [s for s in sections if s.index > 0]
    return [
        (section, heading)
        for section, heading in zip(heads, headings, strict=False)
        if _source_key(section.title) == _key(heading.text)
    ]


def anchors(sections: Sequence[Section], html: str) -> dict[int, str]:
    """Section number -> id of its heading in the rendered HTML (for sections that pair up)."""
    return {s.index: h.anchor for s, h in pair(sections, rendered_headings(html))}


def link_headings(
    html: str, sections: Sequence[Section], link: Callable[[Section, RenderedHeading], str]
) -> str:
    """Insert the trusted HTML ``link(section, heading)`` at the end of each paired heading."""
    pairs = pair(sections, rendered_headings(html))
    if not pairs:
        return html
    out: list[str] = []
    last = 0
    for section, heading in pairs:
        out.append(html[last : heading.close])
        out.append(link(section, heading))
        last = heading.close
    out.append(html[last:])
    return "".join(out)
