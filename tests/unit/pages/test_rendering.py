from __future__ import annotations

import re
import threading
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest

from app.pages.rendering import (
    Heading,
    LinkTarget,
    Rendered,
    highlight_css,
    is_valid_slug,
    markdown_to_text,
    render,
    render_plain,
    slugify_title,
    wikilink_targets,
)

# --- helpers ------------------------------------------------------------------------------


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, {name: value or "" for name, value in attrs}))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def elements(html: str) -> list[tuple[str, dict[str, str]]]:
    collector = _Collector()
    collector.feed(html)
    collector.close()
    return collector.elements


def find(html: str, tag: str) -> list[dict[str, str]]:
    return [attrs for name, attrs in elements(html) if name == tag]


def text_of(html: str) -> str:
    collector = _Collector()
    collector.feed(html)
    collector.close()
    return "".join(collector.text)


def render_with(body: str, existing: dict[str, str]) -> tuple[Rendered, list[set[str]]]:
    calls: list[set[str]] = []

    def resolve(targets: set[str]) -> dict[str, LinkTarget]:
        calls.append(set(targets))
        return {
            t: LinkTarget(
                slug=existing.get(t.lower(), slugify_title(t)),
                exists=t.lower() in existing,
                title=t,
            )
            for t in targets
        }

    return render(body, resolve=resolve), calls


FORBIDDEN_TAGS = {
    "script", "style", "svg", "math", "iframe", "object", "embed", "form", "button",
    "textarea", "select", "base", "meta", "link", "template", "noscript", "frame",
}  # fmt: skip
SAFE_SCHEMES = {"", "http", "https", "mailto"}


def assert_inert(html: str) -> None:
    lowered = html.lower()
    assert "<script" not in lowered
    assert "style=" not in lowered
    assert not re.search(r"<[^>]*\son\w+\s*=", lowered), html
    assert not re.search(r"<[^>]*\s(hx|data)-[\w:-]*\s*=", lowered), html
    for tag, attrs in elements(html):
        assert tag not in FORBIDDEN_TAGS, html
        for name, value in attrs.items():
            assert not name.startswith(("on", "hx-", "data-", "style", "form")), html
            if name in {"href", "src"}:
                scheme = urlsplit(value.strip()).scheme.lower()
                assert scheme in SAFE_SCHEMES, html
                assert "javascript:" not in value.lower(), html
                assert "data:" not in value.lower(), html
            if name == "id":
                assert value.startswith(("h-", "fn:", "fnref")), html
        if tag == "input":
            assert attrs.get("type") == "checkbox", html
            assert "disabled" in attrs, html


# --- markdown features --------------------------------------------------------------------


def test_table_renders_with_alignment_attributes_not_styles() -> None:
    html = render_plain("| a | b |\n|:--|--:|\n| 1 | 2 |\n").html

    assert "<table>" in html
    assert [c["align"] for c in find(html, "th")] == ["left", "right"]
    assert "<td" in html
    assert "style=" not in html


def test_fenced_code_is_highlighted_with_classes() -> None:
    html = render_plain("```python\ndef f():\n    return 1\n```\n").html

    assert '<div class="highlight">' in html
    assert '<span class="k">def</span>' in html
    assert "style=" not in html


def test_code_without_language_is_escaped_text() -> None:
    html = render_plain("```\n<b>not bold</b>\n```\n").html

    assert "&lt;b&gt;not bold&lt;/b&gt;" in html
    assert "<b>" not in html


def test_toc_and_headings() -> None:
    rendered = render_plain(
        "# Intro\n\ntext\n\n## Details & more\n\n### Deep\n\n## Details & more\n"
    )

    assert rendered.headings == (
        Heading(level=1, text="Intro", anchor="h-intro"),
        Heading(level=2, text="Details & more", anchor="h-details-more"),
        Heading(level=3, text="Deep", anchor="h-deep"),
        Heading(level=2, text="Details & more", anchor="h-details-more_1"),
    )
    assert '<h2 id="h-details-more">' in rendered.html
    assert '<h2 id="h-details-more_1">' in rendered.html
    toc_links = [a["href"] for a in find(rendered.toc, "a")]
    assert toc_links == ["#h-intro", "#h-details-more", "#h-deep", "#h-details-more_1"]
    assert rendered.toc.count("<ul") == 3  # nested: h1 > h2 > h3
    assert "Details &amp; more" in rendered.toc


def test_toc_is_empty_with_fewer_than_two_headings() -> None:
    rendered = render_plain("# Only one\n\ntext")

    assert rendered.toc == ""
    assert rendered.headings == (Heading(level=1, text="Only one", anchor="h-only-one"),)


def test_toc_marker_in_body() -> None:
    html = render_plain("[TOC]\n\n# A\n\n## B\n").html

    assert '<div class="toc">' in html
    assert [a["href"] for a in find(html, "a")] == ["#h-a", "#h-b"]


def test_task_list_has_disabled_checkboxes() -> None:
    html = render_plain("- [x] done\n- [ ] todo\n").html

    boxes = find(html, "input")
    assert len(boxes) == 2
    assert all(b["type"] == "checkbox" and "disabled" in b for b in boxes)
    assert ["checked" in b for b in boxes] == [True, False]
    assert '<ul class="task-list">' in html
    assert '<li class="task-list-item">' in html


def test_footnote() -> None:
    html = render_plain("Claim[^1].\n\n[^1]: The source.\n").html

    assert '<sup id="fnref:1"><a class="footnote-ref" href="#fn:1"' in html
    assert '<li id="fn:1">' in html
    assert '<div class="footnote">' in html
    assert 'class="footnote-backref" href="#fnref:1"' in html


def test_admonition() -> None:
    html = render_plain('!!! warning "Mind the gap"\n    Body *text*.\n').html

    assert '<div class="admonition warning">' in html
    assert '<p class="admonition-title">Mind the gap</p>' in html
    assert "<em>text</em>" in html


def test_safe_html_subset_is_kept() -> None:
    body = (
        "<details open><summary>More</summary>Hidden <kbd>Ctrl</kbd> H<sub>2</sub>O</details>\n\n"
        '<table><tr><td colspan="2" rowspan="99999">x</td></tr></table>\n\n'
        "[web](https://example.org/a?b=1) [mail](mailto:a@example.org) [rel](/wiki/home) "
        '![pic](https://example.org/p.png "A title")'
    )
    html = render_plain(body).html

    assert "<details open" in html
    assert "<summary>More</summary>" in html
    assert "<kbd>Ctrl</kbd>" in html
    assert "<sub>2</sub>" in html
    assert find(html, "td") == [{"colspan": "2"}]
    hrefs = [a["href"] for a in find(html, "a")]
    assert hrefs == ["https://example.org/a?b=1", "mailto:a@example.org", "/wiki/home"]
    assert find(html, "img") == [
        {"src": "https://example.org/p.png", "alt": "pic", "title": "A title"}
    ]


def test_links_get_rel_noopener_nofollow() -> None:
    html = render_plain("[x](https://example.org) [[Home]]").html

    rels = [a["rel"] for a in find(html, "a")]
    assert rels == ["noopener noreferrer nofollow"] * 2


# --- wikilinks ----------------------------------------------------------------------------


def test_wikilink_to_existing_page() -> None:
    rendered, _ = render_with("See [[Order to Cash]].", {"order to cash": "processes/otc"})

    (link,) = find(rendered.html, "a")
    assert link["class"] == "wikilink"
    assert link["href"] == "/wiki/processes/otc"
    assert "title" not in link
    assert ">Order to Cash</a>" in rendered.html
    assert rendered.links == ("processes/otc",)


def test_wikilink_to_missing_page_links_to_create() -> None:
    rendered, _ = render_with("See [[New Idea & Plan]].", {})

    (link,) = find(rendered.html, "a")
    assert link["class"] == "wikilink missing"
    assert link["href"] == "/edit/new-idea-plan?title=New+Idea+%26+Plan"
    assert link["title"] == "Create this page"
    assert "New Idea &amp; Plan</a>" in rendered.html
    assert rendered.links == ("new-idea-plan",)


def test_wikilink_with_label() -> None:
    rendered, calls = render_with("[[ home | the start page ]]", {"home": "home"})

    assert calls == [{"home"}]
    assert '<a class="wikilink" href="/wiki/home"' in rendered.html
    assert ">the start page</a>" in rendered.html


def test_wikilink_label_is_escaped_text() -> None:
    html = render_plain("[[home|<img src=x onerror=alert(1)> **b**]]").html

    assert text_of(html) == "<img src=x onerror=alert(1)> **b**"
    assert find(html, "img") == []
    assert "<strong>" not in html


def test_wikilinks_in_code_are_not_links() -> None:
    body = "`[[Inline]]`\n\n```\n[[Fenced]]\n```\n\n    [[Indented]]\n\n[[Real]]"
    rendered, calls = render_with(body, {})

    assert calls == [{"Real"}]
    assert "<code>[[Inline]]</code>" in rendered.html
    assert "[[Fenced]]" in rendered.html
    assert "[[Indented]]" in rendered.html
    assert wikilink_targets(body) == {"Real"}


def test_resolver_called_once_with_all_targets() -> None:
    body = (
        "# About [[Heading Link]]\n\n[[A]] and [[b|label]] and [[A]] again.\n\n"
        "- [[C]]\n\n> [[D|quoted]]\n\nNote[^1]\n\n[^1]: See [[E]].\n\n| x |\n|---|\n| [[F]] |\n"
    )
    rendered, calls = render_with(body, {"a": "a", "c": "c"})

    assert calls == [{"Heading Link", "A", "b", "C", "D", "E", "F"}]
    # Order of appearance in the rendered page: footnotes come last.
    assert rendered.links == ("heading-link", "a", "b", "c", "d", "f", "e")
    assert rendered.headings[0].text == "About Heading Link"


def test_resolver_not_called_without_wikilinks() -> None:
    _, calls = render_with("# Nothing\n\nto [resolve](/x).", {})

    assert calls == []


def test_escaped_pipe_separates_label_inside_table() -> None:
    rendered, calls = render_with("| col |\n|-----|\n| [[Home\\|start]] |\n", {"home": "home"})

    assert calls == [{"Home"}]
    assert ">start</a>" in rendered.html


def test_unsluggable_or_code_wikilinks_stay_literal() -> None:
    rendered, calls = render_with("[[!!!]] [[a `b` c]] [[ ]]", {})

    assert calls == []
    assert "[[!!!]]" in rendered.html
    assert find(rendered.html, "a") == []


def test_missing_resolver_entry_is_treated_as_missing() -> None:
    rendered = render("[[Ghost]]", resolve=lambda _targets: {})

    (link,) = find(rendered.html, "a")
    assert link["class"] == "wikilink missing"
    assert link["href"] == "/edit/ghost?title=Ghost"


def test_render_plain_treats_every_link_as_existing() -> None:
    rendered = render_plain("[[Order to Cash / IT Benefit]] [[ops/Run Book|book]]")

    hrefs = [(a["class"], a["href"]) for a in find(rendered.html, "a")]
    assert hrefs == [
        ("wikilink", "/wiki/order-to-cash-it-benefit"),
        ("wikilink", "/wiki/ops/run-book"),
    ]
    assert rendered.links == ("order-to-cash-it-benefit", "ops/run-book")


def test_wikilink_targets_are_raw_and_stripped() -> None:
    body = "[[ Alpha ]] [[beta|B]] [[Alpha]]\n\n```\n[[Gamma]]\n```"

    assert wikilink_targets(body) == {"Alpha", "beta"}


def test_concurrent_renders_do_not_share_state() -> None:
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for _ in range(10):
                rendered, calls = render_with(f"# T{n}\n\n## U{n}\n\n[[Page {n}]]", {})
                assert rendered.links == (f"page-{n}",)
                assert [h.anchor for h in rendered.headings] == [f"h-t{n}", f"h-u{n}"]
                assert calls == [{f"Page {n}"}]
        except BaseException as exc:  # collected and re-raised in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


# --- hostile input ------------------------------------------------------------------------

HOSTILE = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "[x](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "[x](  javascript:alert(1) 'title')",
    "[x][1]\n\n[1]: javascript:alert(1)",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "![x](data:image/svg+xml,<svg onload=alert(1)>)",
    "![x](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
    "![x](javascript:alert(1))",
    "<svg onload=alert(1)><circle r=1 /></svg>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    '<a href="javascript&colon;alert(1)">x</a>',
    '<a href="jav&#x09;ascript:alert(1)">x</a>',
    '<a href="vbscript:msgbox(1)">x</a>',
    '<div hx-get="/logout" hx-trigger="load">x</div>',
    '<a href="#" hx-post="/x" hx-target="body">x</a>',
    '<div data-hx-get="/x" data-foo="1" hx-on:click="alert(1)">x</div>',
    '<iframe src="https://evil.example"></iframe>',
    '<form action="https://evil.example"><input name=x><button>go</button></form>',
    '<input type="text" name="csrf_token" formaction="/x">',
    '<p style="position:fixed;top:0">x</p>',
    "<style>body{display:none}</style>",
    '<h2 id="csrf_token">x</h2>',
    '<h2 id="h-intro" name="csrf_token">x</h2>',
    '[[a|" onmouseover="alert(1)]]',
    '<object data="x.swf"></object><embed src="x.swf">',
    '<base href="https://evil.example/"><meta http-equiv="refresh" content="0;url=/x">',
    '<link rel="stylesheet" href="https://evil.example/x.css">',
    "<!-- <img src=x onerror=alert(1)> -->",
    "<details open ontoggle=alert(1)><summary>s</summary>x</details>",
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>"></noscript>',
    "<template><img src=x onerror=alert(1)></template><x-y onclick=1>x</x-y>",
    '<ol start="3 onload=alert(1)"><li>x</li></ol>',
    '!!! note "<img src=x onerror=alert(1)>"\n    body',
    "# <img src=x onerror=alert(1)> heading\n\n## two",
]


@pytest.mark.parametrize("body", HOSTILE)
def test_hostile_input_renders_inert(body: str) -> None:
    rendered = render_plain(body)

    assert_inert(rendered.html)
    assert_inert(rendered.toc)


def test_wikilink_label_cannot_break_out_of_attribute() -> None:
    html = render_plain('[[a|" onmouseover="alert(1)]]').html

    (link,) = find(html, "a")
    assert set(link) == {"class", "href", "rel"}
    assert text_of(html) == '" onmouseover="alert(1)'


def test_user_ids_are_dropped_but_renderer_ids_kept() -> None:
    body = '<h2 id="csrf_token">a</h2>\n\n<h2 id="h-b">b</h2>\n\n<li id="fn:1">x</li>\n\n## B\n'
    html = render_plain(body).html

    ids = [attrs["id"] for _, attrs in elements(html) if "id" in attrs]
    assert ids == ["h-b"]  # only the markdown heading's id, not the raw-HTML look-alike
    assert html.count('id="h-b"') == 1


def test_classes_are_limited_to_renderer_classes() -> None:
    html = render_plain(
        '<div class="admonition evil htmx-indicator">x</div><span class="wikilink">y</span>'
    ).html

    assert find(html, "div") == [{"class": "admonition"}]
    assert "wikilink" not in html  # allowed on <a> only
    assert "htmx" not in html


def test_raw_input_becomes_disabled_checkbox() -> None:
    html = render_plain('<input type="text" value="x" name="q">').html

    assert find(html, "input") == [{"type": "checkbox", "disabled": "disabled"}]


# --- slugs --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "slug"),
    [
        ("Order to Cash / IT Benefit", "order-to-cash-it-benefit"),
        ("a/b c", "a/b-c"),
        ("Processes/Order to Cash", "processes/order-to-cash"),
        ("/a//b/", "a/b"),
        ("Café Déjà Vu", "cafe-deja-vu"),
        ("It's Bob\u2019s page", "its-bobs-page"),
        ("  Spaces   everywhere  ", "spaces-everywhere"),
        ("C++", "c"),
        ("!!!", ""),
        ("", ""),
        ("x" * 300, "x" * 255),
    ],
)
def test_slugify_title(title: str, slug: str) -> None:
    assert slugify_title(title) == slug


@pytest.mark.parametrize(
    "slug",
    ["home", "order-to-cash", "processes/order-to-cash", "a/b/c", "v2", "x" * 255, "a/" * 9 + "a"],
)
def test_valid_slugs(slug: str) -> None:
    assert is_valid_slug(slug)


@pytest.mark.parametrize(
    "slug",
    [
        "",
        "Home",
        "a b",
        "a_b",
        "-a",
        "a-",
        "a/-b",
        "a//b",
        "/a",
        "a/",
        "café",
        "a.b",
        "x" * 256,
        "a/" * 10 + "a",
        "api",
        "api/pages",
        "static/x",
        "docs",
        "openapi.json",
        "healthz",
        "login",
        "logout",
        "recent",
        "search",
        "special/all",
    ],
)
def test_invalid_slugs(slug: str) -> None:
    assert not is_valid_slug(slug)


def test_reserved_word_is_fine_below_the_first_segment() -> None:
    assert is_valid_slug("guides/search")


# --- css and text -------------------------------------------------------------------------


def test_highlight_css_is_scoped() -> None:
    css = highlight_css()

    assert ".highlight .k " in css
    rules = [line for line in css.splitlines() if line.strip()]
    assert rules
    assert all(line.startswith(".highlight") for line in rules)


def test_markdown_to_text() -> None:
    body = (
        "# Title\n\n[TOC]\n\nSome **bold** & <b>raw</b> text[^1].\n\n"
        "| a | b |\n|---|---|\n| 1 | 2 |\n\n```python\nx = 1\n```\n\n"
        "<script>alert(1)</script>\n\n[[Page|label]]\n\n[^1]: A note.\n"
    )

    assert markdown_to_text(body) == ("Title Some bold & raw text1. a b 1 2 x = 1 label A note.")
