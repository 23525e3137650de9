"""Migrations: empty database to head matches the models, on SQLite and on PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, text

from app.core.config import Settings
from app.core.db import migrate
from app.models import metadata
from app.search.models import include_object


def _assert_matches_models(url: str) -> None:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(
                conn, opts={"compare_type": True, "include_object": include_object}
            )
            assert compare_metadata(ctx, metadata) == []
            version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
            assert version is not None
    finally:
        engine.dispose()


# SQLite's reflection does not read indexes on expressions (ix_page_title_lower); alembic then
# leaves them out of the comparison, and PostgreSQL's test compares them
@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
@pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression-based")
def test_sqlite_empty_to_head_matches_models(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    migrate(settings)
    _assert_matches_models(settings.resolved_database_url)
    engine = create_engine(settings.resolved_database_url)
    with engine.connect() as conn:
        sql = conn.execute(
            text("SELECT sql FROM sqlite_master WHERE name = 'ix_page_title_lower'")
        ).scalar()
    engine.dispose()
    assert sql is not None
    assert "lower(title)" in sql
    migrate(settings)  # idempotent: running again changes nothing


@pytest.mark.postgres
def test_postgres_empty_to_head_matches_models(tmp_path: Path, pg_database: str) -> None:
    settings = Settings(data_dir=tmp_path, database_url=pg_database)
    migrate(settings)
    _assert_matches_models(pg_database)
