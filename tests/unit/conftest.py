"""Service tests run on SQLite and, when ATRIUM_TEST_DATABASE_URL is set, on PostgreSQL too."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from app.core.config import Settings


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def settings(request: pytest.FixtureRequest, tmp_path: Path, migrated_template: Path) -> Settings:
    data = tmp_path / "data"
    data.mkdir()
    if request.param == "sqlite":
        shutil.copy(migrated_template, data / "atrium.sqlite3")
        return Settings(data_dir=data, secret_key="test-secret")
    url = request.getfixturevalue("pg_migrated")
    return Settings(data_dir=data, secret_key="test-secret", database_url=url)
