"""revision_storage

Revision texts stored compressed: ``revision.body`` (text) becomes ``revision.encoded_body``
(zlib, mostly a delta against the next revision; see app/pages/storage.py) plus ``size`` (bytes
of the text, so history lists never touch the text). Existing rows are converted page by page,
in batches; downgrade restores the plain text.

The encoding is copied here, frozen: a later change to app/pages/storage.py must not change
what this migration writes.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-25 20:15:00
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator, Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEYFRAME = 16
PAGES_PER_BATCH = 200


def _encode_chain(texts: list[str], first: int) -> list[bytes]:
    out = []
    for i, text in enumerate(texts):
        number = first + i
        if i == len(texts) - 1 or number % KEYFRAME == 0:
            out.append(b"K" + zlib.compress(text.encode(), 9))
        else:
            packer = zlib.compressobj(9, zdict=texts[i + 1].encode())
            out.append(b"D" + packer.compress(text.encode()) + packer.flush())
    return out


def _decode_chain(blobs: list[bytes]) -> list[str]:
    texts = [""] * len(blobs)
    successor = b""
    for i in range(len(blobs) - 1, -1, -1):
        data = bytes(blobs[i])
        if data[:1] == b"K":
            raw = zlib.decompress(data[1:])
        else:
            unpacker = zlib.decompressobj(zdict=successor)
            raw = unpacker.decompress(data[1:]) + unpacker.flush()
        successor = raw
        texts[i] = raw.decode()
    return texts


def _histories(column: str) -> Iterator[list[tuple[int, int, object]]]:
    """(id, number, value) of every revision, one page's whole history at a time."""
    bind = op.get_bind()
    last = 0
    while True:
        ids = (
            bind.execute(
                sa.text("SELECT id FROM page WHERE id > :last ORDER BY id LIMIT :n"),
                {"last": last, "n": PAGES_PER_BATCH},
            )
            .scalars()
            .all()
        )
        if not ids:
            return
        rows = bind.execute(
            sa.text(
                f"SELECT page_id, id, number, {column} FROM revision "
                "WHERE page_id >= :lo AND page_id <= :hi ORDER BY page_id, number"
            ),
            {"lo": ids[0], "hi": ids[-1]},
        ).all()
        history: list[tuple[int, int, object]] = []
        for i, (page_id, rev_id, number, value) in enumerate(rows):
            history.append((rev_id, number, value))
            if i == len(rows) - 1 or rows[i + 1][0] != page_id:
                yield history
                history = []
        last = ids[-1]


def _convert(
    column: str,
    update: str,
    values: Callable[[list[tuple[int, int, object]]], list[dict[str, object]]],
) -> None:
    bind = op.get_bind()
    params: list[dict[str, object]] = []
    for history in _histories(column):
        params += values(history)
        if len(params) >= 2000:
            bind.execute(sa.text(update), params)
            params = []
    if params:
        bind.execute(sa.text(update), params)


def _encoded(history: list[tuple[int, int, object]]) -> list[dict[str, object]]:
    texts = [str(value) for _, _, value in history]
    blobs = _encode_chain(texts, history[0][1])
    return [
        {"id": rev_id, "data": data, "size": len(text.encode())}
        for (rev_id, _, _), text, data in zip(history, texts, blobs, strict=True)
    ]


def _decoded(history: list[tuple[int, int, object]]) -> list[dict[str, object]]:
    texts = _decode_chain([bytes(value) for _, _, value in history])
    return [
        {"id": rev_id, "body": text} for (rev_id, _, _), text in zip(history, texts, strict=True)
    ]


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    # SQLite cannot make a column NOT NULL later without copying the table (whose DROP would
    # cascade to rendered_revision): the columns come with a default there instead
    op.add_column(
        "revision",
        sa.Column(
            "encoded_body",
            sa.LargeBinary(),
            nullable=not sqlite,
            server_default=sa.text("x''") if sqlite else None,
        ),
    )
    op.add_column(
        "revision",
        sa.Column(
            "size",
            sa.Integer(),
            nullable=not sqlite,
            server_default="0" if sqlite else None,
        ),
    )
    _convert(
        "body", "UPDATE revision SET encoded_body = :data, size = :size WHERE id = :id", _encoded
    )
    if not sqlite:
        op.alter_column("revision", "encoded_body", nullable=False)
        op.alter_column("revision", "size", nullable=False)
    op.drop_column("revision", "body")


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    op.add_column(
        "revision",
        sa.Column(
            "body",
            sa.Text(),
            nullable=not sqlite,
            server_default="" if sqlite else None,
        ),
    )
    _convert("encoded_body", "UPDATE revision SET body = :body WHERE id = :id", _decoded)
    if not sqlite:
        op.alter_column("revision", "body", nullable=False)
    op.drop_column("revision", "size")
    op.drop_column("revision", "encoded_body")
