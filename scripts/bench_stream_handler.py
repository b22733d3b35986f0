"""The streaming benchmark's handler: a 64 MiB response written in 64 KiB pieces, nothing else.

``python -m lambda_runtime bench_stream_handler.handler``. The sizes come from the environment
(``BENCH_STREAM_BYTES``, ``BENCH_WRITE_BYTES``) so the bench can change them; the piece is built once,
at import, so the measured time is the runtime's streaming path, not the handler's.
"""

import os

STREAM_BYTES = int(os.environ.get("BENCH_STREAM_BYTES", 64 * 1024 * 1024))
WRITE_BYTES = int(os.environ.get("BENCH_WRITE_BYTES", 64 * 1024))
PIECE = b"x" * WRITE_BYTES
WRITES, REMAINDER = divmod(STREAM_BYTES, WRITE_BYTES)


def handler(event: bytes, stream, context) -> None:
    """Stream ``STREAM_BYTES`` bytes in ``WRITE_BYTES`` writes."""
    write = stream.write
    for _ in range(WRITES):
        write(PIECE)
    if REMAINDER:
        write(PIECE[:REMAINDER])
    stream.finish()
