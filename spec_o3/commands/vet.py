"""``spec-o3 vet``: vet spectrum files for one task and write one result row per file.

Rows have the columns of :data:`COLUMNS`. A file that cannot be read, or whose inspection could not
conclude, is a row with its ``error``; the exit status is non-zero only for usage errors (2: bad
arguments, an existing ``--output`` without ``--overwrite``) and for a backend that fails to run at
all (1: e.g. an unreachable server, whose error then fills the rows of the files not yet vetted).
"""

import sys
import time
from pathlib import Path

__all__ = ["COLUMNS", "add_arguments", "error_row", "result_row", "run", "vet_files", "write_rows"]

#: Column names of the results table, in order.
COLUMNS = ("file", "task", "verdict", "evidence", "n_steps", "windows", "error", "seconds")


def add_arguments(parser):
    """Attach the ``vet`` options to ``parser``."""
    parser.add_argument(
        "files", nargs="+", metavar="FILE", help="spectrum files (LAMOST, SDSS, ...)"
    )
    parser.add_argument(
        "--task",
        "-t",
        required=True,
        help="task id or code: carbon_star (cc), cataclysmic_variable (cv), m_giant (gm), "
        "s_star (ss), white_dwarf (wd), or a registered task",
    )
    parser.add_argument(
        "--backend",
        "-b",
        default="expert",
        choices=("expert", "transformers", "openai"),
        help="policy: scripted expert (default, offline), local VLM, or OpenAI-compatible server",
    )
    parser.add_argument(
        "--model", "-m", help="model id or path (transformers) or served model name (openai)"
    )
    parser.add_argument(
        "--base-url",
        help="OpenAI-compatible API root, e.g. http://localhost:8000/v1 "
        "(the key is read from OPENAI_API_KEY)",
    )
    parser.add_argument("--output", "-o", type=Path, help="write the results table here (ECSV)")
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an existing --output and saved trajectories",
    )
    parser.add_argument(
        "--save-trajectories",
        type=Path,
        metavar="DIR",
        help="save each inspection (JSON + PNG) under DIR/<file stem>/",
    )
    parser.add_argument(
        "--no-images",
        dest="render_images",
        action="store_false",
        help="text-only tool results (fast; for the expert backend)",
    )
    parser.add_argument(
        "--max-turns", type=int, default=8, help="most assistant turns per spectrum (default 8)"
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        default=8,
        help="spectra inspected together, so the backend can batch them (default 8)",
    )


def run(args):
    """Run ``spec-o3 vet`` with parsed ``args``; return the exit status."""
    from spec_o3.agent import BackendError, Inspector, get_backend
    from spec_o3.tasks import get_task

    try:
        task = get_task(args.task)
        options = _backend_options(args)
        if args.max_turns < 1 or args.batch_size < 1:
            raise ValueError("--max-turns and --batch-size must be at least 1")
        if args.output is not None and args.output.exists() and not args.overwrite:
            raise ValueError(f"{args.output} exists; pass --overwrite to replace it")
        saved = (
            _trajectory_folders([Path(path) for path in args.files], args.save_trajectories) or []
        )
        if not args.overwrite and any((folder / "trajectory.json").exists() for folder in saved):
            raise ValueError(
                f"trajectories are already saved in {args.save_trajectories}; "
                "pass --overwrite to replace them"
            )
        policy = get_backend(args.backend, **options)
    except (ValueError, TypeError) as error:
        print(f"spec-o3 vet: error: {error}", file=sys.stderr)
        return 2
    rows, status = [], 0
    with policy:
        inspector = Inspector(policy, max_turns=args.max_turns, render_images=args.render_images)
        try:
            for row in vet_files(
                args.files,
                task,
                inspector,
                batch_size=args.batch_size,
                save_trajectories=args.save_trajectories,
                overwrite=args.overwrite,
            ):
                rows.append(row)
        except BackendError as error:
            rows += [
                error_row(path, task, f"backend failed: {error}", 0.0)
                for path in args.files[len(rows) :]
            ]
            status = 1
    if args.output is not None:
        write_rows(rows, args.output, overwrite=args.overwrite)
    _print_summary(rows, args.output)
    return status


def _backend_options(args):
    """Backend options from the command line; ValueError for options the backend does not take."""
    options = {}
    if args.model is not None:
        if args.backend == "expert":
            raise ValueError(
                "--model applies to the transformers and openai backends, not the expert"
            )
        options["model"] = args.model
    if args.base_url is not None:
        if args.backend != "openai":
            raise ValueError("--base-url applies to the openai backend only")
        options["base_url"] = args.base_url
    return options


def vet_files(
    paths, task, inspector, *, batch_size=8, save_trajectories=None, overwrite=False, progress=True
):
    """Vet spectrum files in batches; yield one result row (a dict, see :data:`COLUMNS`) per file.

    Parameters
    ----------
    paths : iterable of str or path-like
    task : `~spec_o3.tasks.Task`
    inspector : `~spec_o3.agent.Inspector`
    batch_size : int
        Files inspected together (one ``policy.respond`` call covers the batch).
    save_trajectories : path-like, optional
        Save each trajectory under this directory, in a folder named after the file.
    overwrite : bool
        Replace trajectories already saved there.
    progress : bool
        Show a progress bar on stderr (when it is a terminal).

    Yields
    ------
    row : dict
        In the order of ``paths``; a file that cannot be read gives a row with its ``error``.

    Raises
    ------
    BackendError
        When the policy fails to run (rows of earlier batches have been yielded by then).
    """
    from specutils import Spectrum
    from tqdm.auto import tqdm

    paths = [Path(path) for path in paths]
    folders = _trajectory_folders(paths, save_trajectories)
    with tqdm(
        total=len(paths), unit="spectrum", desc=f"vet {task.id}", disable=None if progress else True
    ) as bar:
        for start in range(0, len(paths), batch_size):
            batch = range(start, min(start + batch_size, len(paths)))
            rows, jobs, read, read_seconds = {}, [], [], {}
            for i in batch:
                began = time.perf_counter()
                try:
                    jobs.append((Spectrum.read(paths[i]), task, None))
                except (
                    Exception
                ) as error:  # readers fail in many ways; each failure is a row, not a crash
                    rows[i] = error_row(
                        paths[i],
                        task,
                        f"cannot read: {type(error).__name__}: {error}",
                        time.perf_counter() - began,
                    )
                    continue
                read.append(i)
                read_seconds[i] = time.perf_counter() - began
            results = (
                inspector.run_many(jobs, sources=[str(paths[i]) for i in read]) if jobs else []
            )
            for i, result in zip(read, results, strict=True):
                rows[i] = result_row(paths[i], result)
                rows[i]["seconds"] += read_seconds[i]
                if folders is not None:
                    result.trajectory.save(folders[i], overwrite=overwrite)
            for i in batch:
                bar.update()
                yield rows[i]


def _trajectory_folders(paths, root):
    """One folder per file under ``root``, named after the file stem (numbered if stems repeat)."""
    if root is None:
        return None
    folders, used = [], set()
    for path in paths:
        name, n = path.stem, 1
        while name in used:
            n += 1
            name = f"{path.stem}-{n}"
        used.add(name)
        folders.append(Path(root) / name)
    return folders


def result_row(path, result):
    """The results-table row of one `~spec_o3.agent.VettingResult`."""
    import astropy.units as u

    windows = ";".join(
        f"{window.lower.to_value(u.AA):.0f}-{window.upper.to_value(u.AA):.0f}"
        for window in result.windows
    )
    return {
        "file": str(path),
        "task": result.task,
        "verdict": result.verdict,
        "evidence": result.evidence,
        "n_steps": result.n_steps,
        "windows": windows,
        "error": result.error or "",
        "seconds": result.seconds,
    }


def error_row(path, task, message, seconds):
    """The row of a file that could not be vetted: verdict ``"NO"`` and the reason."""
    return {
        "file": str(path),
        "task": task.id,
        "verdict": "NO",
        "evidence": "",
        "n_steps": 0,
        "windows": "",
        "error": message,
        "seconds": seconds,
    }


def write_rows(rows, output, *, overwrite=False):
    """Write result rows to ``output`` as an ECSV table (``seconds`` carries its unit).

    Raises
    ------
    FileExistsError
        If ``output`` exists and ``overwrite`` is false.
    """
    import astropy.units as u
    from astropy.table import Table

    output = Path(output)
    if output.exists() and not overwrite:
        raise FileExistsError(f"{output} exists; pass overwrite=True to replace it")
    table = Table(
        rows=[[row[name] for name in COLUMNS] for row in rows],
        names=COLUMNS,
        dtype=(str, str, str, str, int, str, str, float),
    )
    table["seconds"].unit = u.s
    table.write(output, format="ascii.ecsv", overwrite=overwrite)


def _print_summary(rows, output):
    counts = {
        verdict: sum(row["verdict"] == verdict and not row["error"] for row in rows)
        for verdict in ("YES", "NO")
    }
    errors = sum(bool(row["error"]) for row in rows)
    for row in rows:
        if row["error"]:
            print(f"{row['file']}: {row['error']}", file=sys.stderr)
    where = f"; results in {output}" if output is not None else ""
    print(
        f"{len(rows)} spectra: {counts['YES']} YES, {counts['NO']} NO, {errors} with errors{where}"
    )
    if output is None:
        for row in rows:
            print(f"{row['file']}\t{row['verdict']}\t{row['evidence']}")
