"""Test data factories."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session

from app.accounts import service as accounts
from app.accounts.models import Role, User
from app.accounts.schemas import UserCreate
from app.pages import service as pages
from app.pages.models import Page
from app.pages.schemas import PageEdit

PASSWORD = "correct horse battery staple"


def make_user(session: Session, *, username: str = "alice", role: Role = Role.editor) -> User:
    """A user with the shared test password."""
    return accounts.create_user(
        session=session,
        data=UserCreate(
            username=username, password=PASSWORD, role=role, display_name=username.title()
        ),
    )


def make_page(
    session: Session,
    *,
    slug: str = "core-processes/requirement-to-value",
    title: str = "Requirement to Value",
    body: str = "## Purpose\n\nTurn demand into value.\n",
    author: User | None = None,
    **overrides: Any,
) -> Page:
    """A page with one revision."""
    author = author or accounts.system_actor()
    edit = PageEdit(title=title, body=body, **overrides)
    return pages.save_page(session=session, slug=slug, edit=edit, author=author).page


def csrf_from(html: str) -> str:
    """The CSRF token embedded in a rendered form."""
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def login(client: TestClient, username: str = "alice", password: str = PASSWORD) -> str:
    """Sign a test client in through the login form; returns its CSRF token."""
    token = csrf_from(client.get("/login").text)
    response = client.post(
        "/login",
        data={"username": username, "password": password, "next": "/", "csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return token
