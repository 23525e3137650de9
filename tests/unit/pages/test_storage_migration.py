"""Migration 0013 on a database holding revisions: plain texts become compressed ones (chains
that decode through the pages service), and downgrading brings the plain texts back."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Engine, text

from app.core.config import Settings
from app.core.db import alembic_config, make_engine, migrate, open_session
from app.pages import service, storage

BEFORE = "0012"
WHEN = datetime(2026, 1, 1, tzinfo=UTC)


def _histories() -> dict[str, list[str]]:
    lines = "entry line\n" * 30
    long = [f"## Log\n\n{lines}change {n} — ünïcode ✓\n" for n in range(1, 38)]
    return {
        "long": long,  # three blocks of 16 and a head
        "one": ["only one revision\n"],
        "empty": ["", "now some text\n", ""],
        "big": ["y" * 120_000, "y" * 120_000 + "\nmore\n"],
    }


def _fill(engine: Engine, histories: dict[str, list[str]]) -> None:
    with engine.begin() as conn:
        for page_id, (slug, texts) in enumerate(histories.items(), 1):
            conn.execute(
                text(
                    "INSERT INTO page (id, slug, title, tags, head, created_at, updated_at) "
                    "VALUES (:id, :slug, :slug, '[]', :head, :when, :when)"
                ),
                {"id": page_id, "slug": slug, "head": len(texts), "when": WHEN},
            )
            conn.execute(
                text(
                    "INSERT INTO revision (page_id, number, kind, slug, title, tags, body, "
                    "summary, created_at) VALUES (:page, :number, 'edit', :slug, :slug, :tags, "
                    ":body, '', :when)"
                ),
                [
                    {
                        "page": page_id,
                        "number": n,
                        "slug": slug,
                        "tags": json.dumps([]),
                        "body": body,
                        "when": WHEN,
                    }
                    for n, body in enumerate(texts, 1)
                ],
            )


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    if request.param == "sqlite":
        return Settings(data_dir=tmp_path, secret_key="test-secret")
    url = request.getfixturevalue("pg_database")
    return Settings(data_dir=tmp_path, secret_key="test-secret", database_url=url)


def test_upgrade_compresses_and_downgrade_restores(empty: Settings) -> None:
    histories = _histories()
    migrate(empty, BEFORE)
    engine = make_engine(empty)
    try:
        _fill(engine, histories)
        migrate(empty)
        with open_session(engine, empty) as session:
            for slug, texts in histories.items():
                page = service.find_page(session=session, slug=slug)
                assert page is not None
                for number, body in enumerate(texts, 1):
                    rev = service.get_revision(session=session, page=page, number=number)
                    assert rev.body == body, (slug, number)
                    assert rev.size == len(body.encode())
                    assert storage.is_self_contained(rev.encoded_body) == (
                        number == len(texts) or storage.is_keyframe(number)
                    )
                session.expunge_all()
        with engine.connect() as conn:
            raw, stored = conn.execute(
                text("SELECT sum(size), sum(length(encoded_body)) FROM revision WHERE page_id = 1")
            ).one()
        assert stored < raw / 10

        command.downgrade(alembic_config(empty), BEFORE)
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT p.slug, r.number, r.body FROM revision r JOIN page p "
                    "ON p.id = r.page_id ORDER BY p.id, r.number"
                )
            ).all()
            columns = {
                c
                for (c,) in conn.execute(
                    text(
                        "SELECT column_name FROM information_schema.columns "
                        "WHERE table_name = 'revision'"
                    )
                    if conn.dialect.name == "postgresql"
                    else text("SELECT name FROM pragma_table_info('revision')")
                )
            }
        assert [(slug, n, body) for slug, n, body in rows] == [
            (slug, n, body) for slug, texts in histories.items() for n, body in enumerate(texts, 1)
        ]
        assert "encoded_body" not in columns
        assert "size" not in columns
    finally:
        engine.dispose()
