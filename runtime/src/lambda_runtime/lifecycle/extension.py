"""An internal extension whose only job is to make Lambda send the runtime SIGTERM at shutdown.

Lambda sends SIGTERM to the runtime before it shuts an execution environment down only when at least one
extension is registered; otherwise the process is simply killed, and shutdown hooks never run. This
module registers an internal extension through the Extensions API, for no event at all (internal
extensions may not register for SHUTDOWN), during init, that is before the runtime's first ``/next``.
A daemon thread then waits on ``/extension/event/next``, as every extension must to let init complete;
with no event registered, that request never returns, so the thread costs nothing after init.

It speaks over its own connection: the runtime's hot-path socket is never shared. The messages are built
and read by :mod:`lambda_runtime.protocol`.
"""

from __future__ import annotations

import threading

from ..protocol import ProtocolError
from ..protocol import extensions as extension_protocol
from ..transport import RuntimeAPIError, RuntimeClient

# Internal extension names must be unique within a function; the leading underscore keeps this one clear
# of the names of extensions shipped in layers (which are file names).
EXTENSION_NAME = "_lambda-runtime-python-graceful-shutdown"
ENABLE_VARIABLE = "LAMBDA_SHUTDOWN_EXTENSION"
_TRUE = ("1", "true", "yes", "on")


def enabled_in_environment(value: str | None) -> bool:
    """Whether ``LAMBDA_SHUTDOWN_EXTENSION``'s value asks for the extension (1, true, yes, on)."""
    return (value or "").strip().lower() in _TRUE


class ExtensionRegistrationError(Exception):
    """The Extensions API refused the registration, or could not be reached."""


class ShutdownExtension:
    """The registered extension: its identifier, and the thread that keeps its ``/event/next`` open."""

    def __init__(self, address: str, name: str = EXTENSION_NAME) -> None:
        self.address = address
        self.name = name
        self.identifier: str | None = None
        self.events_received = 0
        self._client = RuntimeClient(address)
        self._thread: threading.Thread | None = None

    def register(self) -> str:
        """Register with the Extensions API (blocking, during init); returns the extension identifier."""
        request = extension_protocol.extension_register_request(self.address, self.name, events=())
        try:
            response = self._client._exchange(request)
            self.identifier = extension_protocol.extension_identifier(
                response.status, response.headers, response.body
            )
        except (RuntimeAPIError, ProtocolError) as error:
            self._client.close()
            raise ExtensionRegistrationError(
                f"could not register the internal extension {self.name!r}: {error}"
            ) from None
        return self.identifier

    def start(self) -> None:
        """Wait for events on a daemon thread; Lambda ends the init phase once every extension waits."""
        if self.identifier is None:
            raise RuntimeError("register() the extension before start()")
        self._thread = threading.Thread(target=self._wait_for_events, name=self.name, daemon=True)
        self._thread.start()

    def _wait_for_events(self) -> None:
        assert self.identifier is not None
        request = extension_protocol.extension_next_request(self.address, self.identifier)
        while True:
            try:
                response = self._client._exchange(request)
                if response.status != 200:
                    return  # 403 or 500: the environment is going away; the runtime learns it its own way
                extension_protocol.extension_event_type(response.body)
            except (RuntimeAPIError, ProtocolError, OSError):
                return
            self.events_received += 1

    def close(self) -> None:
        self._client.close()


def register_shutdown_extension(address: str) -> ShutdownExtension:
    """Register the internal extension at ``address`` (``host:port``) and start waiting for its events."""
    extension = ShutdownExtension(address)
    extension.register()
    extension.start()
    return extension
