"""The function's dependencies, installed by pip as wheels for the target platform and Python.

The project's own build backend turns it into a wheel first (``pip wheel --no-deps``): its metadata
is then the one authority on what it depends on, whatever backend wrote it and whatever placeholders
(hatchling's ``{root:uri}``) its ``pyproject.toml`` used. A direct reference that is not a wheel (a
path dependency such as ``lambda-runtime @ file:///.../runtime``, a ``git+https`` URL) is built into a
wheel the same way, and the requirement is pointed at that wheel. Then one ``pip install --target``
with ``--platform``, ``--python-version``, ``--implementation cp`` and ``--only-binary=:all:``
resolves everything: pure-Python packages as ``py3-none-any`` wheels, compiled ones as ``manylinux``
wheels for the target. A dependency with no such wheel stops the build.
"""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from email.parser import HeaderParser
from pathlib import Path
from urllib.parse import unquote, urlparse
from urllib.request import url2pathname

ARCHITECTURES = ("x86_64", "arm64")
# The glibc of the Lambda images: Amazon Linux 2023 for python3.12 and later, Amazon Linux 2 before.
GLIBC_OF_IMAGE = {(3, 12): 34, (3, 9): 26}
# Lambda's architecture names, and the machine names in wheel tags.
MACHINE = {"x86_64": "x86_64", "arm64": "aarch64"}

_DIRECT_REFERENCE = re.compile(
    r"^\s*(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)\s*(?P<extras>\[[^\]]*\])?\s*@\s*(?P<url>[^\s;]+)\s*(?P<marker>;.*)?$"
)
_EXTRA_MARKER = re.compile(r"\bextra\s*==")
_NO_DISTRIBUTION = re.compile(r"No matching distribution found for (\S+)")


class DependencyError(Exception):
    """A dependency cannot be had as a wheel for the target, or pip failed."""


@dataclass(frozen=True)
class Target:
    """What the zip is built for: Lambda's architecture name and a CPython ``major.minor``."""

    architecture: str = "x86_64"
    python: str = "3.13"

    def __post_init__(self) -> None:
        if self.architecture not in ARCHITECTURES:
            raise ValueError(f"unknown architecture {self.architecture!r}: use x86_64 or arm64")
        if not re.fullmatch(r"3\.\d{1,2}", self.python) or self.version < (3, 10):
            raise ValueError(f"unsupported Python {self.python!r}: use 3.10 or later, like 3.13")

    @property
    def version(self) -> tuple[int, int]:
        major, minor = self.python.split(".")
        return int(major), int(minor)

    @property
    def platforms(self) -> list[str]:
        """pip ``--platform`` tags: manylinux2014 and every ``manylinux_2_N`` the Lambda image's glibc
        runs (pip does not expand those itself)."""
        machine = MACHINE[self.architecture]
        glibc = next(
            value for since, value in sorted(GLIBC_OF_IMAGE.items(), reverse=True) if self.version >= since
        )
        tags = [f"manylinux2014_{machine}"] + [
            f"manylinux_2_{minor}_{machine}" for minor in range(glibc, 16, -1)
        ]
        if machine == "x86_64":
            tags += [f"manylinux2010_{machine}", f"manylinux1_{machine}"]
        return tags

    def describe(self) -> str:
        return f"CPython {self.python} on manylinux {self.architecture}"


def run_pip(arguments: list[str], what: str) -> subprocess.CompletedProcess[str]:
    """Run ``python -m pip`` with the interpreter running this command; raise on failure."""
    command = [sys.executable, "-m", "pip", "--disable-pip-version-check", *arguments]
    finished = subprocess.run(command, capture_output=True, text=True, check=False)
    if finished.returncode != 0:
        if "No module named pip" in finished.stderr:
            raise DependencyError(f"pip is not installed for {sys.executable}: install it to package")
        missing = _NO_DISTRIBUTION.search(finished.stderr)
        if missing:
            raise DependencyError(
                f"no wheel of {missing.group(1)} for the target: {what}; pip found no compatible built "
                "distribution (only a source distribution, or none at all): pick a version that "
                "publishes wheels for this platform, or build one and pass its directory with --find-links"
            )
        lines = [line for line in finished.stderr.splitlines() if line.strip() and "is ignored" not in line]
        detail = " / ".join(lines[-3:]) or f"exit status {finished.returncode}"
        raise DependencyError(f"pip failed while {what}: {detail}")
    return finished


def build_wheel(source: str, wheel_dir: Path, find_links: list[str]) -> Path:
    """Build ``source`` (a directory or a URL) into one wheel in a new directory under ``wheel_dir``."""
    output = wheel_dir / str(len(list(wheel_dir.iterdir())) if wheel_dir.exists() else 0)
    output.mkdir(parents=True)
    links = [argument for link in find_links for argument in ("--find-links", link)]
    run_pip(
        ["wheel", "--no-deps", "--quiet", "--wheel-dir", str(output), *links, source], f"building {source}"
    )
    wheels = sorted(output.glob("*.whl"))
    if len(wheels) != 1:
        raise DependencyError(f"building {source} gave {len(wheels)} wheels, expected one")
    return wheels[0]


def wheel_metadata(wheel: Path) -> tuple[str, list[str]]:
    """The distribution name and the ``Requires-Dist`` lines of ``wheel``."""
    with zipfile.ZipFile(wheel) as archive:
        [metadata] = [
            name
            for name in archive.namelist()
            if name.count("/") == 1 and name.endswith(".dist-info/METADATA")
        ]
        message = HeaderParser().parsestr(archive.read(metadata).decode("utf-8"))
    return message["Name"] or wheel.name, message.get_all("Requires-Dist") or []


def runtime_requirements(requirements: list[str]) -> list[str]:
    """The requirements that apply to the function itself: those of its extras (``test``, ``local``)
    are development tools, not part of what is deployed."""
    return [
        requirement for requirement in requirements if not _EXTRA_MARKER.search(requirement.partition(";")[2])
    ]


def wheel_requirements(requirements: list[str], wheel_dir: Path, find_links: list[str]) -> list[str]:
    """``requirements`` with every direct reference that is not a wheel built into one and pointed at it."""
    resolved = []
    for requirement in requirements:
        match = _DIRECT_REFERENCE.match(requirement)
        if match is None or match["url"].endswith(".whl"):
            resolved.append(requirement)
            continue
        url = match["url"]
        source = url2pathname(unquote(urlparse(url).path)) if url.startswith("file:") else url
        wheel = build_wheel(source, wheel_dir, find_links)
        resolved.append(f"{match['name']}{match['extras'] or ''} @ {wheel.as_uri()}{match['marker'] or ''}")
    return resolved


def install(requirements: list[str], target_dir: Path, target: Target, find_links: list[str]) -> None:
    """Install ``requirements`` (and what they need) into ``target_dir`` as wheels for ``target``."""
    if not requirements:
        return
    platforms = [argument for tag in target.platforms for argument in ("--platform", tag)]
    links = [argument for link in find_links for argument in ("--find-links", link)]
    run_pip(
        [
            "install",
            "--quiet",
            "--no-compile",
            "--no-warn-script-location",
            "--target",
            str(target_dir),
            *platforms,
            "--implementation",
            "cp",
            "--python-version",
            target.python,
            "--only-binary=:all:",
            *links,
            *requirements,
        ],
        f"installing the dependencies for {target.describe()}",
    )


def unpack_wheel(wheel: Path, target_dir: Path) -> None:
    """Install ``wheel``'s importable files into ``target_dir`` the way pip would, minus its
    ``.dist-info`` (the project's own metadata names local paths, which would make the zip depend on
    where it was built)."""
    with zipfile.ZipFile(wheel) as archive:
        for name in archive.namelist():
            top, _, rest = name.partition("/")
            if name.endswith("/") or top.endswith(".dist-info"):
                continue
            if top.endswith(".data"):
                scheme, _, rest = rest.partition("/")
                if scheme not in ("purelib", "platlib") or not rest:
                    continue
                relative = rest
            else:
                relative = name
            destination = target_dir / relative
            destination.parent.mkdir(parents=True, exist_ok=True)
            destination.write_bytes(archive.read(name))


def tidy_installation(target_dir: Path) -> None:
    """Remove what pip writes that the function cannot use or that records where it was built: the
    console scripts in ``bin/`` (their ``#!`` names this machine's interpreter) and ``direct_url.json``
    (the local path a wheel was installed from), with its line in ``RECORD``."""
    scripts = target_dir / "bin"
    if scripts.is_dir():
        for path in sorted(scripts.rglob("*"), reverse=True):
            path.rmdir() if path.is_dir() else path.unlink()
        scripts.rmdir()
    for direct_url in target_dir.glob("*.dist-info/direct_url.json"):
        direct_url.unlink()
        record = direct_url.with_name("RECORD")
        if record.is_file():
            lines = record.read_text(encoding="utf-8").splitlines(keepends=True)
            record.write_text(
                "".join(
                    line
                    for line in lines
                    if not line.startswith(f"{direct_url.parent.name}/direct_url.json,")
                ),
                encoding="utf-8",
            )
