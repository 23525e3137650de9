"""`atrium reviews check`: the same idempotent due check the server runs hourly."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlmodel import select
from typer.testing import CliRunner

from app.accounts.models import Role
from app.cli import app
from app.core.config import Settings
from app.core.db import begin_write, make_engine, open_session
from app.notifications.models import Notification
from app.reviews import service
from app.reviews.models import PageStewardship, ReviewStatus
from app.reviews.schemas import StewardshipUpdate
from tests.factories import make_page, make_user


def test_reviews_check_notifies_owners_once(tmp_path: Path) -> None:
    run = CliRunner(env={"ATRIUM_DATA_DIR": str(tmp_path / "data"), "ATRIUM_SECRET_KEY": "k"})
    assert run.invoke(app, ["migrate"]).exit_code == 0
    settings = Settings(data_dir=tmp_path / "data", secret_key="k")
    engine = make_engine(settings)
    with open_session(engine, settings) as session:
        alice = make_user(session, username="alice", role=Role.editor)
        page_id = make_page(session, slug="ops/backup", title="Backup").id
        service.set_stewardship(
            session=session,
            slug="ops/backup",
            data=StewardshipUpdate(owners=["alice"], review_by=service.today()),
            user=alice,
        )
        begin_write(session)
        row = session.get(PageStewardship, page_id)
        assert row is not None
        row.review_by = service.today() - timedelta(days=1)
        session.commit()
    first = run.invoke(app, ["reviews", "check"])
    assert first.exit_code == 0, first.output
    assert "1 page became due for review; owners notified." in first.output
    again = run.invoke(app, ["reviews", "check"])
    assert "0 pages became due for review" in again.output
    with open_session(engine, settings) as session:
        assert len(session.exec(select(Notification)).all()) == 1
        assert session.get(PageStewardship, page_id).status == ReviewStatus.needs_review  # type: ignore[union-attr]
    engine.dispose()
