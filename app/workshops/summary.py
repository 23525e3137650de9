"""The summary page a workshop leaves in the wiki when it closes (a step of the close use case)."""

from __future__ import annotations

from sqlmodel import Session

from app.accounts.models import User
from app.pages.models import Page
from app.workshops.models import Workshop


def write_summary_page(*, session: Session, workshop: Workshop, actor: User) -> Page:
    """Write the summary page inside the caller's transaction (no commit)."""
    raise NotImplementedError  # filled in with the live room
