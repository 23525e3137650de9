"""`atrium user` and `atrium token` apply the password rules and take a token's scope."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from app.accounts.models import ApiToken
from app.audit.models import AuditEntry
from app.cli import app
from app.core.config import Settings
from app.core.db import make_engine, open_session


@pytest.fixture
def run(tmp_path: Path) -> CliRunner:
    runner = CliRunner(env={"ATRIUM_DATA_DIR": str(tmp_path / "data"), "ATRIUM_SECRET_KEY": "k"})
    assert runner.invoke(app, ["migrate"]).exit_code == 0
    return runner


def test_passwords_follow_the_rules_on_the_command_line(run: CliRunner, tmp_path: Path) -> None:
    common = run.invoke(app, ["user", "add", "bob", "--password", "password123456"])
    assert common.exit_code == 1
    assert "most commonly used" in common.output
    own_name = run.invoke(app, ["user", "add", "bobby", "--password", "bobby-bobby-1"])
    assert "must not be your username" in own_name.output
    assert run.invoke(app, ["user", "add", "bob", "--password", "Marmot-Harbour-91"]).exit_code == 0
    short = run.invoke(app, ["user", "passwd", "bob", "--password", "Harbour-91"])
    assert short.exit_code == 1
    assert "at least 12 characters" in short.output
    ok = run.invoke(app, ["user", "passwd", "bob", "--password", "Tangerine-Quietly-7"])
    assert ok.exit_code == 0, ok.output
    settings = Settings(data_dir=tmp_path / "data", secret_key="k")
    with open_session(make_engine(settings), settings) as session:
        actions = [e.action for e in session.exec(select(AuditEntry))]
    assert actions == ["user.created", "user.password_changed"]


def test_token_create_takes_scope_and_expiry(run: CliRunner, tmp_path: Path) -> None:
    run.invoke(app, ["user", "add", "bob", "--password", "Marmot-Harbour-91"])
    made = run.invoke(app, ["token", "create", "bob", "--scope", "read", "--days", "30"])
    assert made.exit_code == 0, made.output
    assert made.output.strip().startswith("atr_")
    assert run.invoke(app, ["token", "create", "bob", "--scope", "admin"]).exit_code != 0
    settings = Settings(data_dir=tmp_path / "data", secret_key="k")
    with open_session(make_engine(settings), settings) as session:
        rows = session.exec(select(ApiToken)).all()
    assert [(r.scopes, r.expires_at is not None) for r in rows] == [("read", True)]
