"""`atrium serve`: migrates, then replaces itself with uvicorn serving the app factory."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from sqlalchemy import inspect
from typer.testing import CliRunner

from app import cli
from app.core.config import Settings
from app.core.db import make_engine


class Exec(Exception):
    """Raised instead of replacing the test process."""


def test_serve_migrates_then_execs_uvicorn(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, list[str], dict[str, str]]] = []

    def execve(path: str, argv: list[str], env: dict[str, str]) -> None:
        calls.append((path, argv, env))
        raise Exec

    monkeypatch.setattr("os.execve", execve)
    indexers: list[dict[str, str]] = []
    monkeypatch.setattr(cli, "_start_indexer", indexers.append)
    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    data = tmp_path / "data"
    runner = CliRunner(env={"ATRIUM_DATA_DIR": str(data), "ATRIUM_SECRET_KEY": "k"})
    result = runner.invoke(cli.app, ["serve", "--port", "8123", "--workers", "3"])
    assert isinstance(result.exception, Exec), result.output
    path, argv, env = calls[0]
    assert path == sys.executable
    assert argv[:4] == [sys.executable, "-P", "-m", "uvicorn"]
    assert argv[4:7] == ["app.main:create_app", "--factory", "--proxy-headers"]
    options = dict(zip(argv[7::2], argv[8::2], strict=False))
    assert options["--port"] == "8123"
    assert options["--workers"] == "3"
    assert options["--app-dir"] == str(Path(cli.__file__).resolve().parent.parent)
    assert env["MALLOC_ARENA_MAX"] == "2"
    assert env["ATRIUM_DATA_DIR"] == str(data)
    # migrated before: the database has its tables
    settings = Settings(data_dir=data, secret_key="k")
    assert "page" in inspect(make_engine(settings)).get_table_names()
    # the search indexer runs beside the workers, started before them with the same settings
    # (tests/unit/search/test_dedicated_indexer.py runs it)
    assert [e["ATRIUM_DATA_DIR"] for e in indexers] == [str(data)]


def test_serve_starts_no_indexer_when_workers_should_not_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("os.execve", lambda *_: (_ for _ in ()).throw(Exec()))
    indexers: list[dict[str, str]] = []
    monkeypatch.setattr(cli, "_start_indexer", indexers.append)
    env = {"ATRIUM_DATA_DIR": str(tmp_path), "ATRIUM_SECRET_KEY": "k"}
    runner = CliRunner(env={**env, "ATRIUM_SEARCH_INDEXER": "false"})
    result = runner.invoke(cli.app, ["serve"])
    assert isinstance(result.exception, Exec), result.output
    assert indexers == []
