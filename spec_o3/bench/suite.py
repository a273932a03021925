"""Benchmark suites: labelled YES/NO vetting questions in the SpecVI-Bench shape, one row each."""

from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.io.registry import IORegistryError
from astropy.nddata import InverseVariance
from astropy.table import Column, Table, vstack
from specutils import Spectrum

from ..io import read_survey_spectrum, read_target
from ..tasks import get_task, task_ids
from . import _arrow
from .specvi import normalise_columns, parse_label, task_from_text

__all__ = ["Suite"]

#: Label tables ``spec-o3 simulate`` may write into its output directory, in order of preference.
LABEL_FILES = ("labels.ecsv", "labels.csv")
#: Columns holding a spectrum per row in a saved suite.
SPECTRUM_COLUMNS = ("wavelength", "flux", "ivar", "mask")
#: Columns that mark SpecVI-Bench's released verl Parquet layout (see `Suite.read`).
RELEASE_COLUMNS = ("prompt", "images", "reward_model", "extra_info")
# Where the spectrum sits in a released row's extra_info.
_RELEASE_ARRAYS = ("tools_kwargs", "spectral_visualization_tool", "create_kwargs")
_IMAGE_MARKER = "<image>"
_FITS_SUFFIXES = (".fits", ".fit", ".fits.gz")


def _spectrum_cell_format(cell):
    return "(file)" if cell is None else f"Spectrum[{len(cell.spectral_axis)}]"


def _object_column(values):
    cells = np.empty(len(values), dtype=object)
    for i, value in enumerate(values):  # element-wise: numpy would try to unpack array-like values
        cells[i] = value
    return cells


def _spectrum_from_arrays(wavelength, flux, ivar, mask, redshift):
    """A `~specutils.Spectrum` from one row of a saved suite (ivar all NaN means no uncertainty)."""
    uncertainty = None if np.isnan(ivar.value).all() else InverseVariance(ivar)
    return Spectrum(
        spectral_axis=wavelength,
        flux=flux,
        uncertainty=uncertainty,
        mask=mask | ~np.isfinite(flux.value),
        meta={"redshift": float(redshift)} if np.isfinite(redshift) else {},
    )


def _inverse_variance(spectrum):
    """Inverse variance in the flux unit squared; NaN when the spectrum has no uncertainty."""
    if spectrum.uncertainty is None:
        return np.full(spectrum.flux.shape, np.nan)
    with np.errstate(
        divide="ignore"
    ):  # zero variance -> infinite ivar, treated as unknown (0) below
        ivar = spectrum.uncertainty.represent_as(InverseVariance).quantity.to_value(
            spectrum.flux.unit**-2
        )
    return np.where(np.isfinite(ivar), ivar, 0.0)


def _is_release_layout(path):
    """Whether a Parquet file holds SpecVI-Bench's released verl rows (read by its schema)."""
    names = _arrow._pyarrow().parquet.read_schema(path).names
    return set(RELEASE_COLUMNS) <= set(names)


def _release_columns(path, task=None):
    """The columns of released verl rows as `normalise_columns` reads them (each row's task asked
    in its prompt unless ``task`` is given), and each row's overview PNG bytes."""
    pa = _arrow._pyarrow()
    table = pa.parquet.read_table(path)
    arrays = table.column("extra_info").combine_chunks()
    for name in _RELEASE_ARRAYS:
        arrays = arrays.field(name)
    extra_info = table.column("extra_info").combine_chunks()

    def column(array):
        return _arrow._column_to_numpy(pa, pa.chunked_array([array]))

    columns = {name: column(arrays.field(name)) for name in ("wavelength", "flux", "redshift")}
    columns["redshift"] = np.ma.filled(np.ma.asarray(columns["redshift"], float), np.nan)
    columns["label"] = column(table.column("reward_model").combine_chunks().field("ground_truth"))
    for name, field_name in (("id", "index"), ("name", "name")):
        if extra_info.type.get_field_index(field_name) >= 0:
            columns[name] = column(extra_info.field(field_name))
    for name in ("data_source", "ability", "agent_name"):
        if name in table.column_names:
            columns[name] = column(table.column(name).combine_chunks())
    prompts = [_release_prompt(row, i) for i, row in enumerate(table.column("prompt").to_pylist())]
    columns["question"] = np.array(prompts, dtype=object)
    if task is None:
        columns["task"] = [_release_task(prompt) for prompt in prompts]
    overviews = [
        _release_overview(images, Path(path).parent, i)
        for i, images in enumerate(table.column("images").to_pylist())
    ]
    return columns, overviews


def _release_prompt(messages, row):
    """The user text of a released row's prompt, without the ``<image>`` that opens it."""
    users = [message["content"] for message in messages or () if message["role"] == "user"]
    if len(users) != 1 or not str(users[0]).startswith(_IMAGE_MARKER):
        raise ValueError(
            f"row {row}: a released prompt has one user message starting with {_IMAGE_MARKER}"
        )
    text = users[0].removeprefix(_IMAGE_MARKER)
    if _IMAGE_MARKER in text:
        raise ValueError(f"row {row}: the prompt shows more than the one full-spectrum image")
    return text


def _release_task(prompt):
    """The task a released prompt asks about: the one whose question it puts."""
    asked = [task for task in task_ids() if get_task(task).question[:-1] in prompt]
    return asked[0] if len(asked) == 1 else task_from_text(prompt)


def _release_overview(images, directory, row):
    """PNG bytes of a released row's full-spectrum image (inline, or the file it names)."""
    if not images or len(images) != 1:
        raise ValueError(f"row {row}: a released row holds one image, got {len(images or ())}")
    image = images[0]
    if image.get("bytes"):
        return image["bytes"]
    if image.get("path"):
        return (directory / image["path"]).read_bytes()
    raise ValueError(f"row {row}: its image has neither bytes nor a path")


class Suite:
    """A labelled vetting benchmark: one YES/NO question per row, in the SpecVI-Bench shape.

    Each question asks whether one spectrum is a genuine member of one task's class. The rows live
    in an `~astropy.table.Table` (``table``) with at least the columns ``id``, ``task`` (a
    registered task id), ``label`` (``"YES"``/``"NO"``) and ``redshift``, and optionally ``file``,
    ``class``, ``subtype``, ``snr`` and any other scalar columns. The spectra are held in the object
    column ``spectrum``; a row whose cell is None is read from its ``file`` when needed, so suites
    built from directories of FITS files stay light.

    Build a suite with :meth:`from_simulation` (directories written by ``spec-o3 simulate``),
    :meth:`from_spectra` (in-memory spectra) or :meth:`read` (a saved suite or SpecVI-Bench-style
    rows), combine suites with :meth:`concatenate`, and save one with :meth:`write`.

    Parameters
    ----------
    table : `~astropy.table.Table`
        The questions. ``task`` values may be task codes (``"cc"``); labels may be any form
        ``parse_label`` reads. A missing ``id`` column is filled with
        row numbers; a missing or masked ``redshift`` becomes NaN, meaning unknown: the agent then
        uses the spectrum's own ``meta["redshift"]``, else 0. Needs a ``spectrum`` or a ``file``
        column.

    Examples
    --------
    >>> import numpy as np, astropy.units as u
    >>> from specutils import Spectrum
    >>> wavelength = np.linspace(3700, 9100, 50) * u.AA
    >>> spectra = [Spectrum(spectral_axis=wavelength, flux=np.ones(50) * u.Jy) for _ in range(3)]
    >>> suite = Suite.from_spectra(spectra, "wd", ["YES", "NO", "NO"])
    >>> suite
    <Suite of 3 questions: white_dwarf 3 (1 YES)>
    >>> print(suite.table)
     id     task    label redshift   spectrum
    --- ----------- ----- -------- ------------
      0 white_dwarf   YES      0.0 Spectrum[50]
      1 white_dwarf    NO      0.0 Spectrum[50]
      2 white_dwarf    NO      0.0 Spectrum[50]
    """

    def __init__(self, table):
        table = Table(table, copy=True)
        missing = [name for name in ("task", "label") if name not in table.colnames]
        if missing:
            raise ValueError(
                f"a suite table needs the columns task and label; missing: {', '.join(missing)}"
            )
        if "spectrum" not in table.colnames and "file" not in table.colnames:
            raise ValueError(
                "a suite table needs a spectrum column or a file column to read spectra from"
            )
        n = len(table)
        table["task"] = np.array([get_task(str(value)).id for value in table["task"]], dtype=str)
        table["label"] = np.array([parse_label(value) for value in table["label"]], dtype=str)
        if "id" in table.colnames:
            table["id"] = np.array([str(value) for value in table["id"]], dtype=str)
        else:
            table.add_column(np.array([str(i) for i in range(n)], dtype=str), name="id", index=0)
        if "redshift" in table.colnames:  # masked (unknown) redshifts become NaN
            table["redshift"] = np.ma.filled(np.ma.asarray(table["redshift"], dtype=float), np.nan)
        else:
            table["redshift"] = np.full(n, np.nan)
        if "spectrum" not in table.colnames:
            table["spectrum"] = _object_column([None] * n)
        leading = ["id", "task", "label", "redshift"]
        self.table = table[leading + [name for name in table.colnames if name not in leading]]
        self.table["spectrum"].info.format = _spectrum_cell_format

    # -- construction
    # -------------------------------------------------------------------------------

    @classmethod
    def from_spectra(cls, spectra, task, labels, *, redshift=None, ids=None, **columns):
        """Build a suite from spectra in memory.

        Parameters
        ----------
        spectra : sequence of `~specutils.Spectrum`
            The spectra, one per question.
        task : str or sequence of str
            The task of every question, or one task per question (ids or codes).
        labels : sequence
            The true answers (``"YES"``/``"NO"``, booleans, ...).
        redshift : float or sequence of float, optional
            Redshifts; by default each spectrum's ``meta["redshift"]``, else 0.
        ids : sequence of str, optional
            Question ids (default: row numbers).
        **columns
            Further per-question columns, e.g. ``snr=[...]``.
        """
        spectra = list(spectra)
        n = len(spectra)
        if not all(isinstance(spectrum, Spectrum) for spectrum in spectra):
            raise ValueError("spectra must all be specutils.Spectrum objects")
        tasks = [task] * n if isinstance(task, str) else list(task)
        if redshift is None:
            redshift = [spectrum.meta.get("redshift", 0.0) for spectrum in spectra]
        table = Table()
        if ids is not None:
            table["id"] = [str(value) for value in ids]
        table["task"] = tasks
        table["label"] = list(labels)
        table["redshift"] = np.broadcast_to(np.asarray(redshift, dtype=float), (n,))
        for name, values in columns.items():
            table[name] = values
        table["spectrum"] = _object_column(spectra)
        return cls(table)

    @classmethod
    def from_simulation(cls, *directories):
        """Build a suite from directories written by ``spec-o3 simulate``.

        Each directory holds FITS spectra and a label table (``labels.ecsv`` or ``labels.csv``) with
        at least the columns ``file`` (relative to the directory), ``task`` and ``label``; further
        columns (``class``, ``subtype``, ``snr``, ``redshift``, ``seed``, ...) are kept. Spectra are
        read from the files only when needed. Question ids are the file names without their
        extension.

        Parameters
        ----------
        *directories : str or `~pathlib.Path`
            One directory per simulated task (or several tasks in one).

        Raises
        ------
        OSError
            If a directory or its label table does not exist.
        """
        if not directories:
            raise ValueError("from_simulation needs at least one directory")
        return cls.concatenate(
            [cls(cls._simulation_table(Path(directory))) for directory in directories]
        )

    @staticmethod
    def _simulation_table(directory):
        if not directory.is_dir():
            raise OSError(f"suite directory {directory} does not exist")
        for name in LABEL_FILES:
            if (directory / name).is_file():
                table = Table.read(
                    directory / name, format="ascii.ecsv" if name.endswith(".ecsv") else "ascii.csv"
                )
                break
        else:
            raise OSError(
                f"{directory} holds no label table ({' or '.join(LABEL_FILES)}); is it a suite?"
            )
        if "file" not in table.colnames:
            raise ValueError(f"label table in {directory} has no 'file' column")
        names = [str(name) for name in table["file"]]
        table["file"] = [str(directory / name) for name in names]
        if "id" not in table.colnames:  # a DESI file holds several targets: each its own id
            stems = [Path(name).name.split(".")[0] for name in names]
            if "targetid" in table.colnames:
                stems = [
                    f"{stem}-{target}"
                    for stem, target in zip(stems, table["targetid"], strict=True)
                ]
            table.add_column(stems, name="id", index=0)
        table.meta.clear()  # per-directory provenance would conflict when directories are stacked
        return table

    @classmethod
    def concatenate(cls, suites):
        """One suite holding the questions of several, in order (missing columns are masked)."""
        suites = list(suites)
        if not suites:
            raise ValueError("nothing to concatenate")
        if len(suites) == 1:
            return suites[0]
        return cls(
            vstack(
                [suite.table for suite in suites], join_type="outer", metadata_conflicts="silent"
            )
        )

    @classmethod
    def read(cls, path, *, task=None):
        """Read a suite: a ``spec-o3 simulate`` directory, or a FITS or Parquet table of questions.

        Tables may be suites saved with :meth:`write`, SpecVI-Bench-style rows whose column names
        are matched tolerantly (see ``COLUMN_ALIASES``), or SpecVI-Bench as released: verl Parquet
        rows with the columns ``prompt`` (chat messages; the user's starts with ``<image>``),
        ``images`` (``{bytes, path}``: the full-spectrum plot), ``reward_model.ground_truth`` and
        ``extra_info.tools_kwargs.spectral_visualization_tool.create_kwargs`` (``wavelength``,
        ``flux``, ``redshift``). Their spectra keep the row's prompt text (without ``<image>``) in
        ``meta["prompt"]`` and the plot's PNG bytes in ``meta["overview"]``, which the
        ``"release"`` protocol shows as the first turn; the prompt is also the ``question``
        column, and each row's task is the one its prompt asks about. A null redshift stays NaN
        (the release inspected such spectra in their observed frame).

        Parameters
        ----------
        path : str or `~pathlib.Path`
            Directory, ``.fits`` or ``.parquet`` file.
        task : str, optional
            Task of every row, for table files that hold a single task and no task or question
            column.
        """
        path = Path(path)
        if path.is_dir():
            if task is not None:
                raise ValueError("task= applies to table files, not to simulate directories")
            return cls.from_simulation(path)
        if not path.is_file():
            raise OSError(f"suite {path} does not exist")
        if path.name.endswith(_FITS_SUFFIXES):
            table = Table.read(path, format="fits")
            columns = {name: table[name] for name in table.colnames}
            units = {
                name: table[name].unit for name in table.colnames if table[name].unit is not None
            }
        elif path.suffix == ".parquet" and _is_release_layout(path):
            return cls._read_release(path, task)
        elif path.suffix == ".parquet":
            columns, units = _arrow.read_parquet(path)
        else:
            raise ValueError(
                f"cannot read suite {path}: expected a directory, .fits or .parquet file"
            )
        return cls._from_array_table(normalise_columns(columns, units=units, task=task))

    @classmethod
    def _read_release(cls, path, task):
        """A suite from SpecVI-Bench's released verl Parquet rows (see `read`)."""
        columns, overviews = _release_columns(path, task)
        suite = cls._from_array_table(normalise_columns(columns, task=task))
        for spectrum, prompt, overview in zip(
            suite.table["spectrum"], columns["question"], overviews, strict=True
        ):
            spectrum.meta.update(prompt=prompt, overview=overview)
        return suite

    @classmethod
    def _from_array_table(cls, table):
        """A suite from a table holding spectra in the array columns :data:`SPECTRUM_COLUMNS`."""
        units = {name: table[name].unit for name in SPECTRUM_COLUMNS}
        spectra = [
            _spectrum_from_arrays(
                np.asarray(row["wavelength"], float) * u.AA,
                np.asarray(row["flux"], float) * units["flux"],
                np.asarray(row["ivar"], float) * units["ivar"],
                np.asarray(row["mask"], bool),
                row["redshift"],
            )
            for row in table
        ]
        table.remove_columns(SPECTRUM_COLUMNS)
        table["spectrum"] = _object_column(spectra)
        return cls(table)

    # -- output
    # -------------------------------------------------------------------------------------

    def write(self, path, *, overwrite=False):
        """Save the suite with its spectra as one FITS or Parquet table.

        Rows keep their scalar columns; each spectrum becomes the array cells ``wavelength`` (Å),
        ``flux`` (one unit for the whole suite, the first spectrum's), ``ivar`` (inverse variance,
        NaN where the spectrum had no uncertainty) and ``mask`` (True where bad). Parquet needs the
        ``spec-o3[parquet]`` extra.

        Parameters
        ----------
        path : str or `~pathlib.Path`
            Output file, ``.fits`` or ``.parquet``.
        overwrite : bool, optional
            Replace an existing file.
        """
        path = Path(path)
        if not (path.name.endswith(_FITS_SUFFIXES) or path.suffix == ".parquet"):
            raise ValueError(f"cannot write suite {path}: use a .fits or .parquet file name")
        if path.exists() and not overwrite:
            raise OSError(f"{path} exists; pass overwrite=True to replace it")
        table = self._array_table()
        if path.suffix == ".parquet":
            columns = {
                name: list(table[name]) if name in SPECTRUM_COLUMNS else table[name]
                for name in table.colnames
            }
            units = {
                name: table[name].unit for name in table.colnames if table[name].unit is not None
            }
            _arrow.write_parquet(path, columns, units)
        else:
            table.write(path, format="fits", overwrite=overwrite)

    def _array_table(self):
        """The question table with each spectrum as wavelength/flux/ivar/mask array cells."""
        spectra = [self.spectrum(i) for i in range(len(self))]
        flux_unit = spectra[0].flux.unit if spectra else u.dimensionless_unscaled
        arrays = {name: [] for name in SPECTRUM_COLUMNS}
        for question_id, spectrum in zip(self.table["id"], spectra, strict=True):
            wavelength = spectrum.spectral_axis.to(u.AA, equivalencies=u.spectral())
            # per-pixel factor: converting between per-Hz and per-Å densities depends on wavelength
            try:
                factor = u.Quantity(np.ones(wavelength.shape), spectrum.flux.unit).to_value(
                    flux_unit, equivalencies=u.spectral_density(wavelength)
                )
            except u.UnitConversionError as error:
                raise ValueError(
                    f"question {question_id}: flux unit differs from the suite's: {error}"
                ) from None
            mask = (
                np.zeros(wavelength.shape, bool)
                if spectrum.mask is None
                else np.asarray(spectrum.mask, bool)
            )
            arrays["wavelength"].append(wavelength.value)
            arrays["flux"].append(spectrum.flux.value * factor)
            arrays["ivar"].append(_inverse_variance(spectrum) / factor**2)
            arrays["mask"].append(mask)
        table = self.table.copy()
        table.remove_column("spectrum")
        units = {"wavelength": u.AA, "flux": flux_unit, "ivar": flux_unit**-2, "mask": None}
        for name in SPECTRUM_COLUMNS:
            table[name] = Column(_object_column(arrays[name]), unit=units[name])
        return table

    # -- access
    # -------------------------------------------------------------------------------------

    def __len__(self):
        return len(self.table)

    def __getitem__(self, item):
        """The questions selected by a slice, index array or boolean mask (an int: one question)."""
        if isinstance(item, (int, np.integer)):
            item = [item]
        if isinstance(item, str):
            raise TypeError("index a suite by rows; use suite.table[name] for a column")
        return type(self)(self.table[item])

    def __repr__(self):
        tasks, yes = self.table["task"], self.table["label"] == "YES"
        counts = ", ".join(
            f"{task} {np.count_nonzero(tasks == task)} ({np.count_nonzero(yes[tasks == task])} YES)"
            for task in self.tasks
        )
        return f"<Suite of {len(self)} questions: {counts or 'empty'}>"

    @property
    def tasks(self):
        """Ids of the tasks asked in this suite, registered tasks in registry order."""
        present = set(self.table["task"])
        return tuple(task for task in task_ids() if task in present)

    def spectrum(self, index):
        """The spectrum of question ``index`` (read from its file when not held in memory).

        Raises
        ------
        OSError
            If the file cannot be read as a spectrum.
        """
        row = self.table[index]
        if row["spectrum"] is not None:
            return row["spectrum"]
        if "targetid" in row.colnames and not np.ma.is_masked(row["targetid"]):
            return read_target(row["file"], int(row["targetid"]))
        try:
            return read_survey_spectrum(row["file"])  # SDSS spec files with spec-o3's reader too
        except IORegistryError as error:  # no reader recognised the file
            raise OSError(
                f"question {row['id']}: cannot read {row['file']} as a spectrum: {error}"
            ) from None

    def select(self, tasks):
        """The questions of some tasks only (ids or codes)."""
        wanted = {get_task(task).id for task in ([tasks] if isinstance(tasks, str) else tasks)}
        return self[np.isin(self.table["task"], list(wanted))]

    def sample(self, limit, *, seed=None):
        """At most ``limit`` questions per task, drawn at random (seeded) and kept in suite order.

        Examples
        --------
        >>> import numpy as np, astropy.units as u
        >>> from specutils import Spectrum
        >>> spectrum = Spectrum(spectral_axis=np.linspace(4000, 5000, 10) * u.AA,
        ...                     flux=np.ones(10) * u.Jy)
        >>> suite = Suite.from_spectra([spectrum] * 6, ["cc"] * 3 + ["wd"] * 3, ["YES", "NO"] * 3)
        >>> len(suite.sample(2, seed=0))
        4
        """
        if int(limit) != limit or limit < 1:
            raise ValueError(f"limit must be a positive integer, got {limit!r}")
        rng = np.random.default_rng(seed)
        keep = np.zeros(len(self), bool)
        for task in self.tasks:
            rows = np.flatnonzero(self.table["task"] == task)
            keep[rng.choice(rows, size=min(int(limit), rows.size), replace=False)] = True
        return self[keep]
