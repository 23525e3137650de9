"""`atrium backup` / `atrium restore`: a consistent copy while writes go on, and a round trip."""

from __future__ import annotations

import io
import json
import os
import sqlite3
import tarfile
import threading
from collections.abc import Mapping
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import select
from typer.testing import CliRunner

from app.accounts import service as accounts
from app.backup import service as backups
from app.cli import app
from app.core.config import Settings
from app.core.db import make_engine, migrate, open_session
from app.core.errors import Conflict, Invalid
from app.pages import service as pages
from app.pages.models import Page, Revision
from app.pages.schemas import PageEdit
from app.search import service as search
from tests.factories import make_page, make_user

PG_URL = os.environ.get("ATRIUM_TEST_DATABASE_URL")


def _settings(data: Path, url: str | None = None) -> Settings:
    return Settings(data_dir=data, secret_key="k", database_url=url)


def _seed(settings: Settings) -> None:
    migrate(settings)
    engine = make_engine(settings)
    with open_session(engine, settings) as session:
        user = make_user(session, username="alice")
        make_page(session, slug="core/r2v", title="Requirement to Value", body="Demand.\n")
        for n in range(2, 5):
            pages.save_page(
                session=session,
                slug="core/r2v",
                edit=PageEdit(base=n - 1, title="Requirement to Value", body=f"v{n} zebrafish\n"),
                author=user,
            )
    engine.dispose()
    attachments = settings.data_dir / "attachments" / "ab"
    attachments.mkdir(parents=True)
    (attachments / "abcdef").write_bytes(b"\x89PNG fake image bytes")


def _state(settings: Settings) -> dict[str, object]:
    engine = make_engine(settings)
    with open_session(engine, settings) as session:
        page = pages.get_page(session=session, slug="core/r2v", user=None)
        revs = session.exec(select(Revision).where(Revision.page_id == page.id)).all()
        state = {
            "head": page.head,
            "bodies": sorted(r.body for r in revs),
            "users": [u.username for u in accounts.list_users(session=session)],
        }
    engine.dispose()
    return state


def test_round_trip_restores_pages_history_users_files_and_search(tmp_path: Path) -> None:
    source = _settings(tmp_path / "a")
    _seed(source)
    archive = tmp_path / "out" / "wiki.tar.gz"
    report = backups.backup(settings=source, target=archive)
    assert report.pages == 1
    assert report.revisions == 4
    with tarfile.open(archive) as tar:
        names = tar.getnames()
    assert "manifest.json" in names
    assert "export/core/r2v.md" in names  # a readable markdown copy travels with it
    assert "data/attachments/ab/abcdef" in names
    assert not any(n.startswith("data/search") for n in names)  # derived: rebuilt on restore

    target = _settings(tmp_path / "b")
    restored = backups.restore(settings=target, source=archive)
    assert (restored.pages, restored.revisions, restored.files) == (1, 4, report.files)
    assert _state(target) == _state(source)
    assert (target.data_dir / "attachments" / "ab" / "abcdef").read_bytes().startswith(b"\x89PNG")
    engine = make_engine(target)
    with open_session(engine, target) as session:
        found = search.search(session=session, user=None, q="zebrafish")
        assert [hit.title for hit in found.hits] == ["Requirement to Value"]
    engine.dispose()


def test_backup_while_writes_go_on_is_consistent(tmp_path: Path) -> None:
    settings = _settings(tmp_path / "a")
    _seed(settings)
    stop = threading.Event()
    saved: list[int] = []

    def writer() -> None:
        engine = make_engine(settings)
        with open_session(engine, settings) as session:
            user = accounts.get_user(session=session, username="alice")
            n = 5
            while not stop.is_set() and n < 400:
                result = pages.save_page(
                    session=session,
                    slug="core/r2v",
                    edit=PageEdit(base=n - 1, title="Requirement to Value", body=f"v{n}\n"),
                    author=user,
                )
                assert result.revision is not None
                saved.append(result.revision.number)
                n += 1
        engine.dispose()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        archives = [tmp_path / f"b{i}.tar.gz" for i in range(3)]
        for archive in archives:
            backups.backup(settings=settings, target=archive)
    finally:
        stop.set()
        thread.join()
    assert saved, "the writer made no saves during the backups"
    for i, archive in enumerate(archives):
        with tarfile.open(archive) as tar:
            db = tar.extractfile("database.sqlite3")
            assert db is not None
            copy = tmp_path / f"copy{i}.sqlite3"
            copy.write_bytes(db.read())
        conn = sqlite3.connect(copy)
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        # every page's head revision is in the snapshot, and no revision beyond it
        head, count, top = conn.execute(
            "SELECT p.head, count(r.id), max(r.number) FROM page p "
            "JOIN revision r ON r.page_id = p.id GROUP BY p.id"
        ).fetchone()
        conn.close()
        assert head == count == top


def test_restore_refuses_to_overwrite_a_wiki_unless_forced(tmp_path: Path) -> None:
    settings = _settings(tmp_path / "a")
    _seed(settings)
    archive = tmp_path / "wiki.tar.gz"
    backups.backup(settings=settings, target=archive)
    with pytest.raises(Conflict, match="--force"):
        backups.restore(settings=settings, source=archive)
    restored = backups.restore(settings=settings, source=archive, force=True)
    assert restored.pages == 1


def _archive_with(tmp_path: Path, manifest: Mapping[str, object], extra: str | None = None) -> Path:
    path = tmp_path / "bad.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        body = json.dumps(manifest).encode()
        info = tarfile.TarInfo("manifest.json")
        info.size = len(body)
        tar.addfile(info, io.BytesIO(body))
        if extra is not None:
            info = tarfile.TarInfo(extra)
            info.size = 3
            tar.addfile(info, io.BytesIO(b"bad"))
    return path


def test_bad_archives_are_refused_with_a_clear_message(tmp_path: Path) -> None:
    target = _settings(tmp_path / "t")
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"not a tarball")
    with pytest.raises(Invalid, match="not a readable backup"):
        backups.restore(settings=target, source=junk)
    with pytest.raises(Invalid, match="no backup file"):
        backups.restore(settings=target, source=tmp_path / "missing.tar.gz")
    with pytest.raises(Invalid, match="Unsupported backup format"):
        backups.restore(settings=target, source=_archive_with(tmp_path, {"format": "other"}))
    newer = {"format": backups.FORMAT, "backend": "sqlite", "revision": "9999", "database": "x"}
    with pytest.raises(Invalid, match="newer Atrium"):
        backups.restore(settings=target, source=_archive_with(tmp_path, newer))
    pg = {"format": backups.FORMAT, "backend": "postgresql", "revision": None, "database": "x"}
    with pytest.raises(Invalid, match="same kind of database"):
        backups.restore(settings=target, source=_archive_with(tmp_path, pg))
    # a path trick in the archive is refused and nothing escapes the data dir
    trick = {"format": backups.FORMAT, "backend": "sqlite", "revision": None, "database": "x"}
    with pytest.raises(Invalid, match="outside the destination"):
        backups.restore(
            settings=target, source=_archive_with(tmp_path, trick, extra="../../escaped.txt")
        )
    assert not (tmp_path / "escaped.txt").exists()


def test_cli_backup_and_restore(tmp_path: Path) -> None:
    source = _settings(tmp_path / "a")
    _seed(source)
    archive = tmp_path / "wiki.tar.gz"
    runner = CliRunner(env={"ATRIUM_DATA_DIR": str(source.data_dir), "ATRIUM_SECRET_KEY": "k"})
    done = runner.invoke(app, ["backup", str(archive)])
    assert done.exit_code == 0, done.output
    assert "1 pages, 4 revisions" in done.output
    again = runner.invoke(app, ["restore", str(archive)])
    assert again.exit_code == 1
    assert "--force" in again.output
    other = CliRunner(env={"ATRIUM_DATA_DIR": str(tmp_path / "b"), "ATRIUM_SECRET_KEY": "k"})
    restored = other.invoke(app, ["restore", str(archive)])
    assert restored.exit_code == 0, restored.output
    assert "Restored 1 pages, 4 revisions" in restored.output


@pytest.mark.postgres
def test_postgres_round_trip(tmp_path: Path, pg_database: str) -> None:
    if PG_URL is None:  # pragma: no cover - the fixture skips first
        pytest.skip("ATRIUM_TEST_DATABASE_URL is not set")
    source = _settings(tmp_path / "a", pg_database)
    _seed(source)
    archive = tmp_path / "wiki.tar.gz"
    report = backups.backup(settings=source, target=archive)
    assert report.backend == "postgresql"
    # restore over the same database after a change: the backup's state comes back
    engine = make_engine(source)
    with engine.begin() as conn:
        conn.execute(text("UPDATE page SET title = 'changed'"))
    engine.dispose()
    backups.restore(settings=source, source=archive, force=True)
    assert _state(source)["head"] == 4
    engine = make_engine(source)
    with open_session(engine, source) as session:
        assert session.exec(select(Page.title)).one() == "Requirement to Value"
    engine.dispose()
