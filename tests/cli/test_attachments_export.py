"""`atrium import` / `atrium export` carry a page's attachments in ``<slug>.attachments/``."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import Session, select
from typer.testing import CliRunner

from app.attachments.models import Attachment
from app.cli import app
from app.core.config import Settings
from app.core.db import make_engine, open_session
from tests.unit.attachments import samples


def _session(tmp_path: Path) -> Session:
    settings = Settings(data_dir=tmp_path / "data", secret_key="k")
    return open_session(make_engine(settings), settings)


def test_attachments_round_trip_through_export_and_import(tmp_path: Path) -> None:
    run = CliRunner(env={"ATRIUM_DATA_DIR": str(tmp_path / "data"), "ATRIUM_SECRET_KEY": "k"})
    src = tmp_path / "src"
    (src / "roles" / "cio.attachments").mkdir(parents=True)
    (src / "roles" / "cio.md").write_text(
        "---\ntitle: CIO\ntags: []\n---\n\n![Org](attachment:org.png)\n", encoding="utf-8"
    )
    (src / "roles" / "cio.attachments" / "org.png").write_bytes(samples.png())
    (src / "roles" / "cio.attachments" / "charter.pdf").write_bytes(samples.PDF)
    # markdown among the attachments is a file of the page, not a page of its own
    (src / "roles" / "cio.attachments" / "notes.md").write_text("# notes\n", encoding="utf-8")
    assert run.invoke(app, ["migrate"]).exit_code == 0
    first = run.invoke(app, ["import", str(src)])
    assert first.exit_code == 0, first.output
    assert "1 created" in first.output
    with _session(tmp_path) as session:
        names = sorted(a.name for a in session.exec(select(Attachment)))
    assert names == ["charter.pdf", "notes.md", "org.png"]

    out = tmp_path / "export"
    exported = run.invoke(app, ["export", str(out)])
    assert exported.exit_code == 0, exported.output
    assert "1 pages written" in exported.output
    folder = out / "roles" / "cio.attachments"
    assert sorted(p.name for p in folder.iterdir()) == names
    assert (folder / "org.png").read_bytes() == samples.png()
    assert (folder / "charter.pdf").read_bytes() == samples.PDF

    # importing the export again changes nothing, files included
    again = run.invoke(app, ["import", str(out)])
    assert "0 created, 0 updated, 1 unchanged" in again.output
    # a changed file comes in as a new version of its attachment
    (folder / "org.png").write_bytes(samples.png(color=(0, 0, 0)))
    changed = run.invoke(app, ["import", str(out)])
    assert "0 created, 1 updated" in changed.output
    with _session(tmp_path) as session:
        org = session.exec(select(Attachment).where(Attachment.name == "org.png")).one()
        assert org.head == 2


def test_gc_removes_files_no_version_refers_to(tmp_path: Path) -> None:
    run = CliRunner(env={"ATRIUM_DATA_DIR": str(tmp_path / "data"), "ATRIUM_SECRET_KEY": "k"})
    assert run.invoke(app, ["migrate"]).exit_code == 0
    stray = tmp_path / "data" / "attachments" / "ab" / ("c" * 62)
    stray.parent.mkdir(parents=True)
    stray.write_bytes(b"left by an upload whose save failed")
    kept = run.invoke(app, ["attachments", "gc"])
    assert "0 unreferenced files removed" in kept.output  # too young: it may still commit
    result = run.invoke(app, ["attachments", "gc", "--grace", "-1"])
    assert result.exit_code == 0, result.output
    assert "1 unreferenced file removed" in result.output
    assert not stray.exists()
