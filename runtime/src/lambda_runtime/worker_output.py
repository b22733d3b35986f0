"""Worker processes' output, relayed to the runtime's stdout and stderr one whole line at a time.

Several processes writing to one pipe interleave: a write longer than ``PIPE_BUF`` (4 KiB) may be split
by the kernel, and a ``print`` is often two writes. So each worker writes to a pipe of its own, and the
supervisor, the only writer of the real stdout and stderr, copies complete lines only. A line longer
than :data:`MAX_LINE_BYTES` is cut there (CloudWatch caps an event at 256 KB anyway) rather than held in
memory without bound; a worker that ends without a final line break gets one.
"""

from __future__ import annotations

import os

MAX_LINE_BYTES = 1024 * 1024
_READ_SIZE = 256 * 1024


def write_all(fd: int, data: bytes | bytearray | memoryview) -> None:
    """Write every byte of ``data`` to ``fd`` (a pipe may take it in several writes)."""
    view = memoryview(data)
    while view:
        try:
            written = os.write(fd, view)
        except InterruptedError:  # pragma: no cover - PEP 475 retries, kept for exotic platforms
            continue
        view = view[written:]


class LineRelay:
    """Copies what arrives on one worker pipe to ``target_fd``, whole lines only."""

    __slots__ = ("_buffer", "source_fd", "target_fd")

    def __init__(self, source_fd: int, target_fd: int) -> None:
        self.source_fd = source_fd
        self.target_fd = target_fd
        self._buffer = bytearray()

    def pump(self) -> bool:
        """Read what is available and write out the complete lines; False at end of file."""
        data = os.read(self.source_fd, _READ_SIZE)
        buffer = self._buffer
        if not data:
            if buffer:
                buffer += b"\n"
                write_all(self.target_fd, buffer)
                buffer.clear()
            return False
        buffer += data
        end = buffer.rfind(b"\n")
        if end >= 0:
            write_all(self.target_fd, buffer[: end + 1])
            del buffer[: end + 1]
        while len(buffer) >= MAX_LINE_BYTES:
            write_all(self.target_fd, buffer[:MAX_LINE_BYTES] + b"\n")
            del buffer[:MAX_LINE_BYTES]
        return True
