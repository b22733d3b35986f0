"""A deterministic zip: the same files give the same bytes, whenever and wherever it is built.

Entries are sorted by path, every timestamp is 1980-01-01 00:00 (the earliest a zip can hold), and
permissions are reduced to two: 0755 for executables, 0644 for the rest, whatever the umask was.
"""

from __future__ import annotations

import os
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path

FIXED_TIMESTAMP = (1980, 1, 1, 0, 0, 0)
COMPRESSION_LEVEL = 9


@dataclass(frozen=True)
class Entry:
    """One file of the archive: its path inside the zip (``/``-separated), its bytes and its mode."""

    name: str
    data: bytes
    mode: int = 0o644


def entries_of(directory: Path) -> list[Entry]:
    """Every file under ``directory`` as an :class:`Entry`, with modes normalised to 0755 or 0644.

    Symbolic links are followed (the zip holds their target's bytes); bytecode caches are left out.
    """
    entries = []
    for root, directories, files in os.walk(directory):
        directories[:] = [name for name in directories if name != "__pycache__"]
        for name in files:
            if name.endswith((".pyc", ".pyo")):
                continue
            path = Path(root, name)
            executable = path.stat().st_mode & (stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
            entries.append(
                Entry(
                    path.relative_to(directory).as_posix(), path.read_bytes(), 0o755 if executable else 0o644
                )
            )
    return entries


def write_zip(entries: list[Entry], output: Path) -> None:
    """Write ``entries`` to ``output`` (replaced atomically), sorted, with fixed timestamps."""
    names = [entry.name for entry in entries]
    if len(set(names)) != len(names):
        duplicates = sorted({name for name in names if names.count(name) > 1})
        raise ValueError(f"two files would have the same path in the zip: {', '.join(duplicates)}")
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(output.name + ".partial")
    with zipfile.ZipFile(partial, "w") as archive:
        for entry in sorted(entries, key=lambda entry: entry.name):
            info = zipfile.ZipInfo(entry.name, date_time=FIXED_TIMESTAMP)
            info.create_system = 3  # Unix, so that the permission bits below are honoured
            info.external_attr = (stat.S_IFREG | entry.mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(
                info, entry.data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=COMPRESSION_LEVEL
            )
    os.replace(partial, output)
