"""Nothing lost under concurrency: many clients through the real server (2 worker processes).

Every accepted save is in history, every non-overlapping change is in the final text, every
overlapping one was reported to its author as a conflict; the same for comments and votes.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from sqlmodel import select

from app.accounts.models import Role
from app.core.config import Settings
from app.core.db import make_engine, open_session
from app.workshops import room
from app.workshops import service as workshops
from app.workshops.models import DotVote, WorkshopState
from app.workshops.schemas import IdeaCreate, WorkshopCreate
from tests.soak.conftest import Server, client, prepare

CLIENTS = 10
ROUNDS = 12


def _body(values: dict[str, str]) -> str:
    # every line its own paragraph: changes to different lines never touch each other's context
    return "\n\n".join(f"{key}: {value}" for key, value in sorted(values.items())) + "\n"


def _parse(body: str) -> dict[str, str]:
    return dict(line.split(": ", 1) for line in body.split("\n") if ": " in line)


@dataclass
class Outcome:
    user: str
    line: str
    value: str
    status: int
    revision: int | None
    merged: bool


def test_concurrent_page_edits_lose_nothing(server: Server) -> None:
    users = {f"u{i}": Role.editor for i in range(CLIENTS)}
    tokens = prepare(server.data_dir, users)
    server.start()
    start = {f"line-{u}": "0" for u in users} | {"shared": "0"}
    with client(server, tokens["u0"]) as c:
        created = c.put("/api/v1/pages/ops/shared", json={"title": "Shared", "body": _body(start)})
        assert created.status_code == 200, created.text

    outcomes: list[Outcome] = []
    lock = threading.Lock()
    barrier = threading.Barrier(CLIENTS)

    def work(user: str, seed: int) -> None:
        rnd = random.Random(seed)
        with client(server, tokens[user]) as c:
            for n in range(1, ROUNDS + 1):
                barrier.wait(timeout=60)  # everyone reads, then everyone saves: real races
                page = c.get("/api/v1/pages/ops/shared").json()
                values = _parse(page["body"])
                # a third of the saves touch the line everyone edits: those overlap
                line = "shared" if rnd.random() < 0.33 else f"line-{user}"
                value = f"{user}-{n}"
                values[line] = value
                response = c.put(
                    "/api/v1/pages/ops/shared",
                    json={"base": page["head"], "title": "Shared", "body": _body(values)},
                )
                assert response.status_code in (200, 409), response.text
                data = response.json()
                with lock:
                    ok = response.status_code == 200
                    outcomes.append(
                        Outcome(
                            user=user,
                            line=line,
                            value=value,
                            status=response.status_code,
                            revision=(data["revision"] or {}).get("number") if ok else None,
                            merged=bool(data.get("merged")) if ok else False,
                        )
                    )

    with ThreadPoolExecutor(CLIENTS) as pool:
        for future in [pool.submit(work, u, i) for i, u in enumerate(users)]:
            future.result()

    accepted = [o for o in outcomes if o.status == 200]
    conflicts = [o for o in outcomes if o.status == 409]
    # the test only means something if both paths happened
    assert any(o.merged for o in accepted), "no concurrent save was merged"
    assert conflicts, "no overlapping save was reported as a conflict"
    # a change to one's own line never conflicts: only overlapping edits are refused
    assert {o.line for o in conflicts} == {"shared"}

    with client(server, tokens["u0"]) as c:
        history = c.get("/api/v1/pages/ops/shared/revisions", params={"limit": 500}).json()
        final = c.get("/api/v1/pages/ops/shared").json()
    by_number = {r["number"]: r for r in history}
    # every accepted save is a revision of its author, and history has no gaps
    assert sorted(by_number) == list(range(1, final["head"] + 1))
    assert final["head"] == 1 + len(accepted)
    for o in accepted:
        assert o.revision is not None
        assert by_number[o.revision]["author"] == o.user
    # every accepted change is in the final text unless a later accepted save replaced it
    text = _parse(final["body"])
    last: dict[str, Outcome] = {}
    for o in sorted(accepted, key=lambda o: o.revision or 0):
        last[o.line] = o
    for line, o in last.items():
        assert text[line] == o.value, f"{o.user}'s accepted change to {line} was lost"
    for user in users:
        if f"line-{user}" not in last:
            assert text[f"line-{user}"] == "0"


def test_concurrent_comments_and_votes_lose_nothing(server: Server) -> None:
    users = {f"u{i}": Role.editor for i in range(CLIENTS)} | {"fran": Role.facilitator}
    tokens = prepare(server.data_dir, users)
    settings = Settings(data_dir=server.data_dir, secret_key="soak")
    engine = make_engine(settings)
    with open_session(engine, settings) as session:
        from app.accounts import service as accounts

        fran = accounts.get_user(session=session, username="fran")
        workshop = workshops.create_workshop(
            session=session,
            data=WorkshopCreate.model_validate(
                {
                    "title": "Soak",
                    "participants": [u for u in users if u != "fran"],
                    "items": [{"question": "Which?", "dots_per_participant": 3}],
                }
            ),
            user=fran,
        )
        wid = workshop.id or 0
        workshops.set_state(session=session, workshop_id=wid, state=WorkshopState.live, user=fran)
        ideas = [
            room.add_idea(
                session=session, workshop_id=wid, data=IdeaCreate(body=f"idea {i}"), user=fran
            ).id
            for i in range(4)
        ]
    engine.dispose()
    server.start()
    with client(server, tokens["u0"]) as c:
        c.put("/api/v1/pages/ops/talk", json={"title": "Talk", "body": "Let us talk.\n"})
        thread = c.post("/api/v1/pages/ops/talk/threads", json={"body": "Start"}).json()

    posted: list[int] = []
    dots: Counter[str] = Counter()
    refused: Counter[str] = Counter()
    lock = threading.Lock()

    def work(user: str, seed: int) -> None:
        rnd = random.Random(seed)
        with client(server, tokens[user]) as c:
            for n in range(8):
                r = c.post(f"/api/v1/threads/{thread['id']}/comments", json={"body": f"{user} {n}"})
                assert r.status_code == 201, r.text
                with lock:
                    posted.append(r.json()["id"])
            # more dot attempts than dots: the limit must hold under races
            for _ in range(5):
                r = c.post(f"/api/v1/workshops/{wid}/dots", json={"idea_id": rnd.choice(ideas)})
                assert r.status_code in (201, 409, 422), r.text
                with lock:
                    (dots if r.status_code == 201 else refused)[user] += 1

    with ThreadPoolExecutor(CLIENTS) as pool:
        for future in [
            pool.submit(work, u, i) for i, u in enumerate(u for u in users if u != "fran")
        ]:
            future.result()

    with client(server, tokens["u0"]) as c:
        full = c.get(f"/api/v1/threads/{thread['id']}").json()
    stored = [comment["id"] for comment in full["comments"]]
    assert sorted(stored) == sorted([thread["comments"][0]["id"], *posted])

    engine = make_engine(settings)
    with open_session(engine, settings) as session:
        votes = Counter(str(v.user_id) for v in session.exec(select(DotVote)).all())
        from app.accounts import service as accounts

        names = {str(u.id): u.username for u in accounts.list_users(session=session)}
    engine.dispose()
    stored_dots = Counter({names[k]: v for k, v in votes.items()})
    assert stored_dots == dots  # every accepted dot is stored, no refused one is
    assert all(count == 3 for count in stored_dots.values())  # and nobody got more than 3
    assert sum(refused.values()) == 2 * (len(users) - 1)
