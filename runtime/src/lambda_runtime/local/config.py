"""The local server's settings, read from the environment variables the original uses."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7000
DEFAULT_INVOCATION_ENDPOINT = "/invoke"
DEFAULT_TIMEOUT = 900.0
DEFAULT_FUNCTION_NAME = "local-function"


@dataclass(frozen=True)
class LocalConfig:
    """Where the local server listens and how it treats invocations.

    * ``host``, ``port``: ``LOCAL_LAMBDA_HOST`` (127.0.0.1) and ``LOCAL_LAMBDA_PORT`` (7000; 0 picks a
      free port).
    * ``invocation_endpoint``: the path clients ``POST`` events to, ``LOCAL_LAMBDA_INVOCATION_ENDPOINT``
      (``/invoke``).
    * ``timeout``: seconds an invocation may run once the function has it, ``LOCAL_LAMBDA_TIMEOUT``
      (900, Lambda's maximum); it becomes the ``Lambda-Runtime-Deadline-Ms`` the function sees.
    * ``max_concurrency``: how many invocations the function may have at once,
      ``AWS_LAMBDA_MAX_CONCURRENCY`` (1, as on classic Lambda).
    * ``function_name`` and ``region`` make up the local function ARN (``AWS_LAMBDA_FUNCTION_NAME``,
      ``AWS_REGION``).
    """

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    invocation_endpoint: str = DEFAULT_INVOCATION_ENDPOINT
    timeout: float = DEFAULT_TIMEOUT
    max_concurrency: int = 1
    function_name: str = DEFAULT_FUNCTION_NAME
    region: str = "us-east-1"

    def __post_init__(self) -> None:
        if not self.host:
            raise ValueError("LOCAL_LAMBDA_HOST must not be empty")
        if not 0 <= self.port <= 65535:
            raise ValueError(f"LOCAL_LAMBDA_PORT must be a port number (0 to 65535), got {self.port}")
        endpoint = self.invocation_endpoint
        if not endpoint.startswith("/") or any(c in endpoint for c in " ?#\t\r\n"):
            raise ValueError(
                f"LOCAL_LAMBDA_INVOCATION_ENDPOINT must be a path like /invoke, got {endpoint!r}"
            )
        if endpoint.startswith("/2018-06-01/"):
            raise ValueError("LOCAL_LAMBDA_INVOCATION_ENDPOINT must not be inside the Runtime API's paths")
        if not self.timeout > 0:
            raise ValueError(f"LOCAL_LAMBDA_TIMEOUT must be a positive number of seconds, got {self.timeout}")
        if self.max_concurrency < 1:
            raise ValueError(
                f"AWS_LAMBDA_MAX_CONCURRENCY must be a positive integer, got {self.max_concurrency}"
            )

    @classmethod
    def from_environment(
        cls,
        environ: Mapping[str, str] | None = None,
        *,
        host: str | None = None,
        port: int | None = None,
        invocation_endpoint: str | None = None,
        timeout: float | None = None,
        max_concurrency: int | None = None,
    ) -> LocalConfig:
        """The settings the environment asks for; the keyword arguments that are not ``None`` win.

        Raises ``ValueError`` naming the variable that has an unusable value.
        """
        env = os.environ if environ is None else environ
        fields: dict[str, Any] = {}
        if env.get("LOCAL_LAMBDA_HOST", "").strip():
            fields["host"] = env["LOCAL_LAMBDA_HOST"].strip()
        if env.get("LOCAL_LAMBDA_PORT", "").strip():
            fields["port"] = _integer(env, "LOCAL_LAMBDA_PORT")
        if env.get("LOCAL_LAMBDA_INVOCATION_ENDPOINT", "").strip():
            fields["invocation_endpoint"] = env["LOCAL_LAMBDA_INVOCATION_ENDPOINT"].strip()
        if env.get("LOCAL_LAMBDA_TIMEOUT", "").strip():
            text = env["LOCAL_LAMBDA_TIMEOUT"].strip()
            try:
                fields["timeout"] = float(text)
            except ValueError:
                raise ValueError(f"LOCAL_LAMBDA_TIMEOUT must be a number of seconds, got {text!r}") from None
        if env.get("AWS_LAMBDA_MAX_CONCURRENCY", "").strip():
            fields["max_concurrency"] = _integer(env, "AWS_LAMBDA_MAX_CONCURRENCY")
        if env.get("AWS_LAMBDA_FUNCTION_NAME", "").strip():
            fields["function_name"] = env["AWS_LAMBDA_FUNCTION_NAME"].strip()
        region = env.get("AWS_REGION", "").strip() or env.get("AWS_DEFAULT_REGION", "").strip()
        if region:
            fields["region"] = region
        overrides = {
            "host": host,
            "port": port,
            "invocation_endpoint": invocation_endpoint,
            "timeout": timeout,
            "max_concurrency": max_concurrency,
        }
        fields.update({name: value for name, value in overrides.items() if value is not None})
        return cls(**fields)

    @property
    def function_arn(self) -> str:
        """The made-up ARN the function sees as ``invoked_function_arn``."""
        return f"arn:aws:lambda:{self.region}:000000000000:function:{self.function_name}"


def _integer(env: Mapping[str, str], name: str) -> int:
    text = env[name].strip()
    if not text.isdigit():
        raise ValueError(f"{name} must be a non-negative integer, got {text!r}")
    return int(text)
