"""How revision texts are stored: zlib, each one against its successor as the preset dictionary.

``Revision.encoded_body`` is one marker byte and a zlib stream:

- ``K``: self-contained (``zlib.compress``). The newest revision of every page is one, so the
  text people view and edit is one decompression away, never a chain; so is every
  ``KEYFRAME``-th revision, which bounds how far back a chain can reach.
- ``D``: compressed with the text of revision ``number + 1`` as zlib's preset dictionary. Two
  neighbouring versions share nearly everything, so the stream is mostly back-references into
  the dictionary: a delta, kept in one standard-library call and checked by zlib's own
  dictionary id and checksum (a wrong neighbour fails loudly instead of decoding garbage).

Deltas point forward (to the newer text) so the head stays self-contained: saving re-encodes the
previous head against the new text, inside the saving transaction (the page row is locked).
Reading revision ``n`` decodes at most ``KEYFRAME`` texts, from the next keyframe (or the head)
back down. Texts past zlib's 32 KB window still round-trip; they only compress less.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Mapping, Sequence

from sqlalchemy import inspect, orm, select
from sqlalchemy.orm import object_session
from sqlmodel import col

from app.pages.models import Revision

KEYFRAME = 16
_LEVEL = 9
_FULL = b"K"
_DELTA = b"D"
_TEXT = "text"  # key of the decoded text in a Revision's SQLAlchemy instance state


def is_keyframe(number: int) -> bool:
    """Whether revision ``number`` stays self-contained once it is no longer the head."""
    return number % KEYFRAME == 0


def block_end(number: int) -> int:
    """The keyframe ending revision ``number``'s block: its chain reaches no higher."""
    return -(-number // KEYFRAME) * KEYFRAME


def encode_full(text: str) -> bytes:
    """``text`` compressed on its own (the head, or a keyframe)."""
    return _FULL + zlib.compress(text.encode(), _LEVEL)


def encode_delta(text: str, successor: str) -> bytes:
    """``text`` compressed against the next revision's text."""
    packer = zlib.compressobj(_LEVEL, zdict=successor.encode())
    return _DELTA + packer.compress(text.encode()) + packer.flush()


def encode_older(number: int, text: str, successor: str) -> bytes:
    """The stored form of revision ``number`` once ``successor`` is the next revision's text."""
    return encode_full(text) if is_keyframe(number) else encode_delta(text, successor)


def is_self_contained(data: bytes) -> bool:
    """Whether ``data`` decodes without its successor's text."""
    return data[:1] == _FULL


def decode(data: bytes, successor: str | None = None) -> str:
    """The text in ``data`` (``successor``: the next revision's text, needed by deltas)."""
    marker, stream = data[:1], data[1:]
    if marker == _FULL:
        return zlib.decompress(stream).decode()
    if marker == _DELTA and successor is not None:
        unpacker = zlib.decompressobj(zdict=successor.encode())
        return (unpacker.decompress(stream) + unpacker.flush()).decode()
    raise ValueError("a revision delta needs the next revision's text to decode")


def decode_chain(blobs: Sequence[bytes]) -> list[str]:
    """The texts of consecutive revisions from their stored forms (the last self-contained)."""
    texts: list[str] = [""] * len(blobs)
    successor: str | None = None
    for i in range(len(blobs) - 1, -1, -1):
        successor = texts[i] = decode(blobs[i], successor)
    return texts


def encode_chain(texts: Sequence[str], *, first: int = 1) -> list[bytes]:
    """The stored forms of a page's revisions ``first``, ``first + 1`` … (the last is the head)."""
    out = [encode_older(first + i, t, texts[i + 1]) for i, t in enumerate(texts[:-1])]
    return [*out, encode_full(texts[-1])] if texts else []


def encode_rows(rows: Iterable[Mapping[str, object]]) -> list[dict[str, object]]:
    """Bulk-insert rows with a plain ``body`` as rows with ``encoded_body`` and ``size``.

    For loaders that insert whole histories at once (the benchmark generator): each page's rows
    must be consecutive, ordered by number, and end with its head.
    """
    out = [dict(r) for r in rows]
    start = 0
    for i in range(1, len(out) + 1):
        if i == len(out) or out[i]["page_id"] != out[start]["page_id"]:
            group = out[start:i]
            texts = [str(r.pop("body")) for r in group]
            first = group[0]["number"]
            assert isinstance(first, int)
            for row, text, data in zip(group, texts, encode_chain(texts, first=first), strict=True):
                row["encoded_body"], row["size"] = data, len(text.encode())
            start = i
    return out


# --- revisions in a session ----------------------------------------------------------------------


def remember(revision: Revision, text: str) -> Revision:
    """Keep ``text`` with a revision just made from it, so reading it back decodes nothing."""
    inspect(revision).info[_TEXT] = text
    return revision


def supersede(previous: Revision, successor: str) -> None:
    """Re-encode the page's previous head now that ``successor`` is the newer text."""
    text = revision_body(revision=previous)
    if not is_keyframe(previous.number):
        previous.encoded_body = encode_delta(text, successor)


def revision_body(*, revision: Revision, session: orm.Session | None = None) -> str:
    """The text of ``revision``: decoded once, then kept with the loaded row."""
    info = inspect(revision).info
    cached = info.get(_TEXT)
    if cached is not None:
        return str(cached)
    data = revision.encoded_body
    if is_self_contained(data):
        text = decode(data)
    else:
        session = session or object_session(revision)
        if session is None:
            raise RuntimeError("a detached revision delta cannot be decoded")
        text = _decode_in_block(session, revision)
    info[_TEXT] = text
    return text


def _decode_in_block(session: orm.Session, revision: Revision) -> str:
    # the rows above it up to the next keyframe; the newest may be the head (self-contained)
    top = block_end(revision.number)
    rows = session.execute(
        select(col(Revision.number), col(Revision.encoded_body))
        .where(
            col(Revision.page_id) == revision.page_id,
            col(Revision.number) > revision.number,
            col(Revision.number) <= top,
        )
        .order_by(col(Revision.number))
    ).all()
    return decode_chain([revision.encoded_body, *(data for _, data in rows)])[0]
