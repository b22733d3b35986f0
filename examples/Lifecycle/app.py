"""Lifecycle: a resource opened once at init, used by every invocation, closed by a shutdown hook.

The function counts visits per name in a SQLite database. The connection is opened once, during init
(``open_database``), and reused by every invocation. Writes are committed in batches (every
``COMMIT_EVERY`` visits) rather than one by one; the shutdown hook (``close_database``) commits what is
left and closes the connection when Lambda shuts the execution environment down. Lambda sends the
runtime SIGTERM for that only when an extension is registered: template.yaml sets
``LAMBDA_SHUTDOWN_EXTENSION=1`` so that lambda-runtime registers an internal one.

Like ``/tmp`` on Lambda, the database lives as long as the execution environment: each new environment
(and each local start) begins with an empty one.

Lambda runs it as ``app.handler``; ``python app.py`` runs the same handler in the runtime loop.
"""

import os
import sqlite3
from pathlib import Path

from lambda_runtime import LambdaContext, LambdaRuntime
from lambda_runtime.lifecycle import on_init, on_shutdown

DATABASE_PATH = Path(os.environ.get("COUNTER_DB", "/tmp/visits.db"))
# Visits not yet committed are lost if the environment disappears without a SIGTERM (a crash, a kill);
# a graceful shutdown commits them.
COMMIT_EVERY = 10

database: sqlite3.Connection | None = None
uncommitted = 0


class InvalidEventError(ValueError):
    """The event is not a JSON object with a non-blank string ``name``."""


@on_init
def open_database() -> None:
    """Open the database once per execution environment, starting from an empty one."""
    global database
    DATABASE_PATH.unlink(missing_ok=True)
    database = sqlite3.connect(DATABASE_PATH)
    database.execute("CREATE TABLE visits (name TEXT PRIMARY KEY, count INTEGER NOT NULL)")
    database.commit()


@on_shutdown
def close_database() -> None:
    """Commit the visits counted since the last batch, then close the connection."""
    global database, uncommitted
    if database is None:
        return
    database.commit()
    database.close()
    database = None
    uncommitted = 0


def handler(event: object, context: LambdaContext) -> dict[str, object]:
    """Count a visit for the event's name and answer how many this environment has seen.

    Args:
        event: ``{"name": "Ada"}``.
        context: The invocation's context (unused).

    Returns:
        ``{"name": "Ada", "visits": 3}``.

    Raises:
        InvalidEventError: The event has no usable name.
        RuntimeError: The database is not open (init did not run).
    """
    global uncommitted
    name = _name_from(event)
    if database is None:
        raise RuntimeError("the database is not open: open_database() runs during init")
    database.execute(
        "INSERT INTO visits (name, count) VALUES (?, 1) ON CONFLICT (name) DO UPDATE SET count = count + 1",
        (name,),
    )
    (count,) = database.execute("SELECT count FROM visits WHERE name = ?", (name,)).fetchone()
    uncommitted += 1
    if uncommitted >= COMMIT_EVERY:
        database.commit()
        uncommitted = 0
    return {"name": name, "visits": count}


def _name_from(event: object) -> str:
    if not isinstance(event, dict) or not isinstance(event.get("name"), str) or not event["name"].strip():
        raise InvalidEventError('expected a JSON object with a non-blank "name", like {"name": "Ada"}')
    return event["name"].strip()


if __name__ == "__main__":
    LambdaRuntime(handler).run()
