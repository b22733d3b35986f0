"""One variable of the C environment rewritten in place, for a value that changes at every invocation.

``os.putenv`` calls glibc's ``setenv()``, which copies ``NAME=VALUE`` into memory it never frees (a
reader may still hold the old string): about 150 bytes for each distinct value. The X-Ray trace id
(``_X_AMZN_TRACE_ID``) is a new value at every invocation, so a long-lived execution environment would
grow by that much per invocation, without end: 140 MiB after a million. POSIX ``putenv()`` instead puts
the caller's own string in the environment, uncopied; so one buffer, put there and rewritten in place,
costs nothing more however many values it takes.

Reached through ``_ctypes`` (the C half of ``ctypes``: ``ctypes`` itself costs milliseconds to import)
and loaded only once a function has served a few invocations (see ``runtime.trace_id_exporter``). Linux
only; elsewhere, or if the interpreter lacks what this needs, ``in_place_setter`` gives ``None`` and the
caller keeps ``os.putenv``.
"""

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

# NAME=VALUE and its terminating NUL must fit; a longer value goes through os.putenv (copied, but rare).
CAPACITY = 4096

# The buffers the C environment points into: they must outlive every reader, so they are never freed.
_KEPT: list[object] = []


def in_place_setter(
    name: bytes, mapping: "dict[bytes, bytes]", capacity: int = CAPACITY
) -> "Callable[[bytes], None] | None":
    """What sets ``name`` to a value (bytes, no NUL) in the C environment and in ``mapping`` (the bytes
    ``os.environ`` keeps), the C side by rewriting one buffer of ``capacity`` bytes in place; ``None``
    where that cannot be done here."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import _ctypes

        core: Any = _ctypes  # its internals (the stubs know only part of them) are used as ctypes uses them
        char = type("Char", (core._SimpleCData,), {"_type_": "c"})  # ctypes.c_char
        buffer_type = type("Buffer", (core.Array,), {"_type_": char, "_length_": capacity})  # c_char * n
        libc = core.dlopen(None, os.RTLD_NOW)  # the process's own symbols: libc's among them
        putenv = core.dlsym(libc, "putenv")
        call = core.call_function
    except (ImportError, AttributeError, OSError):
        return None
    buffer = buffer_type()
    _KEPT.append(buffer)
    prefix = name + b"="
    room = capacity - len(prefix)  # the value, and the NUL after it
    arguments = (buffer,)
    written: list[bytes | None] = [None]  # the value last put in the buffer, as the mapping holds it

    def set_value(value: bytes) -> None:
        if len(value) >= room:
            os.putenv(name, value)  # copied by setenv(); the next short value puts the buffer back
            written[0] = None
        else:
            buffer.value = prefix + value
            # The buffer is in the environment unless something changed the variable since it was last
            # written (os.environ[name] = ... from the function's code: setenv() puts a copy in its
            # place; del os.environ[name]), which os.environ's mapping tells.
            if written[0] is None or mapping.get(name) is not written[0]:
                call(putenv, arguments)
            written[0] = value
        mapping[name] = value

    return set_value
