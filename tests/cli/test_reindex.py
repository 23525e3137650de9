"""`atrium reindex`: a progress bar, a fresh index swapped in, everything findable."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from app.cli import app
from app.core.config import Settings
from app.core.db import make_engine, open_session
from app.search import service
from app.search.backends import release_backend
from tests.factories import make_page


def test_reindex_builds_and_swaps_a_new_index(tmp_path: Path) -> None:
    data = tmp_path / "data"
    run = CliRunner(env={"ATRIUM_DATA_DIR": str(data), "ATRIUM_SECRET_KEY": "k"})
    assert run.invoke(app, ["migrate"]).exit_code == 0
    settings = Settings(data_dir=data, secret_key="k")
    engine = make_engine(settings)
    with open_session(engine, settings) as session:
        make_page(session, slug="atlas", title="Atlas", body="Cartography.\n")
        make_page(session, slug="globe", title="Globe", body="Cartography too.\n")
    first = run.invoke(app, ["reindex"])
    assert first.exit_code == 0, first.output
    assert "2 documents indexed" in first.output
    target = (data / "search" / "current").resolve()
    second = run.invoke(app, ["reindex"])
    assert second.exit_code == 0, second.output
    assert (data / "search" / "current").resolve() != target  # a new directory, swapped in
    with open_session(engine, settings) as session:
        assert service.search(session=session, user=None, q="cartography").total == 2
        assert service.pending_changes(session=session) == 0
    release_backend(settings, engine)
    engine.dispose()
