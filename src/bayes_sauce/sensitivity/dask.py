"""Many independent fits on Dask: a local cluster of one-thread workers, or an existing scheduler.

Each task writes a folder; a task is done when its folder holds its marker file (written last), so
an interrupted run resumes by submitting only the tasks whose marker is missing. Progress is shown
as tasks start (a Dask event from the worker) and finish; a task that raises is recorded and the
rest go on.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PROGRESS_TOPIC = "bayes-sauce-progress"


@dataclass(frozen=True)
class Task:
    """One unit of work: its name, the function and arguments to run on a worker, and its output folder."""

    name: str
    function: Callable[..., Any]
    args: tuple
    folder: Path


def local_cores() -> int:
    """Cores this process may use (the container's share, not the host's)."""
    return len(os.sched_getaffinity(0))


def announce(name: str) -> None:
    """Tell the client that a task has started on a worker thread (a Dask event); nothing outside a worker."""
    from distributed import get_worker

    try:
        worker = get_worker()
    except ValueError:
        return
    worker.log_event(PROGRESS_TOPIC, {"task": name, "slot": f"{worker.address}/{threading.get_ident()}"})


@contextmanager
def dask_client(scheduler: str | None, workers: int) -> Iterator[Any]:
    """A client of an existing scheduler (``tcp://host:port``), or of a local cluster of one-thread worker processes."""
    import logging

    from distributed import Client, LocalCluster

    logging.getLogger("distributed").setLevel(logging.WARNING)
    if scheduler:
        with Client(scheduler) as client:
            yield from _quiet_on_interrupt(client)
        return
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        yield from _quiet_on_interrupt(client)


def _quiet_on_interrupt(client: Any) -> Iterator[Any]:
    """Yield the client; on Ctrl-C silence Dask before the cluster shuts down (its complaints about cancelled
    tasks and workers killed mid-fit are expected), so only the CLI's one line is shown."""
    import logging

    try:
        yield client
    except KeyboardInterrupt:
        logging.getLogger("distributed").setLevel(logging.CRITICAL)
        raise


def run_tasks(tasks: list[Task], marker: str, scheduler: str | None, workers: int | None,
              describe: Callable[[Any], str], echo: Callable[[str], None] = print) -> dict[str, Any]:
    """Run the tasks (one Dask task each) and return, per task name, its result or the exception it raised.

    A task whose folder lacks ``marker`` afterwards (a remote worker without a shared filesystem) is
    an error too. ``describe`` turns a result into a progress line.
    """
    from distributed import as_completed

    n = workers or min(local_cores(), len(tasks))
    results: dict[str, Any] = {}
    with dask_client(scheduler, n) as client:
        echo(f"Dask: {scheduler or f'local cluster of {n} one-thread worker processes'}")
        slots: dict[str, str] = {}  # worker thread -> the task it runs: a new start there means the last one ended

        def running() -> str:
            return ", ".join(sorted(t for t in slots.values() if t not in results)) or "-"

        def started(event: tuple[float, dict[str, str]]) -> None:
            slots[event[1]["slot"]] = event[1]["task"]
            echo(f"  started {event[1]['task']}; running: {running()}")

        client.subscribe_topic(PROGRESS_TOPIC, started)
        futures = {client.submit(t.function, *t.args, key=f"{t.name}-{t.folder.name}", pure=False): t for t in tasks}
        for future in as_completed(futures):
            task = futures[future]
            if future.status == "error":
                results[task.name] = future.exception()
                status = f"ERROR {type(results[task.name]).__name__}: {results[task.name]}"
            elif not (task.folder / marker).exists():
                results[task.name] = RuntimeError(
                    f"the worker wrote {task.folder} where this machine cannot see it; with --scheduler, the output "
                    "folder and the data file must be on a filesystem shared with the workers")
                status = "ERROR output not visible here"
            else:
                results[task.name] = future.result()
                status = describe(results[task.name])
            echo(f"[{len(results)}/{len(tasks)} done] {task.name}: {status}; running: {running()}")
        client.unsubscribe_topic(PROGRESS_TOPIC)
    return results
