"""A small webhook receiver on 127.0.0.1 for tests: records what it gets, answers set codes."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Receiver:
    """What the receiver got; it answers with the queued status codes, then 200."""

    url: str = ""
    codes: list[int] = field(default_factory=list)
    got: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


@contextmanager
def receiving(codes: list[int] | None = None) -> Iterator[Receiver]:
    """Run a receiver on a free loopback port for the duration of the block."""
    state = Receiver(codes=list(codes or []))

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with state.lock:
                state.got.append(({k.lower(): v for k, v in self.headers.items()}, body))
                code = state.codes.pop(0) if state.codes else 200
            answer = b"thanks" if code < 300 else b"receiver broke"
            self.send_response(code)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: object) -> None:
            pass  # keep the test output quiet

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/atrium"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
