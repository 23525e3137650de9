"""Attachment bytes on disk, addressed by SHA-256: ``DATA_DIR/attachments/ab/cdef…``.

A file is received into a temporary file in the same directory tree (hashed and counted on the
way, refused past the size limit), then renamed into place atomically; identical content is
stored once. The rename happens before the database row referring to it commits, so a row never
points at a missing file; a file left without a row (the commit failed) is harmless and is
removed by ``collect_garbage``. Thumbnails are derived data in ``DATA_DIR/thumbnails``.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
import time
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from PIL import Image, ImageOps

from app.core.config import Settings
from app.core.errors import Invalid, TooLarge

CHUNK = 256 * 1024
_SHA = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class Received:
    """An upload written to a temporary file, not yet stored."""

    temp: Path
    sha256: str
    size: int


@dataclass(frozen=True)
class Thumb:
    path: Path
    content_type: str


def human_size(size: int) -> str:
    """1536 -> "1.5 KB" (binary multiples, as file managers show them)."""
    value = float(size)
    for unit in ("bytes", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{int(value)} bytes" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} bytes"  # pragma: no cover - the loop always returns


class BlobStore:
    """Content-addressed files below one directory."""

    def __init__(self, settings: Settings) -> None:
        self.root = settings.data_dir / "attachments"
        self.thumbs = settings.data_dir / "thumbnails"
        self.limit = settings.max_attachment_bytes

    def path(self, sha256: str) -> Path:
        """Where the content with this hash lives."""
        if not _SHA.fullmatch(sha256):
            raise ValueError(f"not a sha256: {sha256!r}")
        return self.root / sha256[:2] / sha256[2:]

    def exists(self, sha256: str) -> bool:
        """Whether the content is stored."""
        return self.path(sha256).is_file()

    def receive(self, stream: BinaryIO, *, name: str) -> Received:
        """Copy ``stream`` into a temporary file; refuse empty files and files over the limit."""
        tmp_dir = self.root / "tmp"
        tmp_dir.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        size = 0
        fd, temp_name = tempfile.mkstemp(dir=tmp_dir, prefix="upload-")
        temp = Path(temp_name)
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := stream.read(CHUNK):
                    size += len(chunk)
                    if size > self.limit:
                        raise TooLarge(
                            f"“{name}” is larger than the limit of {human_size(self.limit)} "
                            "for attachments. Nothing was saved.",
                            field="file",
                            limit=self.limit,
                        )
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
        if size == 0:
            temp.unlink(missing_ok=True)
            raise Invalid(f"“{name}” is empty (0 bytes). Nothing was saved.", field="file")
        return Received(temp=temp, sha256=digest.hexdigest(), size=size)

    def store(self, received: Received) -> Path:
        """Move a received file into place (or drop it when the same content is stored)."""
        target = self.path(received.sha256)
        if target.is_file():
            received.temp.unlink(missing_ok=True)
            os.utime(target)  # fresh again: garbage collection spares young files
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        received.temp.chmod(0o644)
        os.replace(received.temp, target)  # atomic: readers see nothing or the whole file
        return target

    def discard(self, received: Received) -> None:
        """Forget a received file that was refused."""
        received.temp.unlink(missing_ok=True)

    def all_hashes(self) -> Iterable[str]:
        """Hashes of every stored file."""
        if not self.root.is_dir():
            return
        for sub in self.root.iterdir():
            if sub.is_dir() and len(sub.name) == 2:
                for f in sub.iterdir():
                    if _SHA.fullmatch(sub.name + f.name):
                        yield sub.name + f.name

    def remove(self, sha256: str) -> None:
        """Delete a stored file and its thumbnails (garbage collection only)."""
        self.path(sha256).unlink(missing_ok=True)
        for thumb in (self.thumbs / sha256[:2]).glob(f"{sha256}-*"):
            thumb.unlink(missing_ok=True)

    def thumbnail(self, sha256: str, width: int) -> Thumb | None:
        """A raster image scaled to ``width`` (cached on disk); None when it is not wider."""
        source = self.path(sha256)
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(source) as im:
                if im.width <= width:
                    return None
                alpha = im.mode in ("RGBA", "LA", "P", "PA") or "transparency" in im.info
                suffix, fmt, ctype = (
                    (".png", "PNG", "image/png") if alpha else (".jpg", "JPEG", "image/jpeg")
                )
                target = self.thumbs / sha256[:2] / f"{sha256}-{width}{suffix}"
                if target.is_file():
                    return Thumb(target, ctype)
                im.seek(0)
                frame = ImageOps.exif_transpose(im)
                frame = frame.convert("RGBA" if alpha else "RGB")
                height = max(1, round(frame.height * width / frame.width))
                frame = frame.resize((width, height), Image.Resampling.LANCZOS)
                target.parent.mkdir(parents=True, exist_ok=True)
                fd, temp_name = tempfile.mkstemp(dir=target.parent, prefix="thumb-")
                with os.fdopen(fd, "wb") as out:
                    if fmt == "JPEG":
                        frame.save(out, fmt, quality=85, optimize=True)
                    else:
                        frame.save(out, fmt, optimize=True)
                os.replace(temp_name, target)
        return Thumb(target, ctype)

    def clean_temp(self, *, older_than: float) -> None:
        """Remove temporary files left by interrupted uploads (``older_than`` seconds)."""
        cutoff = time.time() - older_than
        with contextlib.suppress(FileNotFoundError):
            for f in (self.root / "tmp").iterdir():
                with contextlib.suppress(FileNotFoundError):
                    if f.stat().st_mtime < cutoff:
                        f.unlink()
