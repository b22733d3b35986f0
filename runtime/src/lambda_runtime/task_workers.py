"""``LambdaManagedRuntime`` with an ``async def`` handler: one task per worker, on one event loop.

Each task has its own connection (:class:`~lambda_runtime.aio_transport.AsyncRuntimeClient`) and its own
copy of the context variables, so ``current_context`` and the log records of each invocation name that
invocation. What the loop in ``runtime.py`` does per invocation is done here with ``await`` at each
step that waits: the fetch, the handler, the post.
"""

from __future__ import annotations

import asyncio

from . import protocol
from .aio_transport import AsyncRuntimeClient
from .concurrency import InvocationBudget
from .context import FunctionInfo, LambdaContext, current_context
from .errors import ResponseSizeTooLarge
from .handlers import AdaptedHandler, codec, event_loop
from .managed import FAILURE_GRACE_SECONDS, _report_worker_failure
from .protocol import Invocation, ProtocolError
from .runtime import (
    LambdaRuntime,
    _describe_and_log,
    log_refused_again,
    log_stale,
    rejection_error,
    shortened_error_body,
)
from .stop_signals import on_stop_signal
from .streaming import ResponseStream
from .transport import ConnectionLost, RejectedResponse, RuntimeAPIError, StaleInvocation

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any


class HandlerExit(Exception):
    """The handler raised ``SystemExit``, ``KeyboardInterrupt`` or a ``CancelledError`` that no
    cancellation caused: its worker is finished."""


def serve_with_tasks(
    runtime: LambdaRuntime,
    adapted: AdaptedHandler,
    address: str,
    count: int,
    budget: InvocationBudget,
    interrupted: int,
) -> int:
    """Run the workers on a new event loop until they are done; the process's exit code."""
    # The loop async init hooks ran on (the lifecycle extra): what they opened is bound to it.
    loop = event_loop()
    server = _TaskServer(runtime, adapted, address, count, budget)

    def stop_soon(number: int) -> None:
        loop.call_soon_threadsafe(server.stop)

    restore_signals = on_stop_signal(stop_soon, runtime._lifecycle is not None)
    try:
        code: int = loop.run_until_complete(server.serve())
        return code
    except KeyboardInterrupt:
        server.stop()
        server.cancel()
        loop.run_until_complete(asyncio.wait(server.tasks, timeout=FAILURE_GRACE_SECONDS))
        return interrupted
    finally:
        restore_signals()  # the loop stays open: async shutdown hooks run on it next


class _TaskServer:
    def __init__(
        self,
        runtime: LambdaRuntime,
        adapted: AdaptedHandler,
        address: str,
        count: int,
        budget: InvocationBudget,
    ) -> None:
        self._runtime = runtime
        self._adapted = adapted
        self._address = address
        self._count = count
        self._budget = budget
        self._function = FunctionInfo()
        self._waiting: set[asyncio.Task[None]] = set()
        self._cancelled = False
        self.tasks: list[asyncio.Task[None]] = []
        assert adapted.coroutine_function is not None
        self._call: Callable[..., Any] = adapted.coroutine_function
        self._codec = None if adapted.streaming else codec(adapted)

    def stop(self) -> None:
        """Stop fetching: the tasks waiting in /next are cancelled, the others finish their invocation."""
        self._budget.stop()
        for task in list(self._waiting):
            task.cancel()

    def cancel(self) -> None:
        """Cancel every task, whatever it is doing (Ctrl-C, or the grace after a failure is over)."""
        self._cancelled = True
        for task in self.tasks:
            task.cancel()

    async def serve(self) -> int:
        self.tasks = [asyncio.create_task(self._work()) for _ in range(self._count)]
        index_of = {task: index for index, task in enumerate(self.tasks)}
        pending: set[asyncio.Task[None]] = set(self.tasks)
        code = 0
        deadline: float | None = None
        loop = asyncio.get_running_loop()
        while pending:
            timeout = None if deadline is None else max(deadline - loop.time(), 0.0)
            done, pending = await asyncio.wait(pending, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
            if not done:  # the grace after a failure is over
                self.cancel()
                break
            for task in done:
                if task.cancelled():
                    continue
                error = task.exception()
                if error is None or (self._budget.stopping and isinstance(error, ConnectionLost)):
                    continue
                if code == 0:
                    code = 1
                    _report_worker_failure(index_of[task], self._count, error)
                    deadline = loop.time() + FAILURE_GRACE_SECONDS
                self.stop()
        return code

    async def _work(self) -> None:
        client = AsyncRuntimeClient(self._address)
        task = asyncio.current_task()
        assert task is not None
        budget = self._budget
        function = self._function
        from_invocation = LambdaContext.from_invocation
        try:
            while budget.claim():
                self._waiting.add(task)
                try:
                    invocation = await client.next()
                except asyncio.CancelledError:
                    if budget.stopping:
                        return
                    raise
                finally:
                    self._waiting.discard(task)
                context = from_invocation(invocation, function)
                current_context.set(context)
                try:
                    if self._codec is None:
                        await self._invoke_streaming(client, invocation, context)
                    else:
                        await self._invoke_buffered(client, invocation, context)
                except (SystemExit, KeyboardInterrupt) as error:
                    # asyncio would let these escape the event loop and end the process unreported.
                    raise HandlerExit(f"the handler raised {type(error).__name__}: {error}") from error
                except asyncio.CancelledError as error:
                    if self._cancelled:
                        raise
                    # The handler raised it, nothing cancelled this task: asyncio would end the task as
                    # cancelled, which reads as a worker stopped on purpose, and the runtime would go on
                    # a worker short.
                    raise HandlerExit(f"the handler raised CancelledError: {error}") from error
                current_context.set(None)
        finally:
            client.close()

    async def _invoke_buffered(
        self, client: AsyncRuntimeClient, invocation: Invocation, context: LambdaContext
    ) -> None:
        assert self._codec is not None
        decode, encode = self._codec
        try:
            body = encode(await self._call(decode(invocation.event), context))
            if len(body) > protocol.MAX_BUFFERED_RESPONSE_BYTES:
                raise ResponseSizeTooLarge(
                    f"Response payload size ({len(body)} bytes) exceeded maximum allowed payload size "
                    f"({protocol.MAX_BUFFERED_RESPONSE_BYTES} bytes)."
                )
        except BaseException as error:
            await _report_error(client, invocation, error)
            if not isinstance(error, Exception):
                raise
            return
        try:
            await client.post_response(invocation, body)
        except StaleInvocation:
            log_stale(invocation, "response")
        except RejectedResponse as rejection:
            await _report_rejection(client, invocation, rejection)

    async def _invoke_streaming(
        self, client: AsyncRuntimeClient, invocation: Invocation, context: LambdaContext
    ) -> None:
        await client.connect()  # the stream's writes are synchronous: the connection must be there
        stream = ResponseStream(client, invocation, self._runtime._max_stream_bytes)
        failure: BaseException | None = None
        ended_with_error = False
        try:
            await self._call(invocation.event, stream, context)
            stream.finish()
        except (RuntimeAPIError, ProtocolError):
            raise
        except BaseException as error:
            failure = error
            if stream.finished:
                _describe_and_log(error, " (raised after the response stream was finished)")
            elif stream.started:
                error_type, message, stack = _describe_and_log(error)
                body = protocol.error_body(
                    error_type, message, stack, invocation.request_id, protocol.MAX_TRAILER_ERROR_BODY_BYTES
                )
                stream.fail(error_type, body)
                ended_with_error = True
            else:
                await _report_error(client, invocation, error)
        # The blocking loop learns the Runtime API's answer inside finish() or fail(); here it comes now.
        try:
            await client.stream_answer()
        except StaleInvocation:
            log_stale(invocation, "failed stream" if ended_with_error else "stream")
        except RejectedResponse as rejection:
            # A refused stream was not taken, whether it ended well or with error trailers: the
            # invocation still needs an answer.
            await _report_rejection(client, invocation, rejection)
        if failure is not None and not isinstance(failure, Exception):
            raise failure


async def _report_error(client: AsyncRuntimeClient, invocation: Invocation, error: BaseException) -> None:
    """Log the handler's error and post it to ``/error`` (as ``LambdaRuntime._report_error``)."""
    error_type, message, stack = _describe_and_log(error)
    body = protocol.error_body(error_type, message, stack, invocation.request_id)
    await _post_error(client, invocation, error_type, body, message)


async def _post_error(
    client: AsyncRuntimeClient, invocation: Invocation, error_type: str, body: bytes, message: str
) -> None:
    """Post an error; refused as too large, once more, shortened (as ``LambdaRuntime._post_error``)."""
    try:
        await client.post_error(invocation, error_type, body)
    except StaleInvocation:
        log_stale(invocation, "error report")
    except RejectedResponse as refusal:
        shortened = shortened_error_body(invocation, error_type, message, refusal)
        if shortened is None:
            return
        try:
            await client.post_error(invocation, error_type, shortened)
        except (StaleInvocation, RejectedResponse) as again:
            log_refused_again(again)


async def _report_rejection(
    client: AsyncRuntimeClient, invocation: Invocation, rejection: RejectedResponse
) -> None:
    """A refused response still owes Lambda an answer (as ``LambdaRuntime._report_rejection``)."""
    error_type, message, body = rejection_error(invocation, rejection)
    await _post_error(client, invocation, error_type, body, message)
