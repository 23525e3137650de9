"""Benchmark data that goes through the services: revision chains, decisions, a live workshop.

Pages and their revisions are bulk rows (``bench.generate``) because 200,000 revisions through
``save_page`` would take an hour; decisions and the workshop are few, and their services keep
numbering, people and links consistent, so they are created the way the app creates them.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date, timedelta

from sqlmodel import Session, col, select

from app.accounts.models import User
from app.decisions import service as decisions
from app.decisions.schemas import DecisionCreate, OptionIn, PageLinkIn
from app.workshops import room
from app.workshops import service as workshops
from app.workshops.models import WorkshopState
from app.workshops.schemas import AgendaItemCreate, IdeaCreate, WorkshopCreate

Sentence = Callable[[], str]


def edit_chain(rng: random.Random, body: str, count: int, sentence: Sentence) -> list[str]:
    """``count`` successive bodies: the first is ``body``, each next one edits one paragraph.

    An edit replaces the last sentence of a paragraph or appends a sentence to it, the way
    people touch up a page; headings are left alone so sections keep their ids.
    """
    lines = body.split("\n")
    paragraphs = [i for i, line in enumerate(lines) if line and not line.startswith("#")]
    bodies = [body]
    for _ in range(count - 1):
        i = rng.choice(paragraphs)
        line = lines[i]
        if rng.random() < 0.5 and ". " in line:
            line = line.rsplit(". ", 1)[0] + ". " + sentence()
        else:
            line = line + " " + sentence()
        lines[i] = line
        bodies.append("\n".join(lines))
    return bodies


def add_decisions(
    session: Session, rng: random.Random, *, count: int, slugs: list[str], words: Sentence
) -> int:
    """``count`` decision records, each governing one page, a third of them proposed."""
    users = list(session.exec(select(User).order_by(col(User.id)).limit(10)))
    recorder = users[0]
    for n in range(count):
        data = DecisionCreate(
            title=f"Decision {n}: {words()}"[:200],
            context=" ".join(words() for _ in range(4)),
            drivers=words(),
            options=[OptionIn(name=f"Option {k}", pros=words(), cons=words()) for k in range(3)],
            chosen_option="Option 1",
            rationale=" ".join(words() for _ in range(2)),
            consequences=words(),
            review_on=date(2027, 1, 1) + timedelta(days=rng.randint(0, 365)),
            tags=["governance"],
            deciders=[u.username for u in rng.sample(users, 2)],
            pages=[PageLinkIn(slug=rng.choice(slugs))],
            status="proposed" if n % 3 == 0 else "draft",
        )
        decisions.create_decision(session=session, data=data, user=recorder)
    return count


def add_workshop(
    session: Session, rng: random.Random, *, ideas: int, slugs: list[str], words: Sentence
) -> int:
    """A live workshop with four agenda items and ``ideas`` ideas on the first; returns its id."""
    users = list(session.exec(select(User).order_by(col(User.id)).limit(12)))
    facilitator = users[0]
    data = WorkshopCreate(
        title="Quarterly service review",
        goal="Agree the next quarter's priorities.",
        participants=[u.username for u in users[1:]],
        items=[AgendaItemCreate(question=words(), page=rng.choice(slugs)) for _ in range(4)],
    )
    workshop = workshops.create_workshop(session=session, data=data, user=facilitator)
    wid = workshop.id or 0
    for state in (WorkshopState.scheduled, WorkshopState.live):
        workshops.set_state(session=session, workshop_id=wid, state=state, user=facilitator)
    for n in range(ideas):
        room.add_idea(
            session=session,
            workshop_id=wid,
            data=IdeaCreate(body=words(), anonymous=n % 5 == 0),
            user=users[n % len(users)],
        )
    return wid
