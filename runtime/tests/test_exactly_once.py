"""Exactly once: thousands of invocations, handlers failing at random and the Runtime API refusing,
timing out or dropping connections at random, and still every request id is answered, settled by at
most one post (counted at the server: one the server took, 202, or declared too late for, 410), and
nothing is posted for it after that."""

from __future__ import annotations

import json
import random

import pytest

from conftest import run_on_thread
from faulty_api import FAULTS, NO_FAULT, Fault, FaultyRuntimeAPI, Planned
from lambda_runtime import LambdaManagedRuntime

TYPE_CHECKING = False
if TYPE_CHECKING:
    from conftest import RunRuntime

INVOCATIONS = 5000

# The faults the runtime gets over, and how often each comes up.
MIX: list[tuple[float, Fault]] = [
    (0.04, FAULTS["post-413"]),
    (0.03, FAULTS["post-400"]),
    (0.02, FAULTS["post-410"]),
    # Several workers: a fresh connection's drop would be fatal by design (see docs/faults.md), and
    # another worker's retry may be the one to meet the next planned drop; Lambda closes idle ones.
    (0.02, FAULTS["next-idle-connection-dropped"]),
    (0.02, FAULTS["next-chunked"]),
]


def plan(seed: int) -> list[Planned]:
    rng = random.Random(seed)
    planned = []
    for index in range(INVOCATIONS):
        draw, fault = rng.random(), NO_FAULT
        for share, candidate in MIX:
            if draw < share:
                fault = candidate
                break
            draw -= share
        event = json.dumps({"n": index, "fail": rng.random() < 0.2}).encode()
        planned.append(Planned(f"r{index}", event, fault))
    return planned


def handler(event: dict[str, object], context: object) -> object:
    if event["fail"]:
        raise RuntimeError(f"invocation {event['n']} fails on purpose")
    return event["n"]


def run_managed(address: str) -> int | None:
    """8 workers in this process: threads, each with its own connection (a process per worker would
    re-run pytest)."""
    return run_on_thread(LambdaManagedRuntime(handler, runtime_api=address).run)


@pytest.mark.parametrize("workers", [1, 8])
def test_every_invocation_is_settled_exactly_once(
    workers: int, run: RunRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_LAMBDA_MAX_CONCURRENCY", str(workers))
    planned = plan(seed=8)
    with FaultyRuntimeAPI(planned, next_timeout=0.3) as api:
        # Once the queue is empty, /next gets a 500: the runtime stops there, with exit 1.
        code = run(handler, api.address) if workers == 1 else run_managed(api.address)
        assert code == 1
    assert sorted(api.handed_out) == sorted(p.request_id for p in planned)  # each handed out once
    by_id: dict[str, list[tuple[str, int | None]]] = {p.request_id: [] for p in planned}
    for answer in api.posts:
        by_id[answer.request_id].append((answer.kind, answer.status))
    unsettled = []
    for item in planned:
        posts = by_id[item.request_id]
        assert posts, f"{item.request_id} was never answered"
        failed = json.loads(item.event)["fail"]
        settling = [index for index, (_, status) in enumerate(posts) if status in (202, 410)]
        if not settling:
            # An error report refused as a bad request (400) is logged, not sent again: it would be
            # refused again. That is the only way an invocation stays unsettled.
            assert failed and item.fault == FAULTS["post-400"] and posts == [("error", 400)], posts
            unsettled.append(item.request_id)
            continue
        # One post settles it (202, or 410 for an invocation already timed out), and it is the last.
        assert settling == [len(posts) - 1], (item.request_id, item.fault, posts)
        refused = item.fault in (FAULTS["post-413"], FAULTS["post-400"])
        expected_kind = "error" if failed or refused else "response"
        assert posts[-1][0] == expected_kind, (item.request_id, posts)
        assert len(posts) <= 3  # a refused response, a refused error, its shortened form
    assert len(unsettled) < INVOCATIONS * 0.03 * 0.2 * 2  # about 3% refused, a fifth of them failures
    answered = [answer for answer in api.posts if answer.kind == "response" and answer.status == 202]
    assert all(json.loads(answer.body) == int(answer.request_id[1:]) for answer in answered)
