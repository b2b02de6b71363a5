"""A real webhook receiver for the tests: an HTTP server on the loopback interface, in a thread.

It records every request it is sent (path, headers, body), answers as the test scripts it (a status, after
a pause, with headers), and counts, per ``X-Convites-Entrega``, the requests in flight at the same moment,
so a test can see a delivery that two workers sent at once. It can stop listening and start again on the
same port, so one URL can answer, time out and then refuse connections.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections import Counter, deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ENTREGA = "X-Convites-Entrega"


@dataclass(frozen=True)
class Answer:
    """How the receiver answers one request: after ``pause`` seconds, ``status`` with ``headers``."""

    status: int = 200
    pause: float = 0.0
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Received:
    """One request as the receiver saw it (recorded when it arrived, before any pause)."""

    method: str
    path: str
    headers: Message
    body: bytes
    at: float

    @property
    def delivery(self) -> str:
        return self.headers.get(ENTREGA, "")


class Receiver:
    """Listen on ``127.0.0.1`` (a free port) until stopped; a context manager."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        #: Answers for the next requests, in order; once empty, every request gets ``default``.
        self.script: deque[Answer] = deque()
        self.default = Answer()
        #: Seconds every request waits before it is answered (on top of its answer's pause).
        self.delay = 0.0
        #: Per delivery id, the most requests that were in flight for it at the same moment.
        self.most_in_flight: Counter[str] = Counter()
        #: The most requests in flight at the same moment, whatever their delivery.
        self.most_at_once = 0
        #: Connections accepted, requests or not.
        self.connections = 0
        self._in_flight: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    # -- life -------------------------------------------------------------------------------------------

    def start(self, port: int = 0) -> Receiver:
        """Listen on ``port`` (0: a free one, then kept for later starts)."""
        server = _Server(("127.0.0.1", port or self.port), _handler_for(self))
        server.receiver = self
        self._server, self.port = server, server.server_address[1]
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening: a connection to the port is refused until :meth:`start` again."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            assert self._thread is not None
            self._thread.join(timeout=5)
            self._server = self._thread = None

    def __enter__(self) -> Receiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @contextlib.contextmanager
    def down(self) -> Iterator[None]:
        """Nothing listens on the port for the duration of the block."""
        self.stop()
        try:
            yield
        finally:
            self.start()

    # -- what it does -----------------------------------------------------------------------------------

    def url(self, path: str = "/hook", host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def answer(self, *answers: Answer) -> None:
        """Answer the next requests so, in order."""
        with self._lock:
            self.script.extend(answers)

    def bodies(self) -> list[bytes]:
        with self._lock:
            return [request.body for request in self.requests]

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        """The requests once there are at least ``count`` (for requests a client gave up on)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.requests) >= count:
                    return list(self.requests)
            time.sleep(0.01)
        raise AssertionError(f"the receiver got {len(self.requests)} requests, not {count}")

    def _arrived(self, request: Received) -> Answer:
        with self._lock:
            self.requests.append(request)
            answer = self.script.popleft() if self.script else self.default
            self._in_flight[request.delivery] += 1
            self.most_in_flight[request.delivery] = max(
                self.most_in_flight[request.delivery], self._in_flight[request.delivery]
            )
            self.most_at_once = max(self.most_at_once, sum(self._in_flight.values()))
            return answer

    def _left(self, request: Received) -> None:
        with self._lock:
            self._in_flight[request.delivery] -= 1


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    receiver: Receiver

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.receiver._lock:
            self.receiver.connections += 1
        super().process_request(request, client_address)


def _handler_for(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            request = Received(self.command, self.path, self.headers, body, time.time())
            answer = receiver._arrived(request)
            try:
                time.sleep(answer.pause + receiver.delay)
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "2")
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(b"ok")
            except OSError:
                pass  # the client gave up (a timeout): nobody to answer
            finally:
                receiver._left(request)
                self.close_connection = True

        do_GET = do_PUT = do_DELETE = do_POST  # recorded all the same: a followed redirect would show

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@contextlib.contextmanager
def dribbling(every: float = 0.2) -> Iterator[int]:
    """A server on 127.0.0.1 (its port is yielded) that reads a request and answers ``200 OK`` one byte
    every ``every`` seconds: each read of the client's returns quickly, the whole answer takes long."""
    answer = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    stop = threading.Event()
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(0.05)

    def dribble(conn: socket.socket) -> None:
        with conn:
            conn.recv(65536)
            for byte in answer:
                if stop.wait(every):
                    return
                try:
                    conn.sendall(bytes([byte]))
                except OSError:
                    return  # the client hung up

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            threading.Thread(target=dribble, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield int(listener.getsockname()[1])
    finally:
        stop.set()
        thread.join(timeout=5)
        listener.close()
