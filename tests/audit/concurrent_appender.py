"""One app process for ``test_concurrency``: appends audit entries concurrently for a while.

Run by the test as a subprocess, never collected by pytest. It builds the runtime the way
``service/app.py`` does, with ``service.live.open_runtime`` (settings from ``LIAISON_*``,
engine, sessionmaker, the broker keys unwrapped with the KEK, an ``Integrator`` running in the
background) and appends through the
request transaction of ``service.api.dependencies``, which wakes the integrator after every
commit. Several asyncio tasks append small random batches through ``AuditLog.append``, each
entry carrying a unique ``marker``. A marker is written to ``<out>.ack`` only after its
transaction's commit returned: those are the acknowledged entries. Every tenth transaction is
rolled back on purpose and its markers go to ``<out>.rolled-back``: they must never appear.

Protocol: print ``ready`` once set up, wait for one line on stdin, append for ``--seconds``,
stop the integrator, print one JSON line of counts and exit 0.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import random
import sys
import time
from dataclasses import dataclass, field
from typing import TextIO

from service.api.dependencies import transaction
from service.audit.log import AuditLog
from service.live import open_runtime
from service.runtime import Runtime
from service.settings import Settings

MAX_BATCH = 20
ROLLBACK_EVERY = 10


class RolledBackOnPurpose(Exception):
    pass


class ErrorCounter(logging.Handler):
    """Counts ERROR records of the integrator's logger: a failed integration is logged, not
    raised, by ``Integrator.run``."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1
        print(f"integrator error: {record.getMessage()}", file=sys.stderr)


@dataclass
class Counts:
    acknowledged: int = 0
    rolled_back: int = 0
    transactions: int = 0
    failures: list[str] = field(default_factory=list)


async def append_for(
    runtime: Runtime,
    name: str,
    task: int,
    deadline: float,
    ack: TextIO,
    rolled_back: TextIO,
    counts: Counts,
) -> None:
    rng = random.Random(f"{name}/{task}")
    n = 0
    while time.monotonic() < deadline:
        size = rng.randint(1, MAX_BATCH)
        markers = [f"{name}-{task}-{n + k}" for k in range(size)]
        n += size
        counts.transactions += 1
        roll_back = counts.transactions % ROLLBACK_EVERY == 0
        try:
            # The request's own transaction: commits, then wakes this process's integrator.
            async with transaction(runtime) as session:
                log = AuditLog(session, runtime.clock.now())
                for marker in markers:
                    await log.append("test.concurrent", name, {"marker": marker})
                if roll_back:
                    raise RolledBackOnPurpose
        except RolledBackOnPurpose:
            rolled_back.write("".join(f"{marker}\n" for marker in markers))
            counts.rolled_back += len(markers)
            continue
        except Exception as exc:  # reported: the test fails on any failed transaction
            counts.failures.append(f"{type(exc).__name__}: {exc}")
            continue
        ack.write("".join(f"{marker}\n" for marker in markers))
        ack.flush()
        counts.acknowledged += len(markers)


async def stop(task: asyncio.Task[None]) -> None:
    # Cancel until it ends: on Python 3.11, Integrator.run's asyncio.wait_for(wake.wait())
    # swallows a cancel that arrives while the wake event is being set (CPython gh-86296).
    while not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=0.1)


async def main(arguments: argparse.Namespace) -> dict[str, object]:
    errors = ErrorCounter()
    logging.getLogger("liaison.audit").addHandler(errors)
    counts = Counts()
    # Audit appends only: no policy set, so no ``policy.loaded`` entry of its own.
    async with open_runtime(Settings(), load_policy=False) as runtime:
        if runtime.integrator is None:
            raise RuntimeError("the runtime has no integrator")
        background = asyncio.create_task(runtime.integrator.run(), name="audit-integrator")
        print("ready", flush=True)
        await asyncio.to_thread(sys.stdin.readline)
        deadline = time.monotonic() + arguments.seconds
        with (
            open(f"{arguments.out}.ack", "w") as ack,  # noqa: ASYNC230 - local, tiny writes
            open(f"{arguments.out}.rolled-back", "w") as rolled_back,  # noqa: ASYNC230
        ):
            await asyncio.gather(
                *(
                    append_for(runtime, arguments.name, task, deadline, ack, rolled_back, counts)
                    for task in range(arguments.tasks)
                )
            )
        await stop(background)
    return {
        "name": arguments.name,
        "acknowledged": counts.acknowledged,
        "rolled_back": counts.rolled_back,
        "transactions": counts.transactions,
        "failures": counts.failures[:10],
        "failure_count": len(counts.failures),
        "integrator_errors": errors.count,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--name", required=True, help="this process's marker prefix")
    parser.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--tasks", type=int, default=4)
    parser.add_argument("--out", required=True, help="path prefix of the marker files")
    print(json.dumps(asyncio.run(main(parser.parse_args()))), flush=True)
