"""The `atrium` command: migrate, import (idempotent), export (round trip), users, tokens."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from app.cli import app
from app.core.config import Settings
from app.core.db import make_engine, open_session
from app.pages.models import Page, Revision

SEED = Path(__file__).resolve().parents[2] / "pages"


@pytest.fixture
def run(tmp_path: Path) -> CliRunner:
    return CliRunner(env={"ATRIUM_DATA_DIR": str(tmp_path / "data"), "ATRIUM_SECRET_KEY": "k"})


def _session(tmp_path: Path) -> Session:
    settings = Settings(data_dir=tmp_path / "data", secret_key="k")
    return open_session(make_engine(settings), settings)


def test_import_is_idempotent_and_export_round_trips(run: CliRunner, tmp_path: Path) -> None:
    assert run.invoke(app, ["migrate"]).exit_code == 0
    first = run.invoke(app, ["import", str(SEED)])
    assert first.exit_code == 0, first.output
    count = len(list(SEED.rglob("*.md")))
    assert count >= 20
    assert f"{count} created" in first.output
    again = run.invoke(app, ["import", str(SEED)])
    assert f"0 created, 0 updated, {count} unchanged" in again.output
    with _session(tmp_path) as session:
        assert len(session.exec(select(Revision)).all()) == count

    out = tmp_path / "export"
    exported = run.invoke(app, ["export", str(out)])
    assert exported.exit_code == 0, exported.output
    assert len(list(out.rglob("*.md"))) == count
    # re-importing the export changes nothing: the round trip is lossless
    assert f"{count} unchanged" in run.invoke(app, ["import", str(out)]).output
    # and exporting again writes byte-identical files
    out2 = tmp_path / "export2"
    run.invoke(app, ["export", str(out2)])
    for path in out.rglob("*.md"):
        assert path.read_bytes() == (out2 / path.relative_to(out)).read_bytes()


def test_reimport_after_a_change_adds_one_revision(run: CliRunner, tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "roles").mkdir(parents=True)
    page = src / "roles" / "cio.md"
    page.write_text("---\ntitle: CIO\ntags: [role]\n---\n\nLeads IT.\n", encoding="utf-8")
    run.invoke(app, ["migrate"])
    run.invoke(app, ["import", str(src)])
    page.write_text("---\ntitle: CIO\ntags: [role]\n---\n\nLeads IT well.\n", encoding="utf-8")
    result = run.invoke(app, ["import", str(src)])
    assert "0 created, 1 updated, 0 unchanged" in result.output
    with _session(tmp_path) as session:
        cio = session.exec(select(Page).where(Page.slug == "roles/cio")).one()
        assert cio.head == 2


def test_import_reports_bad_files_and_keeps_going(run: CliRunner, tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "Bad Name!.md").write_text("---\ntitle: x\n---\nbody", encoding="utf-8")
    (src / "good.md").write_text("---\ntitle: Good\n---\nbody", encoding="utf-8")
    run.invoke(app, ["migrate"])
    result = run.invoke(app, ["import", str(src)])
    assert result.exit_code == 1
    assert "1 created" in result.output
    assert "1 failed" in result.output


def test_users_and_tokens(run: CliRunner) -> None:
    run.invoke(app, ["migrate"])
    ensured = run.invoke(app, ["user", "ensure-admin"])
    assert "Created the first user: admin" in ensured.output
    assert run.invoke(app, ["user", "ensure-admin"]).output == ""
    added = run.invoke(app, ["user", "add", "bob", "--role", "reader", "--password", "x" * 12])
    assert added.exit_code == 0, added.output
    dup = run.invoke(app, ["user", "add", "bob", "--password", "x" * 12])
    assert dup.exit_code == 1
    assert "taken" in dup.output
    short = run.invoke(app, ["user", "passwd", "bob", "--password", "short"])
    assert short.exit_code == 1
    assert run.invoke(app, ["user", "passwd", "bob", "--password", "y" * 12]).exit_code == 0
    token = run.invoke(app, ["token", "create", "bob"])
    assert token.exit_code == 0
    assert token.output.strip().startswith("atr_")
    assert run.invoke(app, ["token", "create", "nobody"]).exit_code == 1
