"""Server processes for the benchmarks: start on a free loopback port, wait, measure, stop.

CPU time and peak memory are read from /proc for the server's whole process tree (the
uvicorn or gunicorn supervisor and its workers), so multi-worker servers are counted whole.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def descendants(pid: int) -> list[int]:
    """``pid`` and every process below it."""
    found = [pid]
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children = (task / "children").read_text().split()
        except OSError:
            continue
        for child in children:
            found.extend(descendants(int(child)))
    return found


def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    # stat fields 14-17: utime, stime, and cutime, cstime of children it has waited for
    # (An Otter Wiki runs short-lived git processes); fields[0] here is field 3 (state)
    return sum(int(f) for f in fields[11:15]) / TICKS


def _status_kib(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


@dataclass
class Server:
    """One server under test, started by ``command`` with its output in ``log``."""

    name: str
    command: Sequence[str]
    port: int
    log: Path
    env: Mapping[str, str] = field(default_factory=dict)
    cwd: Path | None = None
    ready_path: str = "/"
    process: subprocess.Popen[bytes] | None = None
    # servers whose CPU time counts as this one's (a proxy's upstreams)
    upstreams: list[Server] = field(default_factory=list)

    @property
    def url(self) -> str:
        """Base URL on loopback."""
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 180.0) -> Server:
        """Start the server and wait until it answers ``ready_path``."""
        self.log.parent.mkdir(parents=True, exist_ok=True)
        out = self.log.open("ab")
        self.process = subprocess.Popen(
            list(self.command),
            env={**os.environ, **self.env},
            cwd=self.cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopped whole, nothing else
        )
        try:
            self._wait_ready(timeout)
        except BaseException:  # interrupted or failed: leave nothing running
            self.stop()
            raise
        return self

    def _wait_ready(self, timeout: float) -> None:
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited early; see {self.log}")
            try:
                if httpx.get(self.url + self.ready_path, timeout=5).status_code < 500:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"{self.name} did not answer within {timeout:.0f} s; see {self.log}")

    def pids(self) -> list[int]:
        """The server's process and its workers."""
        return descendants(self.process.pid) if self.process else []

    def cpu_seconds(self) -> float:
        """CPU time (user + system) used so far by the server's processes and its upstreams'."""
        own = sum(_cpu_seconds(pid) for pid in self.pids())
        return own + sum(s.cpu_seconds() for s in self.upstreams)

    def settle(self, timeout: float = 60.0) -> None:
        """Wait until the server is idle (it may still be working through a queue of requests
        the last load left behind), so one run's backlog is not charged to the next."""
        deadline = time.monotonic() + timeout
        before = self.cpu_seconds()
        while time.monotonic() < deadline:
            time.sleep(0.5)
            now = self.cpu_seconds()
            if now - before < 0.05:
                return
            before = now

    def peak_rss_kib(self) -> tuple[int, int]:
        """(largest single process, sum over processes) of VmHWM, the peak resident set."""
        peaks = [_status_kib(pid, "VmHWM") for pid in self.pids()]
        return (max(peaks, default=0), sum(peaks))

    def stop(self) -> None:
        """Stop the server's process group (SIGTERM, then SIGKILL after 15 s)."""
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()
