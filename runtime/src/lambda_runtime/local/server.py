"""``LocalServer``: the Runtime API and the invocation endpoint on one asyncio HTTP/1.1 server.

It runs on the caller's event loop (``async with LocalServer() as server``) or on a thread of its own
(``with LocalServer() as server``), which is how ``LambdaRuntime.run()`` uses it outside Lambda.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading

import h11

from .. import protocol
from ..logs import runtime_logger
from .config import LocalConfig
from .connection import HTTPConnection, PeerGone
from .invocations import Dispatcher
from .invoke import handle_invoke
from .runtime_api import RuntimeAPI

TYPE_CHECKING = False
if TYPE_CHECKING:
    import logging
    from types import TracebackType
    from typing import Any

_RUNTIME_API_PREFIX = f"/{protocol.API_VERSION}/"


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an address or ``localhost``) is reachable from this machine only."""
    import ipaddress

    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a name: it may resolve to any interface


class LocalServer:
    """A local stand-in for Lambda: the Runtime API for a runtime, ``POST /invoke`` for clients.

    Clients' events queue in FIFO order and reach the function ``config.max_concurrency`` at a time;
    each client gets its own invocation's answer, buffered or streamed as the function sent it.

    * On an event loop: ``await server.start_async()`` ... ``await server.stop_async()``, or
      ``async with LocalServer(config) as server``, or ``await server.serve_forever()``.
    * On its own thread: ``server.start()`` ... ``server.stop()``, or ``with LocalServer() as server``.

    :attr:`address` (``host:port``) is what a runtime takes as ``AWS_LAMBDA_RUNTIME_API``; :attr:`url`
    is where clients post events. Stopping fails every waiting client with a 503 and takes at most
    about ``grace`` seconds plus one.
    """

    def __init__(self, config: LocalConfig | None = None, *, grace: float = 1.0) -> None:
        self.config = config if config is not None else LocalConfig.from_environment()
        self._grace = grace
        self._log: logging.Logger = runtime_logger().getChild("local")
        self._dispatcher: Dispatcher | None = None
        self._server: asyncio.Server | None = None
        self._connections: dict[asyncio.Task[Any], HTTPConnection] = {}
        self._closing = False
        self._stopped: asyncio.Event | None = None
        self._host = self.config.host
        self._port = self.config.port
        # Threaded use.
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_requested: asyncio.Event | None = None
        self._startup_error: BaseException | None = None

    # -- where it is ---------------------------------------------------------------------------------

    @property
    def address(self) -> str:
        """``host:port`` to connect to (what ``AWS_LAMBDA_RUNTIME_API`` takes); the real port once
        started, also when the configuration asked for port 0."""
        host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(self._host, self._host)
        return f"[{host}]:{self._port}" if ":" in host else f"{host}:{self._port}"

    @property
    def url(self) -> str:
        """The URL clients ``POST`` events to."""
        return f"http://{self.address}{self.config.invocation_endpoint}"

    @property
    def queued(self) -> int:
        """How many invocations are waiting for the function."""
        return self._dispatcher.queued if self._dispatcher is not None else 0

    @property
    def running(self) -> int:
        """How many invocations the function has and has not answered yet."""
        return self._dispatcher.running if self._dispatcher is not None else 0

    # -- on an event loop ----------------------------------------------------------------------------

    async def start_async(self) -> None:
        """Listen, on the running event loop; logs one line with the address once ready."""
        if self._server is not None:
            raise RuntimeError("this LocalServer is already started")
        self._dispatcher = Dispatcher(self.config, self._log)
        self._runtime_api = RuntimeAPI(self._dispatcher, self.config, self._log)
        self._stopped = asyncio.Event()
        self._server = await asyncio.start_server(
            self._on_connection, self.config.host, self.config.port, backlog=256
        )
        sockname = self._server.sockets[0].getsockname()
        self._port = int(sockname[1])
        self._log.info(
            "Local Lambda server listening on %s: invoke with POST %s (Runtime API at %s)",
            self.address,
            self.url,
            self.address,
        )
        if not is_loopback(self.config.host):
            self._log.warning(
                "The local server listens on %s, beyond this machine: anyone who can reach it can invoke "
                "the function, without authentication (LOCAL_LAMBDA_HOST=127.0.0.1 keeps it local)",
                self.config.host,
            )

    async def stop_async(self) -> None:
        """Stop: fail waiting clients and ``/next`` callers, close every connection. Bounded in time."""
        server, dispatcher = self._server, self._dispatcher
        if server is None or dispatcher is None or self._closing:
            return
        self._closing = True
        server.close()
        dispatcher.close()
        # Connections waiting for a request have nothing to finish; the others get a moment to send the
        # errors the dispatcher just gave them.
        for task, conn in list(self._connections.items()):
            if conn.idle:
                task.cancel()
        if self._connections:
            await asyncio.wait(set(self._connections), timeout=self._grace)
        for task in self._connections:
            task.cancel()
        if self._connections:
            await asyncio.wait(set(self._connections), timeout=1.0)
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(server.wait_closed(), 1.0)
        self._log.info("Local Lambda server stopped")
        assert self._stopped is not None
        self._stopped.set()

    async def serve_forever(self) -> None:
        """Start if needed and serve until :meth:`stop_async` (or until cancelled, e.g. by Ctrl-C)."""
        if self._server is None:
            await self.start_async()
        assert self._stopped is not None
        try:
            await self._stopped.wait()
        finally:
            await self.stop_async()

    async def __aenter__(self) -> LocalServer:
        await self.start_async()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        await self.stop_async()

    # -- on a thread of its own ----------------------------------------------------------------------

    def start(self, timeout: float = 10.0) -> None:
        """Start serving on a new thread; returns once listening (raises ``OSError`` if it cannot)."""
        if self._thread is not None:
            raise RuntimeError("this LocalServer is already started")
        ready = threading.Event()
        self._thread = threading.Thread(
            target=self._thread_main, args=(ready,), name="lambda-local-server", daemon=True
        )
        self._thread.start()
        if not ready.wait(timeout):
            raise TimeoutError(f"the local server did not start within {timeout} s")
        if self._startup_error is not None:
            self._thread.join(timeout)
            raise self._startup_error

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the server started by :meth:`start` and wait (up to ``timeout`` s) for its thread."""
        thread, loop, requested = self._thread, self._loop, self._stop_requested
        if thread is None or loop is None or requested is None:
            return
        with contextlib.suppress(RuntimeError):  # the loop is already closed
            loop.call_soon_threadsafe(requested.set)
        thread.join(timeout)

    def __enter__(self) -> LocalServer:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()

    def _thread_main(self, ready: threading.Event) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._serve_on_thread(ready))
        finally:
            try:
                loop.run_until_complete(loop.shutdown_asyncgens())
            finally:
                loop.close()

    async def _serve_on_thread(self, ready: threading.Event) -> None:
        self._stop_requested = asyncio.Event()
        try:
            await self.start_async()
        except BaseException as error:
            self._startup_error = error
            ready.set()
            return
        ready.set()
        try:
            await self._stop_requested.wait()
        finally:
            await self.stop_async()

    # -- connections ---------------------------------------------------------------------------------

    async def _on_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        conn = HTTPConnection(reader, writer)
        self._connections[task] = conn
        try:
            await self._serve_connection(conn)
        except (PeerGone, ConnectionError, OSError):
            pass
        except asyncio.CancelledError:
            pass  # the server is stopping
        except Exception:
            self._log.exception("The local server failed to serve a request")
            with contextlib.suppress(Exception):
                await conn.refuse(500, "LocalServerError", "the local server failed on this request", False)
        finally:
            if conn.peer_gone or not conn.writable:
                conn.abort()
            else:
                await conn.close()
            del self._connections[task]

    async def _serve_connection(self, conn: HTTPConnection) -> None:
        while not self._closing:
            conn.idle = True
            try:
                request = await conn.next_request()
            except h11.RemoteProtocolError as error:
                self._log.warning("Refused a malformed HTTP request: %s", error)
                await conn.refuse(
                    error.error_status_hint, "BadRequest", f"malformed HTTP request: {error}", False
                )
                return
            conn.idle = False
            if request is None:
                return
            try:
                await self._route(conn, request)
            except h11.RemoteProtocolError as error:
                self._log.warning("Refused a malformed HTTP request body: %s", error)
                await conn.refuse(400, "BadRequest", f"malformed HTTP request: {error}", False)
                return
            if not conn.next_cycle():
                return

    async def _route(self, conn: HTTPConnection, request: h11.Request) -> None:
        method = request.method.decode("ascii", "replace")
        path = request.target.decode("latin-1").partition("?")[0]
        if path == self.config.invocation_endpoint:
            if method != "POST":
                await conn.reject(405, "MethodNotAllowed", f"use POST {path} to invoke", [("Allow", "POST")])
                return
            assert self._dispatcher is not None
            await handle_invoke(conn, request, self._dispatcher, self._log)
        elif path.startswith(_RUNTIME_API_PREFIX):
            await self._runtime_api.handle(conn, request, method, path)
        else:
            await conn.reject(
                404,
                "NotFound",
                f"nothing at {path[:200]}: invoke with POST {self.config.invocation_endpoint}",
            )
