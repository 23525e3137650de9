"""What an uploaded file is: a safe name, and its type sniffed from the content (never the name).

``clean_name`` turns whatever a browser sends as a file name into one safe to store, show, put
in a URL and write to disk on export. ``sniff`` decides the type from the bytes (``filetype``'s
magic numbers, then Pillow decoding images, zipfile for office documents, an XML parse for SVG,
UTF-8 for text); ``check_name`` then refuses a name whose extension says something else.
"""

from __future__ import annotations

import re
import unicodedata
import warnings
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass
from pathlib import Path

import filetype  # type: ignore[import-untyped]
from PIL import Image

from app.core.errors import Invalid

MAX_NAME_CHARS = 120
MAX_IMAGE_PIXELS = 50_000_000  # decoding more would take too much memory for a wiki picture
SNIFF_BYTES = 8192


@dataclass(frozen=True)
class FileKind:
    key: str
    label: str  # for people: "PNG image"
    content_type: str
    extensions: tuple[str, ...]  # allowed extensions; the first one is added when none is given
    inline: bool = False  # safe to show in the browser (raster images, PDF)
    image: bool = False  # raster image: shown in pages, with thumbnails
    pillow_format: str = ""


_OOXML = "application/vnd.openxmlformats-officedocument."
_ODF = "application/vnd.oasis.opendocument."
KINDS: dict[str, FileKind] = {
    k.key: k
    for k in (
        FileKind("png", "PNG image", "image/png", ("png",), True, True, "PNG"),
        FileKind("jpeg", "JPEG image", "image/jpeg", ("jpg", "jpeg"), True, True, "JPEG"),
        FileKind("gif", "GIF image", "image/gif", ("gif",), True, True, "GIF"),
        FileKind("webp", "WebP image", "image/webp", ("webp",), True, True, "WEBP"),
        # SVG may carry scripts: never inline, never in a page as a document
        FileKind("svg", "SVG drawing", "image/svg+xml", ("svg",)),
        FileKind("pdf", "PDF document", "application/pdf", ("pdf",), inline=True),
        FileKind("text", "text file", "text/plain; charset=utf-8", ("txt", "text", "log")),
        FileKind("markdown", "Markdown file", "text/markdown; charset=utf-8", ("md", "markdown")),
        FileKind("csv", "CSV table", "text/csv; charset=utf-8", ("csv",)),
        FileKind("docx", "Word document", _OOXML + "wordprocessingml.document", ("docx",)),
        FileKind("xlsx", "Excel workbook", _OOXML + "spreadsheetml.sheet", ("xlsx",)),
        FileKind("pptx", "PowerPoint deck", _OOXML + "presentationml.presentation", ("pptx",)),
        FileKind("odt", "OpenDocument text", _ODF + "text", ("odt",)),
        FileKind("ods", "OpenDocument spreadsheet", _ODF + "spreadsheet", ("ods",)),
        FileKind("odp", "OpenDocument presentation", _ODF + "presentation", ("odp",)),
        FileKind("zip", "ZIP archive", "application/zip", ("zip",)),
    )
}
_BY_EXTENSION = {ext: kind for kind in KINDS.values() for ext in kind.extensions}
_TEXT_KINDS = ("text", "markdown", "csv")
ALLOWED_EXTENSIONS = tuple(sorted(_BY_EXTENSION))
# filetype's answer -> our kind (apng is a png; office files are checked again with zipfile)
_FILETYPE = {
    "png": "png", "apng": "png", "jpg": "jpeg", "gif": "gif", "webp": "webp", "pdf": "pdf",
    "zip": "zip", "docx": "zip", "xlsx": "zip", "pptx": "zip", "odt": "zip", "ods": "zip",
    "odp": "zip", "epub": "zip",
}  # fmt: skip
_HTML_STARTS = ("<!doctype html", "<html", "<head", "<body", "<script", "<iframe", "<?php")
_SVG_NS = "{http://www.w3.org/2000/svg}svg"

_UNSAFE_CHARS = re.compile(r"[^\w.\-]+")
_EXTENSION = re.compile(r"[a-z0-9]{1,10}")


def clean_name(raw: str) -> str:
    """A safe file name from what the client sent ("" when nothing usable is left).

    Keeps only the last path segment (``/`` and ``\\``), drops control and invisible characters,
    turns everything but letters, digits, ``.``, ``-`` and ``_`` into ``-``, strips leading dots
    (no hidden files, no ``..``), lower-cases the extension and limits the length.
    """
    name = unicodedata.normalize("NFC", raw).replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if not unicodedata.category(ch).startswith("C"))
    name = _UNSAFE_CHARS.sub("-", name)
    name = re.sub(r"-{2,}", "-", re.sub(r"\.{2,}", ".", name)).strip(".-_")
    stem, dot, ext = name.rpartition(".")
    if dot and _EXTENSION.fullmatch(ext.lower()) and stem:
        ext = ext.lower()
        stem = stem[: MAX_NAME_CHARS - len(ext) - 1].rstrip(".-_")
        return f"{stem}.{ext}" if stem else ""
    return name[:MAX_NAME_CHARS].rstrip(".-_")


def extension(name: str) -> str:
    """The lower-case extension of a cleaned name, or ""."""
    stem, dot, ext = name.rpartition(".")
    return ext.lower() if dot and stem else ""


def check_extension_allowed(name: str) -> None:
    """Refuse a name whose extension is not of an allowed type (before reading the content)."""
    ext = extension(name)
    if ext and ext not in _BY_EXTENSION:
        raise Invalid(
            f"“{name}”: .{ext} files are not allowed. Allowed: {', '.join(ALLOWED_EXTENSIONS)}.",
            field="file",
        )


def kind_of(key: str) -> FileKind:
    """The kind with this key (an unknown key, e.g. from an old row, counts as a ZIP-like blob)."""
    return KINDS.get(key) or KINDS["zip"]


def kind_for_content_type(content_type: str) -> FileKind:
    """The kind stored rows name by their content type."""
    for kind in KINDS.values():
        if kind.content_type == content_type:
            return kind
    return FileKind("other", "file", "application/octet-stream", ())


def sniff(path: Path, name: str) -> FileKind:
    """The type of the file at ``path`` judged by its content (raises Invalid)."""
    with path.open("rb") as fh:
        head = fh.read(SNIFF_BYTES)
    guess = filetype.guess(head)
    if guess is not None:
        key = _FILETYPE.get(guess.extension)
        if key is None:
            raise Invalid(
                f"“{name}” is a {guess.mime} file, which is not allowed here.", field="file"
            )
        if key == "zip":
            return _zip_kind(path, name)
        kind = KINDS[key]
        if kind.image:
            _check_image(path, name, kind)
        return kind
    return _text_kind(path, name)


def check_name(name: str, kind: FileKind) -> str:
    """The name to store: its extension must fit the content; one is added when missing."""
    ext = extension(name)
    if not ext:
        return f"{name}.{kind.extensions[0]}"
    if ext in kind.extensions:
        return name
    if kind.key in _TEXT_KINDS and _BY_EXTENSION[ext].key in _TEXT_KINDS:
        return name  # plain text, markdown and CSV are told apart by their name only
    expected = _BY_EXTENSION.get(ext)
    if expected is None:
        check_extension_allowed(name)
        raise Invalid(f"“{name}”: .{ext} files are not allowed.", field="file")
    raise Invalid(
        f"“{name}” is not a {expected.label}: its content is a {kind.label}. "
        "Nothing was saved; rename the file or upload the right one.",
        field="file",
    )


def _zip_kind(path: Path, name: str) -> FileKind:
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            mimetype = (
                archive.read("mimetype")[:100].decode("ascii", "replace")
                if "mimetype" in names
                else ""
            )
    except (zipfile.BadZipFile, OSError, ValueError, KeyError, RuntimeError) as exc:
        raise Invalid(f"“{name}” is a damaged ZIP file.", field="file") from exc
    if "[Content_Types].xml" in names:
        for key, marker in (
            ("docx", "word/document.xml"),
            ("xlsx", "xl/workbook.xml"),
            ("pptx", "ppt/presentation.xml"),
        ):
            if marker in names:
                return KINDS[key]
    for key in ("odt", "ods", "odp"):
        if mimetype == KINDS[key].content_type:
            return KINDS[key]
    return KINDS["zip"]


def _check_image(path: Path, name: str, kind: FileKind) -> None:
    """Decode the image fully: a truncated or disguised file is refused."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                if im.format != kind.pillow_format:
                    raise Invalid(f"“{name}” is not a valid {kind.label}.", field="file")
                width, height = im.size
                if width * height > MAX_IMAGE_PIXELS:
                    raise Invalid(
                        f"“{name}” is {width} by {height} pixels; the largest image accepted "
                        f"has {MAX_IMAGE_PIXELS // 1_000_000} million pixels.",
                        field="file",
                    )
                im.load()
    except Invalid:
        raise
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError, Warning) as exc:
        raise Invalid(f"“{name}” is not a valid {kind.label} (it cannot be decoded).") from exc


def _text_kind(path: Path, name: str) -> FileKind:
    data = path.read_bytes()
    if b"\x00" in data:
        raise Invalid(f"“{name}” is a binary file of a type that is not allowed.", field="file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Invalid(
            f"“{name}” is neither an allowed binary type nor UTF-8 text.", field="file"
        ) from exc
    start = text.lstrip()[:200].lower()
    if start.startswith("<") and "<svg" in text[:4096].lower() and _is_svg(text):
        return KINDS["svg"]
    if start.startswith(_HTML_STARTS):
        claimed = _BY_EXTENSION.get(extension(name))
        lying = claimed is not None and claimed.key not in _TEXT_KINDS
        said = f" is not a {claimed.label}: it" if claimed is not None and lying else ""
        raise Invalid(
            f"“{name}”{said} is an HTML document, which is not allowed. Nothing was saved.",
            field="file",
        )
    ext = extension(name)
    by_ext = _BY_EXTENSION.get(ext)
    return by_ext if by_ext is not None and by_ext.key in _TEXT_KINDS else KINDS["text"]


def _is_svg(text: str) -> bool:
    if "<!entity" in text.lower():
        return False  # entity definitions: the expansion attacks; real drawings do not need them
    try:
        root = ET.fromstring(text)
    except ET.ParseError:
        return False
    return root.tag in (_SVG_NS, "svg")
