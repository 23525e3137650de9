"""``attachment:`` references in markdown become the page's attachment URLs, safely."""

from __future__ import annotations

from app.pages import rendering


def _html(body: str, slug: str | None = "ops/r2v") -> str:
    base = rendering.attachments_url(slug) if slug else None
    return rendering.render(body, resolve=lambda _t: {}, attachments=base).html


def test_an_image_shows_its_thumbnail_linked_to_the_file() -> None:
    html = _html("See ![the flow](attachment:flow.png) here.")
    assert '<a class="attachment-image" href="/wiki/ops/r2v/_attachments/flow.png"' in html
    assert 'src="/wiki/ops/r2v/_attachments/flow.png?w=960"' in html
    assert 'alt="the flow"' in html


def test_a_link_to_a_file_and_an_image_inside_a_link() -> None:
    html = _html("[report](attachment:report.pdf) [![x](attachment:a.png)](https://example.org)")
    assert 'href="/wiki/ops/r2v/_attachments/report.pdf"' in html
    assert 'href="https://example.org"' in html
    assert "attachment-image" not in html


def test_unsafe_references_and_other_schemes_are_dropped() -> None:
    html = _html(
        "![a](attachment:../../secret.png) ![b](javascript:alert(1)) "
        "![c](data:image/png;base64,AAAA) [d](attachment:x%2F..%2Fy) [e](vbscript:x)"
    )
    assert "secret" not in html
    assert "javascript" not in html
    assert "data:" not in html
    assert "vbscript" not in html
    assert "attachment:" not in html
    assert "_attachments" not in html


def test_without_a_page_references_are_dropped() -> None:
    html = _html("![a](attachment:flow.png)", slug=None)
    assert "src" not in html
    assert "attachment:" not in html
