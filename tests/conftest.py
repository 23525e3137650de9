"""Fixture chain: settings(tmp_path) -> engine (migrated) -> session -> client. Nothing shared."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, make_url, text
from sqlmodel import Session

from app.accounts.models import Role, User
from app.core.config import Settings
from app.core.db import make_engine, migrate, open_session
from app.main import create_app
from tests import factories

PASSWORD = factories.PASSWORD
PG_URL = os.environ.get("ATRIUM_TEST_DATABASE_URL")
# `make test-postgres`: tests that take the `settings` fixture (HTTP, browser, CLI, security)
# run against PostgreSQL and its search backend instead of SQLite and Whoosh
ON_POSTGRES = os.environ.get("ATRIUM_TEST_BACKEND") == "postgres"


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One SQLite database migrated to head; each test gets its own copy of the file."""
    data = tmp_path_factory.mktemp("template")
    migrate(Settings(data_dir=data, secret_key="template"))
    return data / "atrium.sqlite3"


@pytest.fixture
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """A fresh data dir and database at head: SQLite and Whoosh, or, when the whole suite runs
    on the scale-out path (``ATRIUM_TEST_BACKEND=postgres``), a new PostgreSQL database with the
    PostgreSQL search backend."""
    data = tmp_path / "data"
    data.mkdir()
    url = scale_out_database(request)
    if url is not None:
        return Settings(
            data_dir=data, secret_key="test-secret", database_url=url, search_backend="postgres"
        )
    shutil.copy(request.getfixturevalue("migrated_template"), data / "atrium.sqlite3")
    return Settings(data_dir=data, secret_key="test-secret")


@contextmanager
def module_settings(
    request: pytest.FixtureRequest, data: Path, **overrides: object
) -> Iterator[Settings]:
    """Settings for an app a whole test module shares: a copy of the migrated SQLite template,
    or, on the scale-out path, a new PostgreSQL database (dropped afterwards) with its search
    backend."""
    if ON_POSTGRES:
        if not PG_URL:
            raise pytest.UsageError("ATRIUM_TEST_BACKEND=postgres needs ATRIUM_TEST_DATABASE_URL")
        with _pg_database(request.getfixturevalue("pg_template")) as url:
            yield Settings(
                data_dir=data,
                database_url=url,
                search_backend="postgres",
                **overrides,  # type: ignore[arg-type]
            )
        return
    shutil.copy(request.getfixturevalue("migrated_template"), data / "atrium.sqlite3")
    yield Settings(data_dir=data, **overrides)  # type: ignore[arg-type]


def scale_out_database(request: pytest.FixtureRequest) -> str | None:
    """A new PostgreSQL database at head when the suite runs on PostgreSQL, else None."""
    if not ON_POSTGRES:
        return None
    if not PG_URL:
        raise pytest.UsageError("ATRIUM_TEST_BACKEND=postgres needs ATRIUM_TEST_DATABASE_URL")
    url: str = request.getfixturevalue("pg_migrated")
    return url


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    engine = make_engine(settings)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine: Engine, settings: Settings) -> Iterator[Session]:
    with open_session(engine, settings) as session:
        yield session


@pytest.fixture
def editor(session: Session) -> User:
    return factories.make_user(session, username="alice", role=Role.editor)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as c:
        yield c


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    """A PostgreSQL database migrated to head once, which each test's database is copied from."""
    if not PG_URL:
        pytest.skip("ATRIUM_TEST_DATABASE_URL is not set")
    name = f"atrium_tmpl_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    migrate(Settings(database_url=url, secret_key="template"))
    try:
        yield name
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def pg_database() -> Iterator[str]:
    """A brand-new, empty PostgreSQL database for one test."""
    with _pg_database(None) as url:
        yield url


@pytest.fixture
def pg_migrated(pg_template: str) -> Iterator[str]:
    """A brand-new PostgreSQL database at head (copied from the template) for one test."""
    with _pg_database(pg_template) as url:
        yield url


@contextmanager
def _pg_database(template: str | None) -> Iterator[str]:
    if not PG_URL:
        pytest.skip("ATRIUM_TEST_DATABASE_URL is not set")
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    name = f"atrium_{uuid.uuid4().hex[:12]}"
    clause = f' TEMPLATE "{template}"' if template else ""
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"{clause}'))
    try:
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def pytest_configure(config: pytest.Config) -> None:
    if ON_POSTGRES:
        # At an app's shutdown the PostgreSQL pool sometimes leaves the search indexer's lock
        # connection to the garbage collector (returned to the pool after Engine.dispose()):
        # psycopg then warns from __del__, in whichever later test happens to collect it.
        config.addinivalue_line(
            "filterwarnings", "ignore:.* was deleted while still open:ResourceWarning"
        )


SCALE_OUT_FIXTURES = frozenset({"settings", "live_server", "matrix", "world"})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On the scale-out path, run only the tests whose database comes from ``settings``, the
    live server built on it, or a module's shared app (:func:`module_settings`: the permission
    matrix and the access sweep): the others make their own SQLite data dir, already tested."""
    if not ON_POSTGRES:
        return
    chosen: list[pytest.Item] = []
    skipped: list[pytest.Item] = []
    for item in items:
        names = getattr(item, "fixturenames", ())
        (chosen if SCALE_OUT_FIXTURES.intersection(names) else skipped).append(item)
    if skipped:
        config.hook.pytest_deselected(items=skipped)
        items[:] = chosen
