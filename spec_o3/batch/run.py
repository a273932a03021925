"""`vet_catalog`: one or more tasks over a whole catalogue, journaled, resumable, in parallel."""

import contextlib
import functools
import itertools
import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import astropy.units as u

from spec_o3.agent.result import FAILED
from spec_o3.defaults import MAX_TURNS
from spec_o3.tasks import get_tasks, task_registration

from .catalog import Catalog, scan
from .results import COLUMNS, Journal, outcome, read_rows, table_format, write_results
from .workers import (
    Item,
    Settings,
    build_inspector,
    collector_for_a_run,
    in_chunks,
    open_pool,
    run_chunks,
    vet_chunk,
)

__all__ = ["BatchSummary", "vet_catalog"]


@dataclass(frozen=True)
class BatchSummary:
    """What a catalogue run produced.

    Attributes
    ----------
    output : `pathlib.Path`
        The results table.
    total : int
        Rows in it: one per spectrum of each catalogue entry (one per target of a DESI file) and
        task.
    yes, no : int
        Answered rows, by verdict.
    no_answer : int
        Rows whose inspection ended without a valid answer (no verdict).
    failed : int
        Rows whose spectrum could not be read or vetted (no verdict).
    vetted : int
        Rows vetted by this run (the others came from the journal of an interrupted run).
    elapsed : `~astropy.units.Quantity`
        Wall-clock time of this run.
    first_errors : tuple of (str, str)
        ``(file, error)`` of the first few failed rows, then of rows without an answer.
    tasks : int
        Tasks each spectrum was vetted for (a row each).
    """

    output: Path
    total: int
    yes: int
    no: int
    no_answer: int
    failed: int
    vetted: int
    elapsed: u.Quantity
    first_errors: tuple = ()
    tasks: int = 1

    @property
    def errors(self):
        """Rows with an ``error``: failed ones and those without an answer."""
        return self.no_answer + self.failed

    @property
    def rate(self):
        """Spectra vetted per second by this run (for all its tasks)."""
        if self.vetted == 0:
            return 0 / u.s
        return (self.vetted / self.tasks / self.elapsed).to(1 / u.s)

    def __str__(self):
        rows = "spectra" if self.tasks == 1 else f"rows ({self.tasks} tasks per spectrum)"
        return (
            f"{self.total} {rows}: {self.yes} YES, {self.no} NO, {self.no_answer} without an "
            f"answer, {self.failed} failed; "
            f"{self.vetted // self.tasks} vetted in {self.elapsed.to_value(u.s):.1f} s "
            f"({self.rate.to_value(1 / u.s):.1f} spectra/s); results in {self.output}"
        )


def vet_catalog(
    catalog,
    task,
    output,
    *,
    backend="expert",
    backend_options=None,
    workers=1,
    scheduler=None,
    concurrency=1,
    chunk_size=32,
    batch_size=8,
    resume=False,
    retry_failed=False,
    overwrite=False,
    toolset=None,
    max_turns=MAX_TURNS,
    render_images=True,
    save_trajectories=None,
    progress=True,
):
    """Vet every spectrum of a catalogue for one or more tasks; write a row per spectrum and task.

    Each file is read once; with several tasks, its rows (one per task, in the order given) are
    consecutive, and a policy that measures the spectrum itself (the expert) measures what the
    tasks share once.

    Parameters
    ----------
    catalog : `Catalog`, str, path-like or iterable of paths
        The spectra: a `Catalog`, a catalogue file (see `Catalog.read`) or a list of files.
    task : str, `~spec_o3.tasks.Task` or list of them
        Task id or code (``"carbon_star"``, ``"cc"``, ...), several (``"cc,wd"`` or a list), or
        ``"all"`` (the five built-in tasks); see `~spec_o3.tasks.get_tasks`.
    output : str or path-like
        The results table; its extension picks the format (``.ecsv``, ``.csv``, ``.parquet``).
        Rows are in catalogue order with the columns ``COLUMNS`` (``id`` first when the
        catalogue has ids). Its journal, ``output`` + ``".journal"``, lives next to it until the
        run completes.
    backend : str or `~spec_o3.agent.Policy`
        Backend name (each worker builds its policy with ``backend_options``), or a policy
        instance (for a run in this process only: ``workers=1``, no ``scheduler``).
    backend_options : dict, optional
        Constructor options of the backend (``model=``, ``base_url=``, ...).
    workers : int
        Worker processes on this machine; 1 vets in this process.
    scheduler : str or `distributed.Client`, optional
        A Dask distributed scheduler address (``"tcp://host:8786"``) or client: chunks are vetted
        by the cluster's workers, which need spec-o3 installed and the files at the same paths.
    concurrency : int
        Spectra vetted at once in this process, one per thread: with a backend that waits on a
        server (``openai``) this bounds the requests in flight.
    chunk_size : int
        Spectra per unit of work sent to a worker (and per journal write).
    batch_size : int
        Spectra a worker inspects together, so that the backend can batch its model calls (one
        ``generate`` per turn for ``transformers``); 1 when ``concurrency`` is above 1.
    resume : bool
        Finish an interrupted run: keep the rows in the journal, vet only the other spectra.
    retry_failed : bool
        With ``resume``, vet the failed rows again too (of an interrupted run, or of a finished
        one whose ``output`` holds failed rows): only their (target, task) pairs when the file
        has other rows (its file read once more), the whole file when all its rows failed.
    overwrite : bool
        Start again: replace ``output``, an interrupted run's journal and saved trajectories.
    toolset, max_turns, render_images
        See `~spec_o3.agent.Inspector`.
    save_trajectories : str or path-like, optional
        Save each inspection under this folder, in a sub-folder named after the file (then one
        per task id, when there are several tasks).
    progress : bool
        Show a progress bar with rate and time left (on a terminal).

    Returns
    -------
    summary : `BatchSummary`

    Raises
    ------
    FileExistsError
        If ``output`` or an interrupted run's journal exists and neither ``resume`` nor
        ``overwrite`` is set, or if ``resume`` finds ``output`` complete.
    ValueError
        For bad settings, or a journal left by a run with another task, backend or catalogue.
    BackendError
        If the backend fails. ``output`` is written all the same (spectra not vetted carry the
        error) and the journal is kept: ``resume=True`` finishes the run once the backend works.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from spec_o3.batch import vet_catalog
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     summary = vet_catalog(["missing.fits"], "cc", Path(folder) / "out.csv", progress=False)
    >>> summary.total, summary.failed
    (1, 1)
    >>> summary.first_errors[0]
    ('missing.fits', 'missing.fits: no such file')
    """
    from spec_o3.agent import BackendError, Policy

    tasks, output = get_tasks(task), Path(output)
    if not isinstance(catalog, Catalog):
        is_file = isinstance(catalog, (str, os.PathLike))
        catalog = Catalog.read(catalog) if is_file else Catalog(catalog)
    _check_settings(
        output, workers, scheduler, concurrency, chunk_size, batch_size, resume, overwrite
    )
    if retry_failed and not resume:
        raise ValueError("retry_failed=True retries the failed rows of a run: pass resume=True")
    local = workers == 1 and scheduler is None
    if isinstance(backend, Policy) and not local:
        raise ValueError(
            "a policy instance can only vet in this process: give a backend name "
            "(and backend_options) to use workers or a scheduler"
        )
    size, fingerprint = scan(catalog)
    columns = ("id", *COLUMNS) if catalog.has_ids else COLUMNS
    journal_path = output.with_name(output.name + ".journal")
    _check_existing(
        output, journal_path, catalog, save_trajectories, resume, retry_failed, overwrite
    )
    settings = Settings(
        token=uuid.uuid4().hex,
        tasks=tasks,
        backend=None if isinstance(backend, Policy) else backend,
        backend_options=dict(backend_options or {}),
        toolset=toolset,
        max_turns=max_turns,
        render_images=render_images,
        batch_size=1 if concurrency > 1 else batch_size,
        overwrite_trajectories=overwrite or resume,
        registrations=tuple(task_registration(task) for task in tasks),
        texts=save_trajectories is not None,  # the table needs no message texts
    )
    header = {
        "format": "spec-o3 vet journal 1",
        "task": ",".join(task.id for task in tasks),
        "backend": backend.name if isinstance(backend, Policy) else backend,
        "catalog": fingerprint,
        "entries": size,
        "columns": list(columns),
    }
    started, vetted, failure = time.perf_counter(), 0, None
    with contextlib.ExitStack() as stack:
        inspector = None
        if local:  # one policy, built here (so that bad options fail now), shared by the threads
            inspector = build_inspector(settings, backend if settings.backend is None else None)
            if inspector.policy is not backend:
                stack.callback(inspector.policy.close)
        stack.enter_context(collector_for_a_run())
        pool = stack.enter_context(open_pool(workers, scheduler, concurrency, settings.token))
        if resume and journal_path.exists():
            journal = Journal.recover(journal_path, header, size)
        else:
            journal = Journal.create(journal_path, header, size)
            if resume and output.exists():  # a finished run whose failures are retried
                journal.append(_finished_rows(output, columns, catalog, size, tasks))
        stack.callback(journal.close)
        bar = stack.enter_context(_progress_bar(size, journal.done, tasks, progress))
        work = functools.partial(vet_chunk, settings=settings, inspector=inspector)
        kept = {}  # index -> the rows of an entry whose failed rows alone are vetted again
        todo = (
            _item(entry, folder, journal, kept)
            for entry, folder in _trajectory_folders(catalog, save_trajectories)
            if journal.offsets[entry.index] < 0 or (retry_failed and journal.failed(entry.index))
        )
        try:
            for rows in run_chunks(pool, work, in_chunks(todo, chunk_size)):
                vetted += len(rows)
                rows = _with_kept_rows(rows, kept)
                journal.append(rows)
                bar.update(len({index for index, _ in rows}))  # files, not targets
                bar.set_postfix(journal.counts, refresh=False)
        except BackendError as error:
            failure = error
    missing = f"backend failed: {failure}" if failure else "not vetted"
    tally = write_results(catalog, journal, output, columns, tasks, missing)
    if failure is not None:
        raise BackendError(
            f"{failure}; {journal.done} of {size} spectra have a result in {output}, the others "
            "carry this error: fix the backend and pass resume=True to finish the run"
        ) from failure
    journal.path.unlink()
    return BatchSummary(
        output=output,
        total=sum(tally.counts.values()),
        yes=tally.counts["YES"],
        no=tally.counts["NO"],
        no_answer=tally.counts["no_answer"],
        failed=tally.counts["failed"],
        vetted=vetted,
        elapsed=(time.perf_counter() - started) * u.s,
        first_errors=tuple(tally.first_errors),
        tasks=len(tasks),
    )


def _item(entry, folder, journal, kept):
    """The work item of a catalogue entry. An entry with rows that did not all fail (a task that
    failed on a spectrum read well) is vetted again for its failed (target, task) pairs only; its
    other rows are kept in ``kept`` to go back in with the new ones."""
    only = None
    if journal.offsets[entry.index] >= 0:
        rows = [row for _, row in journal.rows([entry])]
        failed = frozenset((row["targetid"], row["task"]) for row in rows if outcome(row) == FAILED)
        if len(failed) < len(rows):
            only, kept[entry.index] = failed, rows
    return Item(entry.index, entry.path, entry.redshift, entry.id, entry.targetid, folder, only)


def _with_kept_rows(pairs, kept):
    """``(index, row)`` pairs of a chunk with the kept rows of partly retried entries put back,
    each new row in the place of the failed one it replaces."""
    if not kept:
        return pairs
    new = {(index, row["targetid"], row["task"]): row for index, row in pairs}
    merged = []
    for index, group in itertools.groupby(pairs, key=lambda pair: pair[0]):
        if index not in kept:
            merged += group
            continue
        rows = kept.pop(index)
        merged += [(index, new.get((index, row["targetid"], row["task"]), row)) for row in rows]
    return merged


def _progress_bar(total, done, tasks, progress):
    from spec_o3._progress import progress_bar

    what = tasks[0].name if len(tasks) == 1 else f"{len(tasks)} tasks"
    return progress_bar(
        total=total, initial=done, desc=f"vetting {what}", unit="spectrum", show=progress
    )


def _check_settings(
    output, workers, scheduler, concurrency, chunk_size, batch_size, resume, overwrite
):
    for name, value in (
        ("workers", workers),
        ("concurrency", concurrency),
        ("chunk_size", chunk_size),
        ("batch_size", batch_size),
    ):
        if int(value) != value or value < 1:
            raise ValueError(f"{name} must be a whole number of at least 1, got {value!r}")
    if resume and overwrite:
        raise ValueError(
            "resume=True keeps the finished rows, overwrite=True discards them: choose one"
        )
    if scheduler is not None and workers > 1:
        raise ValueError("workers applies to a run on this machine; a Dask cluster has its own")
    if concurrency > 1 and (workers > 1 or scheduler is not None):
        raise ValueError(
            "concurrency applies to a run in this process; with worker processes or a Dask "
            "cluster, each worker thread vets one chunk at a time"
        )
    table_format(output)
    if not output.parent.is_dir():
        raise FileNotFoundError(f"the folder {output.parent} of the output does not exist")


def _check_existing(output, journal, catalog, save_trajectories, resume, retry_failed, overwrite):
    """Refuse to replace earlier results silently."""
    if overwrite:
        journal.unlink(missing_ok=True)
        return
    if resume:
        if output.exists() and not journal.exists() and not retry_failed:
            raise FileExistsError(
                f"{output} is complete (no interrupted run's journal {journal.name} next to it); "
                "pass retry_failed=True to vet its failed rows again, or overwrite=True to vet "
                "everything again"
            )
        return
    if output.exists():
        raise FileExistsError(f"{output} exists; pass overwrite=True to replace it")
    if journal.exists():
        raise FileExistsError(
            f"an interrupted run left its journal {journal}; pass resume=True to finish it "
            "or overwrite=True to start again"
        )
    if save_trajectories is not None:
        for _, folder in _trajectory_folders(catalog, save_trajectories):
            if os.path.exists(os.path.join(folder, "trajectory.json")):
                raise FileExistsError(
                    f"trajectories are already saved in {save_trajectories}; "
                    "pass overwrite=True to replace them"
                )


def _finished_rows(output, columns, catalog, size, tasks):
    """``(index, row)`` of a finished run's ``output``, checked to be this catalogue's: an entry's
    rows are its file's consecutive rows, one per target (each TARGETID once) or just one, times
    one per task."""
    ids = {task.id for task in tasks}
    rows, pairs = iter(read_rows(output, columns)), []
    row = next(rows, None)
    for entry in catalog:
        seen = set()  # (targetid, task) of the entry's rows
        while row is not None and row["file"] == str(entry.path) and row["task"] in ids:
            key = (row["targetid"], row["task"])
            if key in seen:
                break
            pairs.append((entry.index, row))
            seen.add(key)
            row = next(rows, None)
            one_target = entry.targetid is not None or key[0] is None
            if one_target and len(seen) == len(ids):
                break
        if not seen:
            break
    if row is not None or len({index for index, _ in pairs}) != size:
        raise ValueError(
            f"{output} holds the results of another catalogue; pass overwrite=True to vet again"
        )
    return pairs


def _trajectory_folders(entries, root):
    """Pair each entry with its trajectory folder, ``root/<file stem>`` (numbered if repeated)."""
    used = set()
    for entry in entries:
        if root is None:
            yield entry, None
            continue
        stem = Path(entry.path).stem
        name, n = stem, 1
        while name in used:
            n += 1
            name = f"{stem}-{n}"
        used.add(name)
        yield entry, os.path.join(root, name)
