"""Where the work runs: a chunk of catalogue entries is vetted in this process, in threads, in
worker processes or on a Dask cluster, with a bounded number of chunks in flight."""

import contextlib
import gc
import itertools
import multiprocessing
import os
import sys
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from dataclasses import dataclass
from typing import NamedTuple

from ..tasks import register_task
from .results import failed_row, result_row

__all__ = [
    "Item",
    "Settings",
    "build_inspector",
    "collector_for_a_run",
    "in_chunks",
    "open_pool",
    "run_chunks",
    "vet_chunk",
]


class Item(NamedTuple):
    """A catalogue entry as a worker gets it, with the folder to save its trajectory in, and the
    ``(targetid, task id)`` pairs to vet when only some of its rows are vetted again (``None``:
    all)."""

    index: int
    path: str
    redshift: float | None
    id: str | None
    targetid: int | None
    folder: str | None
    only: frozenset | None = None


@dataclass(frozen=True)
class Settings:
    """Everything a worker needs to vet a chunk; ``token`` names the run's policy in each worker.

    ``tasks`` are the tasks each spectrum is vetted for (a row each). ``registrations`` register
    them in a worker process that does not know them (tasks from a task file, see
    `~spec_o3.tasks.task_registration`). ``texts`` is False when no trajectory is saved: a
    policy that can then writes no message texts (see `~spec_o3.agent.Inspector`).
    """

    token: str
    tasks: tuple
    backend: str | None
    backend_options: dict
    toolset: str | None
    max_turns: int
    render_images: bool
    batch_size: int
    overwrite_trajectories: bool
    registrations: tuple = ()
    texts: bool = True


_INSPECTORS = {}  # token -> Inspector, one per run in each worker process
_INSPECTORS_LOCK = threading.Lock()


def build_inspector(settings, policy=None):
    import spec_o3.agent as agent  # looked up at call time, so tests can replace get_backend

    if policy is None:
        try:
            policy = agent.get_backend(settings.backend, **settings.backend_options)
        except TypeError as error:  # an option the backend's constructor does not take
            raise ValueError(f"backend {settings.backend!r}: {error}") from None
    return agent.Inspector(
        policy,
        toolset=settings.toolset,
        max_turns=settings.max_turns,
        render_images=settings.render_images,
        texts=settings.texts,
    )


def _worker_inspector(settings):
    with _INSPECTORS_LOCK:
        if settings.token not in _INSPECTORS:
            for registration in settings.registrations:
                register_task(**registration, replace=True)
            _INSPECTORS[settings.token] = build_inspector(settings)
        return _INSPECTORS[settings.token]


def _release_inspector(token):
    """Close the policy a worker built for run ``token`` (model weights, connections)."""
    with _INSPECTORS_LOCK:
        inspector = _INSPECTORS.pop(token, None)
    if inspector is not None:
        inspector.policy.close()


def vet_chunk(items, settings, inspector=None):
    """Vet a chunk of items in batches; return ``[(index, row), ...]`` in the items' order, the
    rows of an item (one per target of a DESI file, and per task) together."""
    inspector = inspector or _worker_inspector(settings)
    rows = []
    for start in range(0, len(items), settings.batch_size):
        rows += _vet_batch(items[start : start + settings.batch_size], settings, inspector)
    return rows


def _vet_batch(items, settings, inspector):
    """Read each item once and start an episode per target and task; the tasks of a spectrum
    run in the same batch, so that a policy can measure what they share once (the expert)."""
    from spec_o3.io import iter_targets, target_name

    tasks, rows, started = settings.tasks, {}, []
    for item in items:
        began = time.perf_counter()
        try:  # a file that cannot be read is a failed row per task, not a crash
            targets = list(iter_targets(item.path, item.targetid))
        except Exception as error:  # noqa: BLE001 (readers and odd data fail in many ways)
            message, seconds = _failure(error, item.path), time.perf_counter() - began
            wanted = {task for _, task in item.only} if item.only is not None else None
            rows[item] = [
                failed_row(item.path, task, message, seconds, item.targetid)
                for task in tasks
                if wanted is None or task.id in wanted
            ]
            continue
        pairs = [
            (target, task)
            for target, task in itertools.product(targets, tasks)
            if item.only is None or (target[0], task.id) in item.only
        ]
        rows[item] = [None] * len(pairs)
        read_seconds = (time.perf_counter() - began) / max(len(pairs), 1)
        first = {}  # target -> its first episode, whose reduction and plot the others share
        for number, ((targetid, spectrum), task) in enumerate(pairs):
            began = time.perf_counter()
            try:  # a target that cannot be inspected is a failed row of its own
                episode = inspector.start(
                    spectrum,
                    task,
                    redshift=item.redshift,
                    source=item.path,
                    shared=first.get(targetid),
                )
                first.setdefault(targetid, episode)
            except Exception as error:  # noqa: BLE001 (odd data fails in many ways)
                seconds = read_seconds + time.perf_counter() - began
                message = _failure(error, target_name(item.path, targetid))
                rows[item][number] = failed_row(item.path, task, message, seconds, targetid)
                continue
            seconds = read_seconds + time.perf_counter() - began
            started.append((item, number, targetid, episode, seconds))
    outcomes = _inspect(inspector, [episode for *_, episode, _ in started])
    for (item, number, targetid, episode, seconds), outcome in zip(started, outcomes, strict=True):
        if isinstance(outcome, Exception):
            message = _failure(outcome, target_name(item.path, targetid))
            rows[item][number] = failed_row(item.path, episode.task, message, seconds, targetid)
            continue
        rows[item][number] = result_row(item.path, outcome)
        rows[item][number]["seconds"] += seconds
        if item.folder is not None:
            folder = _trajectory_folder(item.folder, targetid, episode.task, len(tasks))
            outcome.trajectory.save(folder, overwrite=settings.overwrite_trajectories)
    return [
        (item.index, row if item.id is None else {"id": item.id, **row})
        for item in items
        for row in rows[item]
    ]


def _trajectory_folder(folder, targetid, task, n_tasks):
    """Where an inspection is saved: the file's folder, then the target's (DESI), then the
    task's when a run has several."""
    if targetid is not None:
        folder = os.path.join(folder, str(targetid))
    return folder if n_tasks == 1 else os.path.join(folder, task.id)


def _failure(error, path):
    """The error text of a failed row: it names the file, then what went wrong."""
    from spec_o3.exceptions import UnvettableSpectrum

    if isinstance(error, UnvettableSpectrum):
        return f"{path}: {error.problem}"
    return f"{path}: cannot vet ({type(error).__name__}: {error})"


def _inspect(inspector, episodes):
    """Results of ``inspector.run_episodes``; if the batch fails, each spectrum alone from the
    start (its exception in place of its result), so one pathological spectrum costs one row,
    not the batch."""
    from spec_o3.agent import BackendError

    try:
        return inspector.run_episodes(episodes)
    except BackendError:
        raise
    except Exception:  # noqa: BLE001 (isolated below, spectrum by spectrum)
        outcomes = []
        for episode in episodes:
            try:
                outcomes.append(
                    inspector.run(
                        episode.spectrum,
                        episode.task,
                        redshift=episode.redshift if episode.redshift_source == "user" else None,
                        source=episode.trajectory.source,
                    )
                )
            except BackendError:
                raise
            except Exception as error:  # a bug or odd data in one spectrum: a failed row
                outcomes.append(error)
        return outcomes


# -- running chunks: in this process, in threads, in processes, on a Dask cluster ----------------


class _Inline:
    """Runs each chunk when it is submitted, in this thread."""

    limit = 1

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        pass

    def submit(self, function, *args):
        future = Future()
        try:
            future.set_result(function(*args))
        except Exception as error:  # handed over like an executor would, through the future
            future.set_exception(error)
        return future

    def wait(self, pending):
        return set(pending), set()


class _Executor:
    """A `concurrent.futures` executor holding at most ``limit`` chunks."""

    def __init__(self, executor, limit):
        self.executor, self.limit = executor, limit

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.executor.shutdown(cancel_futures=True)

    def submit(self, function, *args):
        return self.executor.submit(function, *args)

    def wait(self, pending):
        return wait_futures(pending, return_when=FIRST_COMPLETED)


class _Dask:
    """A Dask distributed cluster holding at most two chunks per worker thread."""

    def __init__(self, scheduler, token):
        try:
            from distributed import Client
        except ImportError:
            raise ImportError(
                "vetting on a Dask cluster needs dask.distributed: pip install 'spec-o3[dask]'"
            ) from None
        self.own = not isinstance(scheduler, Client)
        self.client = Client(scheduler) if self.own else scheduler
        self.token = token
        self.limit = 2 * max(1, sum(self.client.nthreads().values()))

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        try:
            self.client.run(_release_inspector, self.token)
        except Exception:
            if exc_info[0] is None:  # else the cluster's own failure is already on its way up
                raise
        finally:
            if self.own:
                self.client.close()

    def submit(self, function, *args):
        return self.client.submit(function, *args, pure=False)

    def wait(self, pending):
        from distributed import wait

        done, not_done = wait(list(pending), return_when="FIRST_COMPLETED")
        return set(done), set(not_done)


@contextlib.contextmanager
def collector_for_a_run():
    """Garbage collection set for vetting while the block runs, then as it was; worker processes
    forked meanwhile (`_process_pool`) inherit the setting.

    What this process holds now is left out of the collector's scans (`gc.freeze`): a run makes a
    full collection every few hundred files, which would scan every object of astropy, specutils
    and matplotlib as well (~0.1 s each: 7 % of the CPU time of a run in this process). And the
    youngest generation is collected after ten times Python's default 700 new objects: the
    episodes of a batch (8 spectra) outnumber that, so that they were scanned and promoted about
    once per spectrum (2 % of the CPU time), though they live no longer than the batch. Nothing is
    frozen where objects are frozen already (by the application, or an enclosing block).
    """
    froze = gc.get_freeze_count() == 0
    if froze:
        gc.freeze()
    thresholds = gc.get_threshold()
    gc.set_threshold(max(thresholds[0], _YOUNGEST_THRESHOLD), *thresholds[1:])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        if froze:
            gc.unfreeze()


#: New container objects after which a run's youngest generation is collected (Python: 700).
_YOUNGEST_THRESHOLD = 7000


def open_pool(workers, scheduler, concurrency, token):
    if scheduler is not None:
        return _Dask(scheduler, token)
    if workers > 1:
        return _Executor(_process_pool(workers), 2 * workers)
    if concurrency > 1:
        executor = ThreadPoolExecutor(concurrency, thread_name_prefix="spec-o3-vet")
        return _Executor(executor, 2 * concurrency)
    return _Inline()


def _process_pool(workers):
    """Worker processes, started now. On Linux, in a process that runs no other thread (the
    ``spec-o3 vet`` command), they are forked from it: they start at once with all it imported.
    Forking while another thread may hold a lock can deadlock the child, so otherwise (a notebook,
    a threaded application, other systems) they come from a fork server (`_worker_context`)."""
    if sys.platform == "linux" and threading.active_count() == 1:
        executor = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"))
        # The first task forks every worker, before the executor's own thread starts; they inherit
        # the run's garbage collection (`collector_for_a_run`, held by `vet_catalog` around them).
        executor.submit(int).result()
        return executor
    return ProcessPoolExecutor(workers, mp_context=_worker_context())


def _worker_context():
    """Start worker processes from a fork server that has imported spec-o3 once: as fast as fork
    (importing specutils takes seconds) and safe in a process with threads (spawn on Windows)."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["spec_o3.batch", "spec_o3.agent", "spec_o3.io"])
    return context


def run_chunks(pool, work, chunks):
    """Yield the rows of each chunk as it finishes, with at most ``pool.limit`` chunks in flight."""
    pending = set()
    try:
        while True:
            for chunk in itertools.islice(chunks, pool.limit - len(pending)):
                pending.add(pool.submit(work, chunk))
            if not pending:
                return
            done, pending = pool.wait(pending)
            failed = [future for future in done if future.exception() is not None]
            for future in done:  # finished chunks reach the journal before a failure stops the run
                if future not in failed:
                    yield future.result()
            if failed:
                failed[0].result()
    finally:
        for future in pending:
            future.cancel()


def in_chunks(items, size):
    chunk = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
