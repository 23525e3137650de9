"""Sending attachment files: the headers that keep downloads safe, shared by HTML and API."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import Request
from fastapi.responses import FileResponse, Response
from sqlmodel import Session

from app.attachments import service
from app.pages.rendering import attachments_url

# Attachments are never documents of this site: a file opened directly may not run scripts,
# load anything, or be framed (SVG and HTML-ish text included).
SANDBOX_CSP = "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; sandbox"


def file_url(slug: str, name: str) -> str:
    """The download address of an attachment."""
    return f"{attachments_url(slug)}/{quote(name, safe='')}"


def markdown_ref(name: str, *, image: bool) -> str:
    """What to write in a page to show (images) or link (other files) an attachment."""
    target = f"attachment:{name}"  # clean names hold no spaces, brackets or parentheses
    label = name.rsplit(".", 1)[0].replace("[", "").replace("]", "") or name
    return f"![{label}]({target})" if image else f"[{name}]({target})"


def _disposition(kind: str, name: str) -> str:
    ascii_name = name.encode("ascii", "replace").decode().replace("?", "_").replace('"', "_")
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


def send(
    request: Request,
    content: service.Content,
    *,
    session: Session,
    width: int | None = None,
    versioned: bool = False,
) -> Response:
    """The file (or its thumbnail) with Content-Disposition, nosniff, ETag and cache headers."""
    path, media_type, etag = content.path, content.content_type, content.sha256
    if width is not None:
        thumb = service.thumbnail(content=content, session=session, width=width)
        if thumb is not None:
            path, media_type = thumb.path, thumb.content_type
            etag = f"{content.sha256}-{thumb.path.stem.rsplit('-', 1)[-1]}"
    # only raster images and PDF are shown in the browser; everything else (SVG too) downloads
    inline = content.kind.inline
    headers = {
        "Content-Disposition": _disposition("inline" if inline else "attachment", content.name),
        "X-Content-Type-Options": "nosniff",
        "ETag": f'"{etag}"',
        # a named URL may get a new version: revalidate (cheap, by ETag); a version never changes
        "Cache-Control": "private, max-age=31536000, immutable"
        if versioned
        else "private, no-cache",
    }
    if content.kind.key != "pdf":  # the browser's PDF viewer does not work in a sandbox
        headers["Content-Security-Policy"] = SANDBOX_CSP
    match = request.headers.get("if-none-match", "")
    if f'"{etag}"' in {tag.strip() for tag in match.split(",")} or match.strip() == "*":
        return Response(status_code=304, headers=headers)
    return FileResponse(path, media_type=media_type, headers=headers)
