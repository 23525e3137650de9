"""Markdown to sanitised HTML: the only module in Atrium that renders user content.

Every HTML string leaving this module has been through nh3 with a small allow-list: no
scripts, no event handlers, no ``style``, no ``hx-*``/``data-*`` attributes (the app uses
htmx), only http(s)/mailto/relative URLs, only the classes and ids the renderer produced.
``attachment:name.png`` links and images become URLs of the page's attachments (images get
their thumbnail, linked to the full file); without a page they stay ``attachment:`` and the
sanitiser drops them like any other unknown scheme.
"""

from __future__ import annotations

import html
import re
import secrets
import threading
import xml.etree.ElementTree as etree
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from html.parser import HTMLParser
from typing import Any
from urllib.parse import quote, unquote, urlencode

import markdown
import nh3
from markdown.extensions import Extension
from markdown.inlinepatterns import InlineProcessor
from markdown.treeprocessors import Treeprocessor
from markdown.util import INLINE_PLACEHOLDER_RE, AtomicString
from pygments.formatters import HtmlFormatter  # type: ignore[import-untyped]
from pygments.token import STANDARD_TYPES  # type: ignore[import-untyped]
from slugify import slugify


@dataclass(frozen=True)
class LinkTarget:
    slug: str  # the page slug the link points to
    exists: bool  # whether that page exists (not deleted)
    title: str  # the page's title when it exists, else the target text as typed


@dataclass(frozen=True)
class Heading:
    level: int  # 1..6
    text: str  # plain text of the heading
    anchor: str  # the id attribute in the rendered HTML


@dataclass(frozen=True)
class Rendered:
    html: str  # sanitised HTML of the body
    toc: str  # sanitised nested <ul> of links to the headings ("" if fewer than 2 headings)
    headings: tuple[Heading, ...]
    links: tuple[str, ...]  # slugs of all wikilink targets, de-duplicated, in order


# Called at most once per render (not at all when the body has no wikilinks) with the raw
# targets (text before "|", stripped); returns a LinkTarget for each of them.
Resolver = Callable[[set[str]], dict[str, LinkTarget]]

RESERVED_FIRST_SEGMENTS = frozenset({
    "api", "static", "docs", "openapi.json", "healthz", "login", "logout", "recent", "search",
    "special",
})  # fmt: skip
MAX_SLUG_LENGTH = 255
MAX_SLUG_SEGMENTS = 10
HEADING_ID_PREFIX = "h-"
ATTACHMENT_SCHEME = "attachment:"
INLINE_IMAGE_WIDTH = 960  # thumbnail width of images shown in pages

_SEGMENT_RE = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?")
_WIKILINK_RE = r"\[\[([^\[\]\n]+)\]\]"
_ESCAPED_CHAR_RE = re.compile("\x02([0-9]+)\x03")  # Python-Markdown's backslash-escape stash
_FOOTNOTE_ID_RE = re.compile(r"fn(?:ref[0-9]*)?:[^\s]{1,100}")
_SMALL_NUMBER_RE = re.compile(r"[0-9]{1,4}")
_SIZE_RE = re.compile(r"[0-9]{1,4}%?")
_APOSTROPHES = (("'", ""), ("\u2019", ""))


def slugify_title(text: str) -> str:
    """Turn a title (or a path-like "a/b c") into a slug; "" when nothing sluggable is left."""
    parts = text.strip().split("/")
    # "a/b c" is a path; "Order to Cash / IT Benefit" is a title with a slash in it.
    is_path = len(parts) <= MAX_SLUG_SEGMENTS and all(p == p.strip() for p in parts)
    if is_path:
        segments = (_slug_segment(p) for p in parts)
        slug = "/".join(s for s in segments if s)
    else:
        slug = _slug_segment(text)
    return slug[:MAX_SLUG_LENGTH].strip("-/")


def _slug_segment(text: str) -> str:
    return slugify(text, replacements=_APOSTROPHES)


def is_valid_slug(slug: str) -> bool:
    """Whether ``slug`` is a well-formed, non-reserved page slug."""
    if not slug or len(slug) > MAX_SLUG_LENGTH:
        return False
    segments = slug.split("/")
    if len(segments) > MAX_SLUG_SEGMENTS or segments[0] in RESERVED_FIRST_SEGMENTS:
        return False
    return all(_SEGMENT_RE.fullmatch(s) for s in segments)


def _heading_id(value: str, separator: str) -> str:
    # The prefix keeps user headings from clobbering ids the app relies on (csrf_token, …).
    return HEADING_ID_PREFIX + slugify(value, separator=separator, replacements=_APOSTROPHES)


def _unescape(text: str) -> str:
    return _ESCAPED_CHAR_RE.sub(lambda m: chr(int(m.group(1))), text)


class _WikilinkInline(InlineProcessor):
    """``[[target]]`` / ``[[target|label]]``: an <a> whose href is filled in after parsing."""

    def __init__(self, md: markdown.Markdown, found: dict[etree.Element, str]) -> None:
        super().__init__(_WIKILINK_RE, md)
        self.found = found

    def handleMatch(  # type: ignore[override]  # InlineProcessor narrows Pattern
        self, m: re.Match[str], _data: str
    ) -> tuple[etree.Element | None, int | None, int | None]:
        inner = self._plain_text(m.group(1))
        if inner is None:
            return None, None, None
        target, _, label = (part.strip() for part in inner.partition("|"))
        if not slugify_title(target):
            return None, None, None
        anchor = etree.Element("a")
        anchor.text = AtomicString(label or target)
        self.found[anchor] = target
        return anchor, m.start(0), m.end(0)

    def _plain_text(self, text: str) -> str | None:
        """The bracket contents with backslash escapes undone; None if markup (code) is inside."""
        stash = getattr(self.md.treeprocessors["inline"], "stashed_nodes", {}) if self.md else {}
        for key in INLINE_PLACEHOLDER_RE.findall(text):
            if not isinstance(stash.get(key), str):
                return None
        plain = _unescape(self.unescape(text))
        return None if "\x02" in plain or "\x03" in plain else plain


class _WikilinkResolver(Treeprocessor):
    """Resolve every wikilink with one call to the resolver, then set href and class."""

    def __init__(self, ext: _AtriumExtension) -> None:
        super().__init__()
        self.ext = ext

    def run(self, root: etree.Element) -> None:
        anchors = [el for el in root.iter("a") if el in self.ext.found]
        targets = {self.ext.found[el] for el in anchors}
        resolved = self.ext.resolve(targets) if targets else {}
        for anchor in anchors:
            target = self.ext.found[anchor]
            link = resolved.get(target) or LinkTarget(slugify_title(target), False, target)
            slug = quote(link.slug, safe="/")
            if link.exists:
                anchor.set("class", "wikilink")
                anchor.set("href", f"/wiki/{slug}")
            else:
                anchor.set("class", "wikilink missing")
                anchor.set("href", f"/edit/{slug}?{urlencode({'title': target})}")
                anchor.set("title", "Create this page")
            if link.slug not in self.ext.links:
                self.ext.links.append(link.slug)


def attachments_url(slug: str) -> str:
    """The base URL of a page's attachments."""
    return f"/wiki/{quote(slug, safe='/')}/_attachments"


def attachment_name(url: str) -> str | None:
    """The file name in an ``attachment:`` URL, or None when it is not one or is unsafe."""
    if url[: len(ATTACHMENT_SCHEME)].lower() != ATTACHMENT_SCHEME:
        return None
    name = unquote(url[len(ATTACHMENT_SCHEME) :]).strip()
    if (
        not name
        or name.startswith(".")
        or any(c in name for c in "/\\?#")
        or any(ord(c) < 32 or ord(c) == 127 for c in name)
    ):
        return None
    return name


class _AttachmentLinks(Treeprocessor):
    """``attachment:NAME`` in links and images -> the page's attachment URLs (if the render has
    a page: without one they stay as written)."""

    def __init__(self, ext: _AtriumExtension) -> None:
        super().__init__()
        self.ext = ext

    def run(self, root: etree.Element) -> None:
        base = self.ext.attachments
        if base is None:
            return
        parents = {child: parent for parent in root.iter() for child in parent}
        for el in list(root.iter()):
            attr = {"a": "href", "img": "src"}.get(el.tag)
            name = attachment_name(el.get(attr, "")) if attr else None
            if attr is None or name is None:
                continue
            url = f"{base}/{quote(name, safe='')}"
            if el.tag == "a":
                el.set("href", url)
                continue
            el.set("src", f"{url}?w={INLINE_IMAGE_WIDTH}")
            el.set("loading", "lazy")
            parent = parents.get(el)
            if parent is None or parent.tag == "a":
                continue
            link = etree.Element("a", {"href": url, "class": "attachment-image"})
            link.tail, el.tail = el.tail, None
            parent.insert(list(parent).index(el), link)
            parent.remove(el)
            link.append(el)


class _IdMarker(Treeprocessor):
    """Prefix every id the renderer made with a per-render nonce; the sanitiser keeps only those.

    Raw HTML is not in the tree yet (it is stashed until serialisation), so a user's
    ``<h2 id="...">`` never carries the nonce and loses its id.
    """

    def __init__(self, ext: _AtriumExtension) -> None:
        super().__init__()
        self.ext = ext

    def run(self, root: etree.Element) -> None:
        nonce = self.ext.nonce
        for el in root.iter():
            if (value := el.get("id")) is not None:
                el.set("id", nonce + value)


def _resolve_nothing(_targets: set[str]) -> dict[str, LinkTarget]:
    return {}


class _AtriumExtension(Extension):
    """Wikilinks, attachment links and id marking; ``start`` sets up each render."""

    def __init__(self) -> None:
        super().__init__()
        self.resolve: Resolver = _resolve_nothing
        self.nonce = ""
        self.attachments: str | None = None
        self.found: dict[etree.Element, str] = {}
        self.links: list[str] = []

    def start(self, resolve: Resolver, nonce: str, attachments: str | None) -> None:
        """Forget the previous render and take this one's resolver, nonce and attachments."""
        self.resolve, self.nonce, self.attachments = resolve, nonce, attachments
        self.found.clear()
        self.links = []

    def extendMarkdown(self, md: markdown.Markdown) -> None:
        # After backtick (190) and escape (180), so code spans stay literal; before links (160).
        md.inlinePatterns.register(_WikilinkInline(md, self.found), "wikilink", 175)
        # After inline (20), before toc (5) so heading text includes the labels.
        md.treeprocessors.register(_WikilinkResolver(self), "wikilink-resolve", 16)
        md.treeprocessors.register(_AttachmentLinks(self), "attachments", 15)
        # After toc (5) and footnotes (50, 15): every id is in the tree by then.
        md.treeprocessors.register(_IdMarker(self), "id-marker", 1)


_EXTENSION_CONFIGS: dict[str, dict[str, Any]] = {
    "tables": {"use_align_attribute": True},
    "toc": {"slugify": _heading_id, "marker": "[TOC]"},
    "pymdownx.highlight": {
        "css_class": "highlight",
        "use_pygments": True,
        "noclasses": False,
        "guess_lang": False,
        "pygments_lang_class": False,
    },
    "pymdownx.tasklist": {"custom_checkbox": False, "clickable_checkbox": False},
}
_EXTENSIONS = [
    "tables",
    "footnotes",
    "admonition",
    "sane_lists",
    "toc",
    "pymdownx.superfences",
    "pymdownx.highlight",
    "pymdownx.tasklist",
]


class _Converter:
    """A Markdown instance with its extensions, set up once and reset before each render.

    Building one costs about as much as rendering a short page; instances keep state and are
    not thread-safe, hence one per thread (``_converter``), never shared while in use.
    """

    def __init__(self) -> None:
        self.ext = _AtriumExtension()
        self.md = markdown.Markdown(
            extensions=[*_EXTENSIONS, self.ext],
            extension_configs=_EXTENSION_CONFIGS,
            output_format="html",
        )
        self.busy = False


_local = threading.local()


def _converter() -> _Converter:
    converter: _Converter | None = getattr(_local, "converter", None)
    if converter is None or converter.busy:  # busy: a render from inside a render's resolver
        converter = _Converter()
        if getattr(_local, "converter", None) is None:
            _local.converter = converter
    return converter


def _convert(
    body: str, resolve: Resolver, nonce: str, attachments: str | None = None
) -> tuple[str, markdown.Markdown, list[str]]:
    converter = _converter()
    converter.busy = True
    try:
        converter.md.reset()
        converter.ext.start(resolve, nonce, attachments)
        html_ = converter.md.convert(body)
        return html_, converter.md, converter.ext.links
    finally:
        converter.busy = False


# --- sanitiser ----------------------------------------------------------------------------

_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
_TAGS = _HEADINGS | {
    "p", "br", "hr", "strong", "em", "b", "i", "u", "s", "del", "ins", "mark", "sub", "sup",
    "kbd", "code", "pre", "blockquote", "ul", "ol", "li", "dl", "dt", "dd",
    "table", "thead", "tbody", "tfoot", "tr", "th", "td", "a", "img", "span", "div",
    "details", "summary", "input", "abbr",
}  # fmt: skip
_CLEAN_CONTENT_TAGS = {
    "script", "style", "svg", "math", "iframe", "object", "embed", "template", "noscript",
    "textarea", "select", "title", "xmp", "noembed", "noframes",
}  # fmt: skip
_ATTRIBUTES: dict[str, set[str]] = {
    "*": set(),  # nh3 otherwise allows lang and title on every tag
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "abbr": {"title"},
    "th": {"colspan", "rowspan"},
    "td": {"colspan", "rowspan"},
    "ol": {"start"},
    "details": {"open"},
    "li": {"id"},
    "sup": {"id"},
    **{h: {"id"} for h in _HEADINGS},
}
_ALIGN = {"align": {"left", "center", "right"}}
_TAG_ATTRIBUTE_VALUES = {
    "th": _ALIGN,
    "td": _ALIGN,
    "input": {"type": {"checkbox"}, "checked": {"", "checked"}, "disabled": {"", "disabled"}},
    "img": {"loading": {"lazy"}},
}
# Any <input> that survives is a disabled checkbox, whatever the user wrote.
_SET_TAG_ATTRIBUTE_VALUES = {"input": {"type": "checkbox", "disabled": "disabled"}}
ADMONITION_TYPES = frozenset({
    "note", "attention", "caution", "danger", "error", "hint", "important", "tip", "warning",
    "info", "success", "question", "failure", "bug", "example", "quote", "abstract", "seealso",
    "todo",
})  # fmt: skip
_PYGMENTS_CLASSES = {c for c in STANDARD_TYPES.values() if c} | {"hll"}
_ALLOWED_CLASSES = {
    "a": {"wikilink", "missing", "footnote-ref", "footnote-backref", "attachment-image"},
    "div": {"highlight", "admonition", "footnote", "toc"} | ADMONITION_TYPES,
    "p": {"admonition-title"},
    "span": _PYGMENTS_CLASSES,
    "ul": {"task-list", "toc"},
    "li": {"task-list-item"},
}
_LINK_REL = "noopener noreferrer nofollow"


def _attribute_filter(nonce: str) -> Callable[[str, str, str], str | None]:
    def keep(tag: str, attr: str, value: str) -> str | None:
        # nh3 reports (never raises) exceptions from here, so keep it exception-free.
        if attr == "id":
            if not value.startswith(nonce):
                return None
            value = value[len(nonce) :]
            if tag in _HEADINGS and value.startswith(HEADING_ID_PREFIX):
                return value
            if tag in {"li", "sup"} and _FOOTNOTE_ID_RE.fullmatch(value):
                return value
            return None
        if attr in {"colspan", "rowspan", "start"}:
            return value if _SMALL_NUMBER_RE.fullmatch(value) else None
        if attr in {"width", "height"}:
            return value if _SIZE_RE.fullmatch(value) else None
        return value

    return keep


def _sanitise(fragment: str, nonce: str) -> str:
    cleaner = nh3.Cleaner(
        tags=set(_TAGS),
        clean_content_tags=_CLEAN_CONTENT_TAGS,
        attributes=_ATTRIBUTES,
        attribute_filter=_attribute_filter(nonce),
        strip_comments=True,
        link_rel=_LINK_REL,
        tag_attribute_values=_TAG_ATTRIBUTE_VALUES,
        set_tag_attribute_values=_SET_TAG_ATTRIBUTE_VALUES,
        url_schemes={"http", "https", "mailto"},
        allowed_classes=_ALLOWED_CLASSES,
    )
    result: str = cleaner.clean(fragment)
    return result


# --- public API ---------------------------------------------------------------------------


def wikilink_targets(body: str) -> set[str]:
    """Raw targets of all ``[[...]]`` in ``body``, ignoring code spans and fenced code."""
    seen: set[str] = set()

    def record(targets: set[str]) -> dict[str, LinkTarget]:
        seen.update(targets)
        return {}

    _convert(body, record, secrets.token_hex(8))
    return seen


def render(body: str, *, resolve: Resolver, attachments: str | None = None) -> Rendered:
    """Render markdown to sanitised HTML, with its table of contents and wikilink slugs.

    ``attachments``: the base URL of the page's attachments (``attachments_url(slug)``), so
    ``attachment:`` links resolve.
    """
    nonce = f"n{secrets.token_hex(8)}-"
    raw, md, links = _convert(body, resolve, nonce, attachments)
    tokens: list[dict[str, Any]] = getattr(md, "toc_tokens", [])
    headings = tuple(_flatten(tokens))
    toc = _sanitise(_toc_html(tokens), nonce) if len(headings) >= 2 else ""
    return Rendered(html=_sanitise(raw, nonce), toc=toc, headings=headings, links=tuple(links))


def render_plain(body: str) -> Rendered:
    """Render with every wikilink treated as existing at ``slugify_title(target)`` (previews)."""
    return render(body, resolve=_resolve_all_existing)


def _resolve_all_existing(targets: set[str]) -> dict[str, LinkTarget]:
    return {t: LinkTarget(slug=slugify_title(t), exists=True, title=t) for t in targets}


def _flatten(tokens: Iterable[dict[str, Any]]) -> Iterable[Heading]:
    for token in tokens:
        yield Heading(int(token["level"]), html.unescape(str(token["name"])), str(token["id"]))
        yield from _flatten(token["children"])


def _toc_html(tokens: Iterable[dict[str, Any]], *, outer: bool = True) -> str:
    items = "".join(
        f'<li><a href="#{html.escape(str(t["id"]))}">{html.escape(html.unescape(t["name"]))}</a>'
        f"{_toc_html(t['children'], outer=False) if t['children'] else ''}</li>"
        for t in tokens
    )
    return f'<ul class="toc">{items}</ul>' if outer else f"<ul>{items}</ul>"


@cache
def highlight_css() -> str:
    """Pygments CSS for the code blocks ``render`` emits, every rule scoped under .highlight."""
    css: str = HtmlFormatter(style="friendly").get_style_defs(".highlight")
    return "\n".join(line for line in css.splitlines() if line.startswith(".highlight")) + "\n"


_BLOCK_TAGS = _HEADINGS | {
    "p", "br", "hr", "div", "li", "ul", "ol", "dl", "dt", "dd", "pre", "blockquote",
    "table", "tr", "th", "td", "details", "summary",
}  # fmt: skip


class _TextExtractor(HTMLParser):
    """Collects text, skipping the [TOC] block and footnote back-links (navigation, not content)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.in_backref = False
        self.toc_depth = 0  # >0 while inside <div class="toc">, counting nested divs

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a" and ("class", "footnote-backref") in attrs:
            self.in_backref = True
        if tag == "div" and (self.toc_depth or ("class", "toc") in attrs):
            self.toc_depth += 1
        if tag in _BLOCK_TAGS:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag == "a":
            self.in_backref = False
        if tag == "div" and self.toc_depth:
            self.toc_depth -= 1
        if tag in _BLOCK_TAGS:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self.in_backref and not self.toc_depth:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """Plain text of rendered (sanitised) HTML, whitespace collapsed, TOC left out."""
    extractor = _TextExtractor()
    extractor.feed(html)
    extractor.close()
    return " ".join("".join(extractor.parts).split())


def markdown_to_text(body: str) -> str:
    """Plain text of the rendered body, whitespace collapsed (escape it before use in HTML)."""
    extractor = _TextExtractor()
    extractor.feed(render_plain(body).html)
    extractor.close()
    return " ".join("".join(extractor.parts).split())
