"""How fast a long page (30,000 words) is to view, edit and preview, through HTTP in-process.

    .venv/bin/python -m bench.long_page [--words 30000] [--runs 7]

Builds a fresh data dir in a temporary directory, saves one long page (headings every few
hundred words, lists, tables, code, wikilinks, footnotes) as an editor, then times each request
``--runs`` times and prints the median and the slowest: the page view (HTML cached per
revision), the full editor, a full-page preview (what one debounced preview request costs), a
section's editor and preview, a section save, and the bare markdown render.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient

from app.accounts.models import Role
from app.core.config import Settings
from app.core.db import make_engine, migrate, open_session
from app.main import create_app
from app.pages import rendering
from tests.factories import login, make_page, make_user

_VOCABULARY = (
    "service portfolio demand capacity governance incident problem change release risk "
    "supplier contract budget forecast architecture platform cloud security identity access "
    "onboarding request fulfilment catalogue agreement escalation roadmap backlog priority "
    "stakeholder sponsor steering committee the a of to and in for with on is are be that "
    "each every team owner process value customer outcome measure review approve"
)
WORDS = _VOCABULARY.split()


def long_body(words: int, seed: int = 6) -> str:
    """Markdown of about ``words`` words, shaped like a long operating-model page."""
    rng = random.Random(seed)
    out: list[str] = ["Lead paragraph of the long page, before any heading.\n"]
    count = 0
    section = 0

    def sentence(n: int) -> str:
        ws = [rng.choice(WORDS) for _ in range(n)]
        if rng.random() < 0.3:
            ws[rng.randrange(n)] = f"**{rng.choice(WORDS)}**"
        if rng.random() < 0.2:
            ws[rng.randrange(n)] = f"[[{rng.choice(WORDS).title()} Process]]"
        return " ".join(ws).capitalize() + "."

    while count < words:
        section += 1
        level = "##" if section % 4 == 1 else "###"
        out.append(f"{level} Section {section}: {rng.choice(WORDS)} {rng.choice(WORDS)}\n")
        kind = section % 5
        if kind == 0:
            items = [f"- {sentence(10)}" for _ in range(8)]
            out.append("\n".join(items) + "\n")
            count += 80
        elif kind == 1:
            rows = [
                f"| {rng.choice(WORDS)} | {sentence(6)} | {rng.randrange(100)} |" for _ in range(6)
            ]
            out.append("| Item | Description | Score |\n|---|---|---|\n" + "\n".join(rows) + "\n")
            count += 50
        elif kind == 2:
            out.append("```python\n# a comment, not a heading\nvalue = compute(1, 2)\n```\n")
        for _ in range(3):
            n = rng.randrange(60, 110)
            note = f"[^{section}]" if rng.random() < 0.1 else ""
            out.append(" ".join(sentence(n // 6) for _ in range(6)) + note + "\n")
            if note:
                out.append(f"[^{section}]: Footnote for section {section}.\n")
            count += n
    return "\n".join(out)


def timed(fn: Callable[[], object], runs: int) -> tuple[float, float, float]:
    """Median and maximum wall time, and median CPU time, of ``fn`` in milliseconds.

    The app runs in this process (TestClient), so CPU time is what the request cost the
    server, and stays meaningful when other work shares the machine; wall time does not.
    """
    wall, cpu = [], []
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        wall.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
    return statistics.median(wall), max(wall), statistics.median(cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--words", type=int, default=30_000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    body = long_body(args.words)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), secret_key="bench", search_indexer=False)
        migrate(settings)
        engine = make_engine(settings)
        with open_session(engine, settings) as session:
            editor = make_user(session, username="alice", role=Role.editor)
            make_page(session, slug="long", title="Long page", body=body, author=editor)
        engine.dispose()
        with TestClient(create_app(settings)) as client:
            token = login(client)
            sections = client.get("/api/v1/pages/long/sections").json()["sections"]
            middle = sections[len(sections) // 2]
            section_url = f"/edit-section/long?section={middle['index']}"
            section_params = {"section": middle["index"], "heading": middle["title"]}

            def ok(response: object) -> None:
                status = getattr(response, "status_code", 0)
                assert status in (200, 303), status

            checks: list[tuple[str, Callable[[], object]]] = [
                ("view /wiki/long (cached HTML)", lambda: ok(client.get("/wiki/long"))),
                ("edit form /edit/long", lambda: ok(client.get("/edit/long"))),
                (
                    "preview, whole page",
                    lambda: ok(client.post("/preview", data={"body": body, "csrf_token": token})),
                ),
                (
                    f"section editor {section_url}",
                    lambda: ok(client.get("/edit-section/long", params=section_params)),
                ),
                (
                    "preview, one section",
                    lambda: ok(
                        client.post(
                            "/preview", data={"body": middle["source"], "csrf_token": token}
                        )
                    ),
                ),
                ("render markdown (no HTTP)", lambda: rendering.render_plain(body)),
            ]
            print(
                f"page: {len(body.split()):,} words, {len(body):,} bytes, {len(sections)} sections"
            )
            for label, fn in checks:
                fn()  # warm up
                median, worst, cpu = timed(fn, args.runs)
                print(f"{label:45} median {median:7.0f} ms  max {worst:7.0f} ms  cpu {cpu:7.0f} ms")
            head = client.get("/api/v1/pages/long").json()["head"]
            start, start_cpu = time.perf_counter(), time.process_time()
            saved = client.post(
                "/edit-section/long",
                data={
                    "base": head,
                    "section": middle["index"],
                    "heading": middle["title"],
                    "body": middle["source"] + "\nOne more sentence.\n",
                    "csrf_token": token,
                },
                follow_redirects=False,
            )
            ok(saved)
            took = (time.perf_counter() - start) * 1000
            cpu = (time.process_time() - start_cpu) * 1000
            label = "save one section (splice, merge, render)"
            print(f"{label:45} once   {took:7.0f} ms                cpu {cpu:7.0f} ms")


if __name__ == "__main__":
    main()
