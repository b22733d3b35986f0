"""A Runtime API that injects a fault into chosen invocations, and counts every answer.

Where ``raw_api.RawRuntimeAPI`` replays a fixed script of replies, this one serves invocations: each
:class:`Planned` invocation carries a :class:`Fault` saying how its ``/next`` answer goes wrong (dropped
before, during or after; a 500, 400, 403 or garbage; no request id; a huge or malformed header; a wrong
``Content-Length``; a chunked body cut short; a delay) and how its ``/response`` or ``/error`` post is
answered (413, 400, 500, 410, silence for a while, a dropped connection, an answer that stops
midway). :data:`FAULTS` names them all.

Every post is counted per request id (:attr:`FaultyRuntimeAPI.answers`), so a test can prove that no
invocation was answered twice. Each connection is served on its own thread, so several workers can
share one server. Every wait is bounded: a ``/next`` with nothing queued is answered 500 after
``next_timeout`` seconds, which stops the runtime. It reuses ``raw_api``'s reader and message builders.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from raw_api import RawRequest, RawRuntimeAPI, _Reader, chunked_invocation, http_response, invocation

TIMEOUT = 10.0

# A transformation of the correct /next answer (request id, event) into what is sent instead.
NextAnswer = Callable[[str, bytes], bytes]


def normal(request_id: str, event: bytes) -> bytes:
    return invocation(request_id, event)


@dataclass(frozen=True)
class Fault:
    """How one invocation's exchanges go wrong; the default is no fault at all.

    ``/next``: wait ``next_delay`` seconds, send ``next_answer(request id, event)``, cut to its first
    ``next_cut`` bytes (negative: all but the last ``-next_cut``), then stay silent ``next_stall``
    seconds, and close the connection if ``next_close`` (with a TCP reset if ``next_reset``). A
    ``requeue`` invocation stays queued for the next ``/next`` (the server never handed it out, as
    when an idle connection is dropped).

    Posts for it: wait ``post_delay`` seconds, then answer ``post_status`` (with ``post_body``), or
    close without an answer if ``post_close``; an answer cut to its first ``post_cut`` bytes (negative:
    all but the last ``-post_cut``) is followed by ``post_stall`` seconds of silence and a close.
    ``posts_affected`` is how many of its posts get this treatment (1: the response, and an error sent
    after it is accepted); 0 means all of them.
    """

    next_answer: NextAnswer = normal
    next_delay: float = 0.0
    next_cut: int | None = None
    next_stall: float = 0.0
    next_close: bool = False
    next_reset: bool = False
    requeue: bool = False
    # Only on a connection that has carried a request before (an idle keep-alive connection the peer
    # closed): on a fresh one the invocation is handed out as planned, fault and all, to the next /next.
    only_reused: bool = False
    post_delay: float = 0.0
    post_status: int = 202
    post_body: bytes = b'{"status":"OK"}'
    post_close: bool = False
    post_cut: int | None = None
    post_stall: float = 0.0
    posts_affected: int = 1


NO_FAULT = Fault()


def _status(status: int) -> NextAnswer:
    return lambda request_id, event: http_response(status, b'{"errorMessage":"injected %d"}' % status)


def _without_request_id(request_id: str, event: bytes) -> bytes:
    return http_response(200, event, {"Lambda-Runtime-Deadline-Ms": "9999999999999"})


def _with_header(name: str, value: str) -> NextAnswer:
    return lambda request_id, event: invocation(request_id, event, {name: value})


def _malformed_header(request_id: str, event: bytes) -> bytes:
    return invocation(request_id, event).replace(
        b"\r\nContent-Length", b"\r\nNo colon here\r\nContent-Length"
    )


def _content_length(delta: int) -> NextAnswer:
    def answer(request_id: str, event: bytes) -> bytes:
        right = b"Content-Length: %d\r\n" % len(event)
        return invocation(request_id, event).replace(right, b"Content-Length: %d\r\n" % (len(event) + delta))

    return answer


def _chunked(request_id: str, event: bytes) -> bytes:
    middle = len(event) // 2
    return chunked_invocation(request_id, [event[:middle], event[middle:]])


FAULTS: dict[str, Fault] = {
    # /next
    "next-dropped-before-answer": Fault(next_cut=0, next_close=True, requeue=True),
    "next-idle-connection-dropped": Fault(next_cut=0, next_close=True, requeue=True, only_reused=True),
    "next-reset-before-answer": Fault(next_cut=0, next_close=True, next_reset=True, requeue=True),
    "next-dropped-in-head": Fault(next_cut=30, next_close=True),
    "next-dropped-in-body": Fault(next_cut=-3, next_close=True),
    "next-dropped-after-answer": Fault(next_close=True),
    "next-500": Fault(next_answer=_status(500)),
    "next-400": Fault(next_answer=_status(400)),
    "next-403": Fault(next_answer=_status(403)),
    "next-garbage": Fault(next_answer=lambda request_id, event: b"\x16\x03\x01\x02\x00garbage\r\n\r\n"),
    "next-without-request-id": Fault(next_answer=_without_request_id),
    "next-huge-header": Fault(next_answer=_with_header("X-Huge", "h" * 100_000)),
    "next-large-header": Fault(
        next_answer=_with_header("Lambda-Runtime-Client-Context", '{"custom":{"k":"%s"}}' % ("v" * 40_000))
    ),
    "next-malformed-header": Fault(next_answer=_malformed_header),
    "next-content-length-short": Fault(next_answer=_content_length(-3)),
    "next-content-length-long": Fault(next_answer=_content_length(+10), next_stall=3.0),
    "next-content-length-long-then-close": Fault(next_answer=_content_length(+10), next_close=True),
    "next-chunked": Fault(next_answer=_chunked),
    "next-chunked-cut-short": Fault(next_answer=_chunked, next_cut=-5, next_close=True),
    "next-chunked-stalled": Fault(next_answer=_chunked, next_cut=-5, next_stall=3.0),
    "next-delayed": Fault(next_delay=0.3),
    # posts
    "post-413": Fault(post_status=413, post_body=b'{"errorMessage":"too large"}'),
    "post-400": Fault(post_status=400, post_body=b'{"errorMessage":"bad request"}'),
    "post-403": Fault(post_status=403, post_body=b'{"errorMessage":"forbidden"}'),
    "post-410": Fault(post_status=410, post_body=b'{"errorMessage":"gone"}'),
    "post-500": Fault(post_status=500, post_body=b'{"errorMessage":"broken"}'),
    "post-silent-a-while": Fault(post_delay=0.3),
    "post-silent-too-long": Fault(post_delay=3.0),
    "post-answer-stalled": Fault(post_cut=-5, post_stall=3.0),
    "post-dropped": Fault(post_close=True),
}


@dataclass
class Planned:
    """An invocation to hand out: its request id, event and fault."""

    request_id: str
    event: bytes = b"{}"
    fault: Fault = NO_FAULT
    posts_seen: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Answer:
    """One post as it arrived: ``kind`` is ``"response"`` or ``"error"``; ``status`` what the server
    answers it (``None``: the connection is closed on it), after the fault's delay."""

    request_id: str
    kind: str
    body: bytes
    headers: dict[str, str]
    status: int | None


class FaultyRuntimeAPI:
    """``with FaultyRuntimeAPI([Planned("r1", b"{}", FAULTS["post-413"]), ...]) as api:`` on 127.0.0.1."""

    def __init__(self, planned: Iterable[Planned] = (), next_timeout: float = 2.0) -> None:
        self.next_timeout = next_timeout
        self.requests: list[RawRequest] = []
        self.posts: list[Answer] = []
        self.handed_out: list[str] = []
        self.connections = 0
        self.errors: list[BaseException] = []
        self._queue: deque[Planned] = deque(planned)
        self._planned: dict[str, Planned] = {plan.request_id: plan for plan in self._queue}
        self._condition = threading.Condition()
        self._stopping = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0), backlog=64)
        self._listener.settimeout(0.05)  # accept() polls the stop flag
        self._open: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []
        self._acceptor = threading.Thread(target=self._accept, name="faulty-runtime-api", daemon=True)

    @property
    def address(self) -> str:
        host, port = self._listener.getsockname()[:2]
        return f"{host}:{port}"

    def __enter__(self) -> FaultyRuntimeAPI:
        self._acceptor.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stopping.set()
        with self._condition:
            self._condition.notify_all()
            connections = list(self._open)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        self._acceptor.join(TIMEOUT)
        for thread in list(self._threads):
            thread.join(TIMEOUT)
        self._listener.close()
        assert not self._acceptor.is_alive(), "the faulty Runtime API did not stop"
        assert not any(thread.is_alive() for thread in self._threads), "a connection thread did not stop"
        if self.errors and exc_info[0] is None:
            raise self.errors[0]

    def enqueue(self, plan: Planned) -> None:
        with self._condition:
            self._queue.append(plan)
            self._planned[plan.request_id] = plan
            self._condition.notify_all()

    # -- what a test asks ------------------------------------------------------------------------------

    def answers(self, request_id: str) -> list[Answer]:
        """Every post for ``request_id``, in arrival order."""
        with self._condition:
            return [post for post in self.posts if post.request_id == request_id]

    def accepted(self, request_id: str) -> list[Answer]:
        """The posts for ``request_id`` that the server accepted (202)."""
        return [post for post in self.answers(request_id) if post.status == 202]

    def requests_to(self, suffix: str) -> list[RawRequest]:
        return [request for request in self.requests if request.path.endswith(suffix)]

    # -- serving -----------------------------------------------------------------------------------------

    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                connection, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError as error:  # the listener failed: report it, stop accepting
                self.errors.append(error)
                return
            with self._condition:
                self.connections += 1
                number = self.connections
                self._open.add(connection)
            thread = threading.Thread(
                target=self._serve, args=(connection, number), name=f"faulty-api-{number}", daemon=True
            )
            self._threads.append(thread)
            thread.start()

    def _serve(self, connection: socket.socket, number: int) -> None:
        connection.settimeout(TIMEOUT)
        reader = _Reader(connection)
        served = 0
        try:
            while not self._stopping.is_set():
                head = reader.read_until(b"\r\n\r\n")
                if head is None:
                    return
                request = RawRequest(head, RawRuntimeAPI._read_body(reader, head), number)
                with self._condition:
                    self.requests.append(request)
                if request.method == "GET":
                    keep = self._next(connection, request, reused=served > 0)
                else:
                    keep = self._post(connection, request)
                if not keep:
                    return
                served += 1
        except (OSError, ConnectionError):
            return  # the runtime closed its end, or the test is stopping
        except BaseException as error:  # reported by __exit__
            self.errors.append(error)
        finally:
            with self._condition:
                self._open.discard(connection)
            connection.close()

    def _take(self) -> Planned | None:
        deadline = time.monotonic() + self.next_timeout
        with self._condition:
            while not self._queue:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._stopping.is_set():
                    return None
                self._condition.wait(min(remaining, 0.1))
            return self._queue.popleft()

    def _next(self, connection: socket.socket, request: RawRequest, reused: bool = True) -> bool:
        plan = self._take()
        if plan is None:
            connection.sendall(http_response(500, b'{"errorMessage":"no more invocations"}'))
            return False
        fault = plan.fault
        if fault.only_reused and not reused:
            fault = NO_FAULT
        if fault.requeue:
            with self._condition:
                # Handed out on the next /next, without the fault: the server never saw this request.
                plan.fault = NO_FAULT
                self._queue.appendleft(plan)
        else:
            with self._condition:
                self.handed_out.append(plan.request_id)
        self._sleep(fault.next_delay)
        data = fault.next_answer(plan.request_id, plan.event)
        if fault.next_cut is not None:
            data = data[: fault.next_cut]
        if data:
            connection.sendall(data)
        self._sleep(fault.next_stall)
        if fault.next_reset:
            connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            return False
        if fault.next_close or fault.next_stall:
            RawRuntimeAPI._close_gracefully(connection)
            return False
        return True

    def _post(self, connection: socket.socket, request: RawRequest) -> bool:
        parts = request.path.rstrip("/").split("/")
        request_id, kind = parts[-2], parts[-1]
        with self._condition:
            plan = self._planned.get(request_id)
            fault = NO_FAULT
            if plan is not None:
                plan.posts_seen += 1
                if plan.fault.posts_affected == 0 or plan.posts_seen <= plan.fault.posts_affected:
                    fault = plan.fault
        status = None if fault.post_close else fault.post_status
        with self._condition:  # counted on arrival: what matters is that it was sent
            self.posts.append(Answer(request_id, kind, request.body, request.headers, status))
            self._condition.notify_all()
        self._sleep(fault.post_delay)
        if status is None:
            RawRuntimeAPI._close_gracefully(connection)
            return False
        answer = http_response(status, fault.post_body if status != 202 else b'{"status":"OK"}')
        if fault.post_cut is not None:
            connection.sendall(answer[: fault.post_cut])
            self._sleep(fault.post_stall)
            RawRuntimeAPI._close_gracefully(connection)
            return False
        connection.sendall(answer)
        return True

    def _sleep(self, seconds: float) -> None:
        if seconds:
            self._stopping.wait(seconds)
