"""Cross-server checks for the scale-out bench: what one app server writes, the other serves.

Each check drives the endpoints a browser uses (forms with their CSRF token, htmx requests with
the ``X-CSRF-Token`` header and ``HX-Request``) through two app servers, A and B, that share only
the PostgreSQL database and the secret key. A check that fails is printed with ✘ and what was
seen; ``Report.ok`` is false then and bench/scaleout.py exits non-zero.

- sessions: a session signed in on A opens a members-only workshop room through B; a form token
  from A is accepted by B, and the anonymous page view through A shows the edit saved through B
  (a per-process page or response cache would show the old text);
- notifications: X watches a page through A, Y edits it through B; X's inbox and unread badge
  show it through A and B; "mark all read" through B is seen through A;
- live workshop: X's room polls ``/workshops/{id}/live?since=<revision>`` through A (as htmx does
  every 1.5 s); an idea, a dot vote and a proposal from the idea with a response and its reason,
  each made by Y through B, show in X's next poll through A.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import httpx

from bench.procs import Server

_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')
_HEADER = re.compile(r'"X-CSRF-Token": "([^"]+)"')
_PROBE = re.compile(r"/live\?since=(-?\d+)&amp;state=(\w+)")


@dataclass
class Report:
    """The checks' outcomes, printed as they come."""

    results: dict[str, bool] = field(default_factory=dict)

    def check(self, name: str, ok: bool, seen: object = "") -> bool:
        """Record and print one outcome (with what was seen when it failed)."""
        self.results[name] = ok
        print(f"  {'✔' if ok else '✘'} {name}{'' if ok else f'  (seen: {seen})'}", flush=True)
        return ok

    @contextmanager
    def group(self, title: str) -> Iterator[None]:
        """A group of checks; an error inside it is a failed check, not the end of the run."""
        print(f"\n{title}", flush=True)
        try:
            yield
        except Exception as exc:  # any error means the scenario did not work across servers
            self.check(f"{title}: ran to the end", False, f"{type(exc).__name__}: {exc}")

    @property
    def ok(self) -> bool:
        """Whether every check passed (and there was at least one)."""
        return bool(self.results) and all(self.results.values())


class Browser:
    """One person's browser. Cookies ignore the port, so it carries one sign-in to A and B."""

    def __init__(self, username: str, password: str) -> None:
        self.username = username
        self.password = password
        self.http = httpx.Client(timeout=60)

    def close(self) -> None:
        """Drop the connections."""
        self.http.close()

    def get(self, server: Server, path: str, *, htmx: bool = False) -> httpx.Response:
        """GET ``path`` from ``server`` (as htmx does when ``htmx``)."""
        headers = {"HX-Request": "true"} if htmx else {}
        return self.http.get(server.url + path, headers=headers)

    def token(self, server: Server, path: str) -> str:
        """The CSRF token of the screen at ``path`` on ``server`` (a form's, or htmx's header)."""
        html = self.get(server, path).text
        found = _FIELD.search(html) or _HEADER.search(html)
        if found is None:
            raise AssertionError(f"no CSRF token on {server.name}:{path}")
        return found.group(1)

    def submit(
        self,
        server: Server,
        path: str,
        data: dict[str, str],
        *,
        form_on: tuple[Server, str],
        htmx: bool = False,
    ) -> httpx.Response:
        """POST ``data`` to ``server`` with the token of the screen ``form_on`` (server, path)
        the form was on: a hidden field, or htmx's header."""
        token = self.token(*form_on)
        if htmx:
            headers = {"HX-Request": "true", "X-CSRF-Token": token}
            return self.http.post(server.url + path, data=data, headers=headers)
        return self.http.post(server.url + path, data={**data, "csrf_token": token})

    def sign_in(self, server: Server) -> None:
        """Sign in through the login form of ``server``."""
        response = self.submit(
            server,
            "/login",
            {"username": self.username, "password": self.password, "next": "/"},
            form_on=(server, "/login"),
        )
        if response.status_code != 303:
            raise AssertionError(f"{self.username} could not sign in: {response.status_code}")


def _unread(browser: Browser, server: Server) -> int:
    response = browser.get(server, "/api/v1/notifications/unread-count")
    response.raise_for_status()
    return int(response.json()["unread"])


def _badge(browser: Browser, server: Server) -> str:
    """What the header badge says (its screen-reader text)."""
    html = browser.get(server, "/inbox/badge", htmx=True).text
    found = re.search(r'class="visually-hidden">([^<]*)<', html)
    return found.group(1).strip() if found else html.strip()[:80]


def sessions(report: Report, a: Server, b: Server, admin: Browser, slug: str, room: str) -> None:
    """A sign-in and a form token from A work on B; B's save shows in A's anonymous view."""
    with report.group("sessions across servers"):
        anonymous = httpx.get(b.url + room)
        report.check(
            "a members-only room is refused to a visitor on B", anonymous.status_code != 200
        )
        admin.sign_in(a)
        report.check(
            "a session signed in on A opens it on B", admin.get(b, room).status_code == 200
        )
        view = f"/wiki/{slug}"
        httpx.get(a.url + view)  # a per-process cache on A would now hold the old page
        mark = f"Saved through server B ({uuid.uuid4().hex[:8]})."
        response = _edit(admin, b, slug, mark, form_on=a)
        report.check("a form token from A is accepted by B", response.status_code == 303, response)
        report.check(
            "the anonymous page view on A shows the edit saved on B",
            mark in httpx.get(a.url + view).text,
        )


def _edit(
    browser: Browser, server: Server, slug: str, line: str, *, form_on: Server
) -> httpx.Response:
    """Append ``line`` to the page through ``server``'s edit form (read on ``form_on``)."""
    page = browser.get(form_on, f"/api/v1/pages/{slug}").json()
    data = {
        "base": str(page["head"]),
        "title": page["title"],
        "body": page["body"] + f"\n{line}\n",
        "tags_text": ",".join(page["tags"]),
        "summary": line,
    }
    return browser.submit(server, f"/edit/{slug}", data, form_on=(form_on, f"/edit/{slug}"))


def notifications(report: Report, a: Server, b: Server, x: Browser, y: Browser, slug: str) -> None:
    """X watches through A, Y edits through B: X's inbox and badge on A and B; read through B."""
    with report.group("notifications across servers"):
        x.sign_in(a)
        y.sign_in(b)
        view = f"/wiki/{slug}"
        watched = x.submit(a, f"/watch/{slug}", {}, form_on=(a, view))
        state = x.get(b, f"/api/v1/pages/{slug}/watch").json()
        report.check(
            "X watches the page through A; B says X watches it",
            watched.status_code == 303 and state.get("watching") is True,
            (watched.status_code, state),
        )
        before = _unread(x, a)
        saved = _edit(y, b, slug, f"Edited by Y through B ({uuid.uuid4().hex[:8]}).", form_on=b)
        report.check("Y's edit through B is saved", saved.status_code == 303, saved)
        for label, server in (("A", a), ("B", b)):
            inbox = x.get(server, "/inbox").text
            report.check(
                f"X's inbox through {label} lists Y's edit, unread",
                "is-unread" in inbox and "Bench Y" in inbox,
                re.sub(r"\s+", " ", inbox[inbox.find("inbox-item") :][:200]),
            )
            badge, unread = _badge(x, server), _unread(x, server)
            report.check(
                f"X's unread badge through {label} counts it",
                unread == before + 1 and f"{unread} unread" in badge,
                (badge, unread, before),
            )
        marked = x.submit(b, "/inbox/read", {"all": "true"}, form_on=(b, "/inbox"))
        badge, unread = _badge(x, a), _unread(x, a)
        listed = "is-unread" in x.get(a, "/inbox?show=all").text
        report.check(
            "X marks all read through B; A's badge, count and inbox show none unread",
            marked.status_code == 303 and unread == 0 and "unread" not in badge and not listed,
            (marked.status_code, badge, unread, listed),
        )


class _Room:
    """X's open room on A: polls like the htmx probe, with the revision it last saw."""

    def __init__(self, browser: Browser, server: Server, workshop: int) -> None:
        self.browser, self.server, self.workshop = browser, server, workshop
        html = browser.get(server, f"/workshops/{workshop}").text
        self.since, self.state = self._probe(html)
        item = re.search(r'name="item_id" value="(\d+)" data-ws-item', html)
        self.item = item.group(1) if item else ""

    @staticmethod
    def _probe(html: str) -> tuple[int, str]:
        found = _PROBE.search(html)
        if found is None:
            raise AssertionError("the room has no live probe")
        return int(found.group(1)), found.group(2)

    def poll(self) -> tuple[int, str]:
        """One poll: (status, the fragment); a fresh fragment moves ``since`` on."""
        path = f"/workshops/{self.workshop}/live?since={self.since}&state={self.state}"
        response = self.browser.get(self.server, path, htmx=True)
        if response.status_code == 200:
            self.since, self.state = self._probe(response.text)
        return response.status_code, response.text


def _dots_placed(admin: Browser, server: Server, workshop: int) -> int:
    html = admin.get(server, f"/workshops/{workshop}", htmx=True).text
    found = re.search(r"(\d+) dots? placed", html)
    return int(found.group(1)) if found else -1


def workshop(
    report: Report, a: Server, b: Server, admin: Browser, x: Browser, y: Browser, workshop: int
) -> None:
    """Y's idea, dot and proposal response through B show in X's next poll through A."""
    room = f"/workshops/{workshop}"
    with report.group("live workshop updates across servers"):
        for person in (x, y):
            added = admin.submit(
                a,
                f"{room}/members",
                {"username": person.username, "role": "participant"},
                form_on=(a, f"{room}/plan"),
            )
            if added.status_code != 303:
                raise AssertionError(f"could not add {person.username}: {added.status_code}")
        x_room = _Room(x, a, workshop)
        status, _ = x_room.poll()
        report.check(
            "X's room on A is live; a poll with nothing new is empty (204)",
            status == 204 and x_room.state == "live" and bool(x_room.item),
            (status, x_room.state),
        )

        idea = f"Idea through B {uuid.uuid4().hex[:8]}"
        added = y.submit(
            b, f"{room}/ideas", {"item_id": x_room.item, "body": idea}, form_on=(b, room), htmx=True
        )
        ids = re.findall(r'id="idea-(\d+)"', added.text[: added.text.find(idea)])
        status, html = x_room.poll()
        report.check(
            "an idea Y adds through B is in X's next poll through A",
            added.status_code == 200 and status == 200 and idea in html,
            status,
        )

        idea_id = ids[-1] if ids else "0"
        placed = _dots_placed(admin, a, workshop)
        before = x_room.since
        dot = y.submit(b, f"{room}/ideas/{idea_id}/dot", {}, form_on=(b, room), htmx=True)
        status, _ = x_room.poll()
        report.check(
            "a dot Y places through B refreshes X's room on the next poll through A",
            dot.status_code == 200 and status == 200 and x_room.since > before,
            (dot.status_code, status, before, x_room.since),
        )
        report.check(
            "the facilitator's room through A counts the dot",
            _dots_placed(admin, a, workshop) == placed + 1,
            (placed, _dots_placed(admin, a, workshop)),
        )

        title = f"Proposal through B {uuid.uuid4().hex[:8]}"
        form = f"/proposals/new?idea={idea_id}"
        made = y.submit(
            b,
            "/proposals/new",
            {"title": title, "description": idea, "source": "idea", "source_id": idea_id},
            form_on=(b, form),
        )
        status, html = x_room.poll()
        report.check(
            "a proposal Y makes from the idea through B is in X's next poll through A",
            made.status_code == 303 and status == 200 and title in html,
            (made.status_code, status),
        )
        proposal = made.headers.get("location", "").rsplit("/", 1)[-1]
        said = y.submit(
            b,
            f"/proposals/{proposal}/respond",
            {"stance": "agree", "reason": "Agreed through server B."},
            form_on=(b, f"/proposals/{proposal}"),
        )
        status, html = x_room.poll()
        report.check(
            "Y's response with its reason through B shows in the tally of X's next poll on A",
            said.status_code == 303 and status == 200 and "1 agree" in html,
            (said.status_code, status),
        )


def run_all(a: Server, b: Server, *, password: str, workshop_id: int, slugs: list[str]) -> Report:
    """Every cross-server check, with fresh browsers for the admin ``bench``, X and Y."""
    report = Report()
    admin, x, y = (Browser(name, password) for name in ("bench", "bench-x", "bench-y"))
    try:
        sessions(report, a, b, admin, slugs[-1], f"/workshops/{workshop_id}")
        notifications(report, a, b, x, y, slugs[-2])
        workshop(report, a, b, admin, x, y, workshop_id)
    finally:
        for browser in (admin, x, y):
            browser.close()
    return report
