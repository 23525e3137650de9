"""Backup and restore: one archive with a consistent database copy, the data dir's files and a
markdown export of every page.

The database copy is taken first, in one consistent snapshot (SQLite's online backup API, or
``pg_dump``, which reads in one repeatable-read transaction), while the server keeps running.
Files are copied after it: attachments are stored by content hash and written before the row
that refers to them commits, so every file the snapshot refers to already exists when the copy
starts. The search index is not in the archive: it is derived data, rebuilt on restore.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, func
from sqlmodel import select

from app.core.config import Settings
from app.core.db import alembic_config, make_engine, migrate, open_session
from app.core.errors import Conflict, Invalid
from app.core.time import utcnow
from app.pages import transfer
from app.pages.models import Page, Revision

FORMAT = "atrium-backup/1"
SQLITE_NAME = "atrium.sqlite3"
# never copied as files: the live database (it goes in as a snapshot) and derived data
_SKIP_TOP = {SQLITE_NAME, f"{SQLITE_NAME}-wal", f"{SQLITE_NAME}-shm", f"{SQLITE_NAME}-journal"}
_SKIP_DIRS = {"search", "thumbnails"}  # derived: rebuilt on demand

Progress = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class BackupReport:
    """What a backup holds."""

    path: Path
    backend: str
    revision: str | None
    pages: int
    revisions: int
    files: int
    size: int


@dataclass(frozen=True, slots=True)
class RestoreReport:
    """What a restore brought back."""

    backend: str
    pages: int
    revisions: int
    files: int
    indexed: int


def _backend(settings: Settings) -> str:
    return "sqlite" if settings.resolved_database_url.startswith("sqlite") else "postgresql"


def _libpq_url(settings: Settings) -> str:
    # pg_dump speaks libpq URLs, without SQLAlchemy's "+driver"
    url = settings.resolved_database_url
    scheme, rest = url.split("://", 1)
    return f"{scheme.split('+', 1)[0]}://{rest}"


def _db_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def _counts(engine: Engine, settings: Settings) -> tuple[int, int]:
    with open_session(engine, settings) as session:
        pages = session.exec(select(func.count()).select_from(Page)).one()
        revisions = session.exec(select(func.count()).select_from(Revision)).one()
    return int(pages), int(revisions)


def _data_files(data_dir: Path, exclude: Path | None) -> Iterator[Path]:
    for path in sorted(data_dir.rglob("*")):
        rel = path.relative_to(data_dir)
        if rel.parts[0] in _SKIP_DIRS or (len(rel.parts) == 1 and rel.name in _SKIP_TOP):
            continue
        if path.is_file() and not path.name.endswith((".lock", ".tmp")) and path != exclude:
            yield path


def _snapshot_sqlite(settings: Settings, target: Path) -> None:
    source = sqlite3.connect(settings.data_dir / SQLITE_NAME, timeout=30)
    copy = sqlite3.connect(target)
    try:
        # the online backup API copies a consistent snapshot while writers go on
        source.backup(copy, pages=1024)
    finally:
        copy.close()
        source.close()


def _snapshot_postgres(settings: Settings, target: Path) -> None:
    result = subprocess.run(
        [
            "pg_dump",
            "--format=custom",
            "--no-owner",
            "--no-privileges",
            f"--file={target}",
            _libpq_url(settings),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise Invalid(f"pg_dump failed: {result.stderr.strip() or result.returncode}")


def backup(*, settings: Settings, target: Path, progress: Progress | None = None) -> BackupReport:
    """Write a consistent backup of the running wiki to ``target`` (a .tar.gz archive)."""
    note = progress or (lambda _step: None)
    backend = _backend(settings)
    engine = make_engine(settings)
    target = target.resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        with tempfile.TemporaryDirectory(prefix="atrium-backup-") as tmp:
            work = Path(tmp)
            note("database snapshot")
            if backend == "sqlite":
                if not (settings.data_dir / SQLITE_NAME).exists():
                    raise Invalid(f"There is no database in {settings.data_dir} to back up.")
                db_name = "database.sqlite3"
                _snapshot_sqlite(settings, work / db_name)
                snap_settings = Settings(data_dir=work / "snap", secret_key="backup")
                (work / "snap").mkdir()
                os.link(work / db_name, work / "snap" / SQLITE_NAME)
                snap_engine = make_engine(snap_settings)
            else:
                db_name = "database.pgdump"
                _snapshot_postgres(settings, work / db_name)
                snap_settings, snap_engine = settings, engine
            revision = _db_revision(snap_engine)
            pages, revisions = _counts(snap_engine, snap_settings)
            note("markdown export")
            with open_session(snap_engine, snap_settings) as session:
                transfer.export_directory(session=session, directory=work / "export")
            if snap_engine is not engine:
                snap_engine.dispose()
            files = list(_data_files(settings.data_dir, exclude=target))
            manifest = {
                "format": FORMAT,
                "created_at": utcnow().isoformat(),
                "backend": backend,
                "database": db_name,
                "revision": revision,
                "pages": pages,
                "revisions": revisions,
                "files": len(files),
            }
            (work / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
            partial = target.with_name(target.name + ".partial")
            with tarfile.open(partial, "w:gz") as tar:
                tar.add(work / "manifest.json", arcname="manifest.json")
                tar.add(work / db_name, arcname=db_name)
                tar.add(work / "export", arcname="export")
                for path in files:
                    note(f"file {path.relative_to(settings.data_dir)}")
                    tar.add(path, arcname=f"data/{path.relative_to(settings.data_dir)}")
            os.replace(partial, target)  # a backup is complete or absent, never half-written
    finally:
        engine.dispose()
    return BackupReport(
        path=target,
        backend=backend,
        revision=revision,
        pages=pages,
        revisions=revisions,
        files=len(files),
        size=target.stat().st_size,
    )


@contextmanager
def _archive(source: Path) -> Iterator[tarfile.TarFile]:
    """Open a backup archive; a damaged or foreign file is a clear error, not a traceback."""
    try:
        tar = tarfile.open(source, "r:gz")  # noqa: SIM115 - closed in the finally below
    except (tarfile.TarError, OSError) as exc:
        raise Invalid(f"{source} is not a readable backup archive: {exc}") from exc
    try:
        yield tar
    except (tarfile.TarError, EOFError, zlib.error) as exc:  # damage found while reading
        raise Invalid(f"{source} is damaged or unsafe to unpack: {exc}") from exc
    finally:
        tar.close()


def _read_manifest(tar: tarfile.TarFile) -> dict[str, object]:
    try:
        member = tar.extractfile("manifest.json")
    except KeyError:
        member = None
    if member is None:
        raise Invalid("This file is not an Atrium backup (no manifest.json).")
    manifest = json.loads(member.read().decode("utf-8"))
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise Invalid(f"Unsupported backup format {manifest.get('format')!r}; expected {FORMAT}.")
    return manifest


def _check_revision(settings: Settings, revision: object) -> None:
    known = {
        rev.revision
        for rev in ScriptDirectory.from_config(alembic_config(settings)).walk_revisions()
    }
    if revision is not None and revision not in known:
        raise Invalid(
            f"The backup was made by a newer Atrium (schema {revision}); "
            "upgrade Atrium before restoring it."
        )


def _has_content(settings: Settings) -> bool:
    if _backend(settings) == "sqlite" and not (settings.data_dir / SQLITE_NAME).exists():
        return False
    engine = make_engine(settings)
    try:
        if _db_revision(engine) is None:
            return False
        return _counts(engine, settings)[0] > 0
    finally:
        engine.dispose()


def restore(
    *,
    settings: Settings,
    source: Path,
    force: bool = False,
    progress: Progress | None = None,
    reindex_progress: Callable[[int, int], None] | None = None,
) -> RestoreReport:
    """Bring a backup back into the configured data dir and database; rebuilds the index.

    Refuses to overwrite a wiki that has pages unless ``force``. The server must be stopped.
    """
    note = progress or (lambda _step: None)
    if not source.is_file():
        raise Invalid(f"There is no backup file {source}.")
    with _archive(source) as tar, tempfile.TemporaryDirectory(prefix="atrium-restore-") as tmp:
        manifest = _read_manifest(tar)
        backend = _backend(settings)
        if manifest.get("backend") != backend:
            raise Invalid(
                f"This backup is of a {manifest.get('backend')} database; the configured "
                f"database is {backend}. Restore it with the same kind of database."
            )
        _check_revision(settings, manifest.get("revision"))
        if not force and _has_content(settings):
            raise Conflict(
                "The configured wiki already has pages; restoring would replace them. "
                "Use --force to replace them, or restore into an empty data dir."
            )
        note("unpacking")
        # "data" refuses absolute paths, links out of the folder and special files
        tar.extractall(tmp, filter="data")
        work = Path(tmp)
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        db_name = str(manifest.get("database"))
        note("database")
        if backend == "sqlite":
            staged = settings.data_dir / f"{SQLITE_NAME}.restore.tmp"
            shutil.copyfile(work / db_name, staged)
            for suffix in ("-wal", "-shm", "-journal"):
                (settings.data_dir / f"{SQLITE_NAME}{suffix}").unlink(missing_ok=True)
            os.replace(staged, settings.data_dir / SQLITE_NAME)
        else:
            result = subprocess.run(
                [
                    "pg_restore",
                    "--clean",
                    "--if-exists",
                    "--no-owner",
                    "--no-privileges",
                    "--single-transaction",
                    f"--dbname={_libpq_url(settings)}",
                    str(work / db_name),
                ],
                capture_output=True,
                text=True,
                check=False,
            )
            if result.returncode != 0:
                raise Invalid(f"pg_restore failed: {result.stderr.strip()}")
        files = 0
        data = work / "data"
        if data.is_dir():
            for path in sorted(data.rglob("*")):
                if path.is_file():
                    dest = settings.data_dir / path.relative_to(data)
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(path, dest)
                    files += 1
        note("migrating")
        migrate(settings)  # a backup of an older version is brought up to this one
        shutil.rmtree(settings.data_dir / "search", ignore_errors=True)
        note("rebuilding the search index")
        from app.search import service as search

        engine = make_engine(settings)
        try:
            indexed = search.reindex(settings=settings, engine=engine, progress=reindex_progress)
            pages, revisions = _counts(engine, settings)
        finally:
            engine.dispose()
    return RestoreReport(
        backend=backend, pages=pages, revisions=revisions, files=files, indexed=indexed
    )
