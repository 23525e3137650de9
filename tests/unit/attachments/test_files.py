"""Names and types: a safe name from anything, the type from the content, never the name."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.attachments import files
from app.core.errors import Invalid
from tests.unit.attachments import samples


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("../../etc/passwd", "passwd"),
        ("..\\..\\windows\\win.ini", "win.ini"),
        ("C:\\Users\\me\\Desktop\\plan.PNG", "plan.png"),
        ("a\x00b\x1fc.png", "abc.png"),
        ("  .htaccess", "htaccess"),
        ("..", ""),
        ("", ""),
        ("my report (final).pdf", "my-report-final.pdf"),
        ("résumé.txt", "résumé.txt"),
        ("\u202egnp.exe", "gnp.exe"),  # right-to-left override dropped
        ("x" * 500 + ".png", "x" * 116 + ".png"),
        ("![a](javascript:x).png", "a-javascript-x.png"),
    ],
)
def test_clean_name(raw: str, clean: str) -> None:
    assert files.clean_name(raw) == clean
    assert len(files.clean_name(raw)) <= files.MAX_NAME_CHARS


def _sniff(tmp_path: Path, data: bytes, name: str) -> str:
    path = tmp_path / "upload"
    path.write_bytes(data)
    kind = files.sniff(path, name)
    return files.check_name(name, kind)


@pytest.mark.parametrize(
    ("data", "name", "stored"),
    [
        (samples.png(), "a.png", "a.png"),
        (samples.jpeg(), "photo.jpeg", "photo.jpeg"),
        (samples.jpeg(), "photo.jpg", "photo.jpg"),
        (samples.gif(), "anim.gif", "anim.gif"),
        (samples.webp(), "pic.webp", "pic.webp"),
        (samples.SVG, "drawing.svg", "drawing.svg"),
        (samples.PDF, "report.pdf", "report.pdf"),
        (b"just text\n", "notes.txt", "notes.txt"),
        (b"# Title\n", "readme.md", "readme.md"),
        (b"a,b\n1,2\n", "data.csv", "data.csv"),
        (samples.ooxml("word"), "spec.docx", "spec.docx"),
        (samples.ooxml("xl"), "budget.xlsx", "budget.xlsx"),
        (samples.ooxml("ppt"), "deck.pptx", "deck.pptx"),
        (samples.plain_zip(), "bundle.zip", "bundle.zip"),
        (samples.png(), "screenshot", "screenshot.png"),  # no extension: the right one added
    ],
)
def test_allowed_types_are_recognised_by_content(
    tmp_path: Path, data: bytes, name: str, stored: str
) -> None:
    assert _sniff(tmp_path, data, name) == stored


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (samples.HTML, "cat.png", "is not a PNG image"),  # mislabelled: HTML named .png
        (samples.HTML, "page.txt", "HTML document"),
        (samples.jpeg(), "photo.png", "is not a PNG image: its content is a JPEG image"),
        (samples.png()[:40], "broken.png", "cannot be decoded"),  # truncated
        (samples.plain_zip(), "spec.docx", "is not a Word document"),
        (b"MZ\x90\x00\x03" + b"\x00" * 60 + b"PE\x00\x00", "tool.txt", "not allowed"),
        (b"\x7fELF\x02\x01\x01" + b"\x00" * 60, "run.zip", "not allowed"),
        (b"\xff\xfe\x00bin\x00ary", "blob.txt", "not allowed"),
        (b"<svg><!ENTITY x 'y'></svg>", "bomb.svg", "is not a SVG drawing"),
    ],
)
def test_disallowed_and_mislabelled_content_is_refused(
    tmp_path: Path, data: bytes, name: str, message: str
) -> None:
    with pytest.raises(Invalid, match=message):
        _sniff(tmp_path, data, name)


def test_disallowed_extension_is_refused_before_reading() -> None:
    with pytest.raises(Invalid, match=r"\.exe files are not allowed"):
        files.check_extension_allowed("setup.exe")
    with pytest.raises(Invalid, match=r"\.html files are not allowed"):
        files.check_extension_allowed("index.html")
    files.check_extension_allowed("notes")  # no extension: decided by the content


def test_only_raster_images_and_pdf_are_inline() -> None:
    inline = {k.key for k in files.KINDS.values() if k.inline}
    assert inline == {"png", "jpeg", "gif", "webp", "pdf"}
    assert not files.KINDS["svg"].inline
