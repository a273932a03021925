"""The agent-facing tools: thin JSON-in, text-and-image-out wrappers over :mod:`spec_o3.analysis`.

An `InspectionEnvironment` holds one spectrum, inspected in its rest frame; its public methods
*are* the tools the model may call, with JSON-native arguments and Google-style docstrings from
which :func:`~spec_o3.agent.protocol.tool_schema` derives the schemas shown to the model. The same
class serves the inspection loop and TRL's ``environment_factory`` (``reset(**row)``).

Toolsets: ``"default"`` is the released ``spectral_visualization_tool`` -- its arguments and text;
under the ``"release"`` protocol (`run_tool`) also its schema, plot and lenient handling of
arguments, so the published Spec-o3 checkpoints see the tool they were trained with;
``"extended"`` adds ``identify_lines`` and ``band_strength`` for models trained here.
"""

import contextlib
import inspect
import math
import os
from dataclasses import dataclass, field
from functools import cache

import astropy.units as u
import numpy as np
from specutils import SpectralRegion, Spectrum

from spec_o3.analysis.arrays import (
    MIN_WINDOW_PIXELS,
    check_inspectable,
    check_window,
    spectrum_arrays,
)
from spec_o3.exceptions import UnvettableSpectrum
from spec_o3.io import read_for_inspection

from .protocol import check_protocol, tool_schema

__all__ = [
    "TOOLSETS",
    "InspectionEnvironment",
    "ToolCallError",
    "ToolResult",
    "line_table",
    "REDSHIFT_SOURCES",
    "resolve_redshift",
    "rest_frame",
    "run_tool",
    "tool_schemas",
    "unit_text",
    "windows_without_data",
]

#: Tool names offered by each toolset, in the order they are listed to the model.
TOOLSETS = {
    "default": ("spectral_visualization_tool",),
    "extended": ("spectral_visualization_tool", "identify_lines", "band_strength"),
}

#: Where the redshift of the rest frame came from -- the spectrum's file (or ``meta``), the caller,
#: a measurement, or the task's assumption when nothing else gave one -- as a person reads it.
REDSHIFT_SOURCES = {
    "file": "from the file",
    "user": "user: given to spec-o3, not read from the file",
    "measured": "measured by spec-o3",
    "assumed": "assumed: no redshift in the file",
    "redrock": "from the redrock redshift catalogue beside the file",
}

# Keep tool responses well under the released models' 1,024-token cap.
_MAX_LINES_LISTED = 15


class ToolCallError(ValueError):
    """An invalid tool call; the message is sent back to the model as the tool response."""


@dataclass
class ToolResult:
    """What a tool returns.

    Attributes
    ----------
    text : str
        The text the model reads.
    image : `PIL.Image.Image` or None
        The plot the model sees (``None`` for text-only tools or with images switched off).
    data : dict
        JSON-native measurements (kept on the trajectory step; the model does not see them).
    window : `~specutils.SpectralRegion` or None
        The rest-frame window the call examined.
    """

    text: str
    image: object = None
    data: dict = field(default_factory=dict)
    window: SpectralRegion | None = None

    def __str__(self):
        return self.text


class InspectionEnvironment:
    """One spectrum, inspected in its rest frame, behind the tools an agent may call.

    Parameters
    ----------
    spectrum : `~specutils.Spectrum`, str or path-like, optional
        The spectrum (or a file `~specutils.Spectrum.read` understands). May be left out and given
        later to :meth:`reset`, which is how TRL builds environments.
    redshift : float, optional
        Redshift of the rest frame the tools work in; defaults to ``spectrum.meta["redshift"]``,
        else ``assumed_redshift`` (see `~spec_o3.agent.tools.rest_frame`).
    source : str, optional
        How error messages name the spectrum (default: its file, or ``meta["source"]``).
    assumed_redshift : float or None, optional
        The redshift used when neither ``redshift`` nor the spectrum gives one; ``None`` makes a
        missing redshift an error.
    toolset : {"default", "extended"}
        Which tools are offered (see ``TOOLSETS``).
    render_images : bool
        Whether the visualisation tool renders its plot; ``False`` returns the text only (fast batch
        vetting with the scripted expert).

    Examples
    --------
    >>> import numpy as np, astropy.units as u
    >>> from specutils import Spectrum
    >>> wavelength = np.linspace(4000, 6000, 500) * u.AA
    >>> spectrum = Spectrum(flux=np.ones(500) * u.Jy, spectral_axis=wavelength)
    >>> env = InspectionEnvironment(spectrum, redshift=0.0)
    >>> result = env.spectral_visualization_tool([4950, 5250], "C2 Swan 5165")
    >>> print(result.text)
    Generated spectral visualization focused on wavelength range (4950, 5250) Å for C2 Swan 5165.
    >>> result.image.size
    (640, 400)
    """

    def __init__(
        self,
        spectrum=None,
        *,
        redshift=None,
        source=None,
        assumed_redshift=0.0,
        toolset="default",
        render_images=True,
    ):
        if toolset not in TOOLSETS:
            raise ValueError(f"unknown toolset {toolset!r}; choose one of {', '.join(TOOLSETS)}")
        self.toolset = toolset
        self.render_images = bool(render_images)
        self.assumed_redshift = assumed_redshift
        self.spectrum = self.redshift = self.redshift_source = self._arrays = None
        self._windows = {}
        if spectrum is not None:
            self.reset(spectrum, redshift=redshift, source=source)

    def reset(self, spectrum, redshift=None, source=None, **row):
        """Load a new spectrum (TRL calls this with a dataset row; extra columns are ignored).

        Raises
        ------
        UnvettableSpectrum
            If the file cannot be read, or the spectrum holds nothing to inspect (see
            `~spec_o3.analysis.arrays.check_inspectable`); the message names the file.
        """
        if isinstance(spectrum, (str, os.PathLike)):
            source = os.fspath(spectrum)
            spectrum = read_for_inspection(source)
        if not isinstance(spectrum, Spectrum):
            raise UnvettableSpectrum(
                source,
                f"expected a specutils Spectrum or a file name, got {type(spectrum).__name__}",
            )
        source = source or (spectrum.meta or {}).get("source")
        self.redshift, self.redshift_source = rest_frame(
            spectrum, redshift, assumed=self.assumed_redshift, source=source
        )
        self._windows = {}  # what _pixels worked out on the previous spectrum
        try:
            self._arrays = spectrum_arrays(spectrum, self.redshift)
            check_inspectable(self._arrays)
        except ValueError as error:
            raise UnvettableSpectrum(source, error) from None
        self.spectrum = spectrum

    @property
    def data_range(self):
        """Text of the rest-frame wavelength range that the valid pixels cover."""
        return self._arrays.data_range

    @property
    def arrays(self):
        """The spectrum reduced to arrays in the rest frame
        (`~spec_o3.analysis.arrays.SpectrumArrays`), which the tools compute on."""
        return self._arrays

    # ----------------------------------------------------------------------------------------------
    # The tools. Their docstrings are shown to the model: keep them short and in Google style.
    # ----------------------------------------------------------------------------------------------

    def spectral_visualization_tool(
        self, wavelength_range: list[float], label: str | None = None
    ) -> ToolResult:
        """Plot the spectrum in a rest-frame wavelength window to examine a feature in detail.

        Args:
            wavelength_range: The [min, max] rest-frame wavelength range to plot, in Angstroms.
            label: What feature is being examined, e.g. "C2 Swan band 5165".
        """
        if label is not None and not isinstance(label, str):
            raise ToolCallError(f"label must be a string, got {label!r}")
        lower, upper, pixels = self._window(wavelength_range)
        window = SpectralRegion(u.Quantity(lower, u.AA), u.Quantity(upper, u.AA))
        flux = self._arrays.flux[pixels][self._arrays.good[pixels]]
        data = {
            "wavelength_range": [lower, upper],
            "label": label,
            "n_points": int(flux.size),
            "flux_range": [float(flux.min()), float(flux.max())],
            "flux_unit": unit_text(self._arrays.flux_unit),
        }
        image = None
        if self.render_images:
            from spec_o3.analysis import render_window

            image = render_window(
                self.spectrum, window, redshift=self.redshift, title=label or None
            )
        return ToolResult(_visualization_text(wavelength_range, label), image, data, window)

    def identify_lines(self, wavelength_range: list[float]) -> ToolResult:
        """List atomic lines detected in a rest-frame wavelength window, with strength and width.

        Args:
            wavelength_range: The [min, max] rest-frame wavelength range to search, in Angstroms.
        """
        from spec_o3.analysis import identify_lines

        lower, upper, _ = self._window(wavelength_range)
        window = SpectralRegion(lower * u.AA, upper * u.AA)
        table = identify_lines(self.spectrum, window, redshift=self.redshift)
        rows = [
            {
                "name": str(row["name"]),
                "rest_wavelength": float(row["rest_wavelength"].to_value(u.AA)),
                "kind": str(row["kind"]),
                "significance": float(row["significance"]),
                "equivalent_width": float(row["equivalent_width"].to_value(u.AA)),
                "fwhm": float(row["fwhm"].to_value(u.AA)),
            }
            for row in table
        ]
        strongest = sorted(rows, key=lambda line: -line["significance"])[:_MAX_LINES_LISTED]
        listed = "\n".join(
            f"- {line['name']} ({line['rest_wavelength']:.1f} Å): {line['kind']}, "
            f"{line['significance']:.1f} sigma, equivalent width {line['equivalent_width']:.2f} Å, "
            f"FWHM {line['fwhm']:.1f} Å"
            for line in sorted(strongest, key=lambda line: line["rest_wavelength"])
        )
        span = f"({wavelength_range[0]}, {wavelength_range[1]}) Å"
        text = f"Lines detected in {span}:\n{listed}" if rows else f"No lines detected in {span}."
        return ToolResult(text, None, {"wavelength_range": [lower, upper], "lines": rows}, window)

    def band_strength(self, band: str) -> ToolResult:
        """Measure a molecular band's depth below its continuum (0: no band; larger: deeper).

        Args:
            band: Band name made of molecule and bandhead in Angstroms, e.g. "C2_5165",
                "TiO_7054", "ZrO_6474".
        """
        from spec_o3.analysis import band_strength
        from spec_o3.catalog import get_band

        if not isinstance(band, str):
            raise ToolCallError(f"band must be a string such as 'TiO_7054', got {band!r}")
        try:  # unknown band, or its windows without valid pixels: the model may retry
            depth = band_strength(self.spectrum, band, redshift=self.redshift)
        except ValueError as error:
            raise ToolCallError(str(error)) from None
        meta = depth.info.meta or {}
        row = get_band(band)
        lower, upper = (float(row[edge].to_value(u.AA)) for edge in ("band_min", "band_max"))
        value = float(depth.to_value(u.dimensionless_unscaled))
        uncertainty = meta.get("uncertainty")
        if uncertainty is not None:
            uncertainty = float(u.Quantity(uncertainty).to_value(u.dimensionless_unscaled))
        data = {
            "band": band,
            "depth": value,
            "uncertainty": uncertainty,
            "continuum": meta.get("continuum"),
            "wavelength_range": [lower, upper],
        }
        plus_minus = f" ± {uncertainty:.3f}" if uncertainty is not None else ""
        one_sided = (
            ""
            if meta.get("continuum", "blue and red") == "blue and red"
            else (f" (continuum from the {meta['continuum']} window only)")
        )
        text = f"Band {band} ({lower:.0f}-{upper:.0f} Å): depth {value:.3f}{plus_minus}{one_sided}."
        return ToolResult(text, None, data, SpectralRegion(lower * u.AA, upper * u.AA))

    # ----------------------------------------------------------------------------------------------

    def _window(self, wavelength_range):
        """Check a ``[min, max]`` rest-frame window in Å; return its edges and its pixel slice."""
        if not (
            isinstance(wavelength_range, (list, tuple))
            and len(wavelength_range) == 2
            and _is_number(wavelength_range[0])
            and _is_number(wavelength_range[1])
        ):
            raise ToolCallError(
                "wavelength_range must be a list of two numbers [min, max] in Å, got "
                f"{wavelength_range!r}"
            )
        lower, upper = float(wavelength_range[0]), float(wavelength_range[1])
        if not lower < upper:
            raise ToolCallError(f"wavelength_range must have min < max, got [{lower:g}, {upper:g}]")
        try:
            pixels = self._pixels(lower, upper)
        except ValueError as error:  # outside the data, or too few valid pixels: may retry
            raise ToolCallError(str(error)) from None
        return lower, upper, pixels

    def _pixels(self, lower, upper):
        """`~spec_o3.analysis.arrays.check_window` of [lower, upper] Å on this spectrum, worked
        out once per window: the tasks of a spectrum look at many of the same windows."""
        key = (lower, upper)
        if key not in self._windows:
            try:
                self._windows[key] = check_window(self._arrays, lower, upper)
            except ValueError as error:
                self._windows[key] = str(error)
        pixels = self._windows[key]
        if isinstance(pixels, str):
            raise ValueError(pixels)
        return pixels


def windows_without_data(environment, windows, *, observed=False):
    """The labels of the rest-frame ``windows`` (`~spec_o3.tasks.DiagnosticWindow`) that hold
    too few valid pixels of ``environment``'s spectrum to be shown (outside it, or in a gap);
    with ``observed=True``, of the same windows taken as observed-frame wavelengths."""
    if not windows:
        return []
    shift = 1 + environment.redshift if observed else 1
    lower, upper = np.array([window.bounds for window in windows]).T / shift
    # `~spec_o3.analysis.arrays.check_window`'s test, for all the windows in one go
    valid = environment.arrays.window_valid(lower, upper)[2].tolist()
    return [
        window.label
        for window, n_valid in zip(windows, valid, strict=True)
        if n_valid < MIN_WINDOW_PIXELS
    ]


def rest_frame(spectrum, redshift=None, *, assumed=0.0, source=None):
    """The redshift of the rest frame to inspect ``spectrum`` in, and where it came from.

    In order: ``redshift`` if given (source ``"user"``), else the redshift stored with the
    spectrum, ``spectrum.meta["redshift"]`` (``"file"``, or ``meta["redshift_source"]`` when a
    reader took it from elsewhere, e.g. ``"redrock"``), else ``assumed`` (``"assumed"``).

    Parameters
    ----------
    spectrum : `~specutils.Spectrum`
    redshift : float, optional
        The caller's redshift.
    assumed : float or None, optional
        The redshift to assume when neither gives one (a task's ``assumed_redshift``); ``None``
        makes that an error.
    source : str, optional
        How error messages name the spectrum (its file).

    Returns
    -------
    redshift : float
    redshift_source : str
        One of ``REDSHIFT_SOURCES``.

    Raises
    ------
    ValueError
        If ``redshift`` is not a finite number above -1.
    UnvettableSpectrum
        If no redshift is given or stored and ``assumed`` is ``None``.

    Examples
    --------
    >>> import numpy as np, astropy.units as u
    >>> from specutils import Spectrum
    >>> star = Spectrum(flux=np.ones(3) * u.Jy, spectral_axis=[1, 2, 3] * u.AA)
    >>> rest_frame(star), rest_frame(star, 0.001)
    ((0.0, 'assumed'), (0.001, 'user'))
    """
    if redshift is not None:
        return _checked_redshift(redshift), "user"
    stored = (spectrum.meta or {}).get("redshift")
    if stored is not None:
        try:
            return _checked_redshift(stored), spectrum.meta.get("redshift_source", "file")
        except ValueError:  # a pipeline's failure value (NaN, -9999) means "no redshift stored"
            pass
    if assumed is None:
        raise UnvettableSpectrum(
            source,
            "no redshift is stored with the spectrum and this task needs one: pass redshift=... "
            "(or a redshift column in the catalogue)",
        )
    return _checked_redshift(assumed), "assumed"


def resolve_redshift(spectrum, redshift=None):
    """The redshift to use: ``redshift`` if given, else ``spectrum.meta["redshift"]``, else 0.

    Examples
    --------
    >>> import numpy as np, astropy.units as u
    >>> from specutils import Spectrum
    >>> spectrum = Spectrum(flux=np.ones(3) * u.Jy, spectral_axis=[1, 2, 3] * u.AA,
    ...                     meta={"redshift": 0.1})
    >>> resolve_redshift(spectrum), resolve_redshift(spectrum, 0)
    (0.1, 0.0)
    """
    return rest_frame(spectrum, redshift)[0]


def _checked_redshift(redshift):
    try:
        redshift = float(redshift)
    except (TypeError, ValueError):
        raise ValueError(f"redshift must be a number, got {redshift!r}") from None
    if not math.isfinite(redshift) or redshift <= -1:
        raise ValueError(f"redshift must be finite and above -1, got {redshift}")
    return redshift


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def line_table(spectrum, redshift, windows):
    """Lines identified (`~spec_o3.analysis.identify_lines`) in rest-frame ``windows``, each once.

    Returns
    -------
    lines : `~astropy.table.QTable`
        The columns of `~spec_o3.analysis.identify_lines`, sorted by wavelength (empty without
        windows).
    """
    from astropy.table import unique, vstack

    from spec_o3.analysis import identify_lines

    if not windows:
        return identify_lines(spectrum, redshift=redshift)[:0]
    tables = [identify_lines(spectrum, window, redshift=redshift) for window in windows]
    # Overlapping windows find the same line twice; its measurement does not depend on the window.
    lines = unique(vstack(tables, metadata_conflicts="silent"), keys="name")
    lines.sort("rest_wavelength")
    return lines


@cache
def tool_schemas(toolset="default"):
    """The JSON schemas of a toolset's tools, in the order they are shown to the model.

    Examples
    --------
    >>> [schema["function"]["name"] for schema in tool_schemas("extended")]
    ['spectral_visualization_tool', 'identify_lines', 'band_strength']
    """
    if toolset not in TOOLSETS:
        raise ValueError(f"unknown toolset {toolset!r}; choose one of {', '.join(TOOLSETS)}")
    return tuple(tool_schema(getattr(InspectionEnvironment, name)) for name in TOOLSETS[toolset])


def run_tool(environment, name, arguments, *, protocol="spec-o3"):
    """Validate and execute one tool call on ``environment``.

    Parameters
    ----------
    environment : `InspectionEnvironment`
    name : str
        Tool name, one of the environment's toolset.
    arguments : dict
        JSON arguments as the model wrote them.
    protocol : {"spec-o3", "release"}, optional
        ``"release"`` runs the visualisation tool as the released checkpoints were trained with
        it: unknown arguments are ignored, no ``wavelength_range`` plots the whole spectrum, the
        plot is in the released style and the texts are the released ones (see
        :ref:`protocol-profiles`).

    Returns
    -------
    result : `ToolResult`

    Raises
    ------
    ToolCallError
        For an unknown tool, missing or unexpected arguments, or arguments the tool rejects; the
        message is written for the model.

    Examples
    --------
    >>> import numpy as np, astropy.units as u
    >>> from specutils import Spectrum
    >>> spectrum = Spectrum(flux=np.ones(500) * u.Jy,
    ...                     spectral_axis=np.linspace(4000, 6000, 500) * u.AA)
    >>> env = InspectionEnvironment(spectrum, redshift=0.0, render_images=False)
    >>> print(run_tool(env, "spectral_visualization_tool", {"zoom": 2}, protocol="release"))
    Generated full spectrum visualization.
    >>> run_tool(env, "spectral_visualization_tool", {"wavelength_range": [7000, 8000]},
    ...          protocol="release")
    Traceback (most recent call last):
    ...
    spec_o3.agent.tools.ToolCallError: The specified wavelength range [7000, 8000] is invalid or \
outside the available data range [4000.0, 6000.0].
    """
    offered = TOOLSETS[environment.toolset]
    if name not in offered:
        raise ToolCallError(f"unknown tool {name!r}; available tools: {', '.join(offered)}")
    if check_protocol(protocol) == "release":
        return _release_visualization(
            environment, arguments.get("wavelength_range"), arguments.get("label")
        )
    signature, accepted, required = _tool_signature(type(environment), name)
    if not (isinstance(arguments, dict) and required <= arguments.keys() <= accepted):
        # binding them says what is wrong
        try:
            signature.bind(**arguments)
        except TypeError as error:
            listed = ", ".join(signature.parameters)
            raise ToolCallError(f"{name}: {error} (arguments: {listed})") from None
    return getattr(environment, name)(**arguments)


@cache
def _tool_signature(environment_type, name):
    """The signature of a tool as the model calls it (without ``self``), the names of its
    arguments and of those it needs, worked out once."""
    signature = inspect.signature(getattr(environment_type, name))
    parameters = list(signature.parameters.values())[1:]
    accepted = frozenset(parameter.name for parameter in parameters)
    required = frozenset(p.name for p in parameters if p.default is inspect.Parameter.empty)
    return signature.replace(parameters=parameters), accepted, required


@cache
def unit_text(unit):
    """``unit.to_string()``, worked out once per unit (astropy formats it anew on every call).

    Examples
    --------
    >>> import astropy.units as u
    >>> unit_text(u.erg / u.s / u.cm**2 / u.AA)
    'erg / (Angstrom s cm2)'
    """
    return unit.to_string()


def _release_visualization(environment, wavelength_range, label):
    """The released ``spectral_visualization_tool``: every pixel counts, masked ones included."""
    arrays = environment._arrays
    if wavelength_range is None:
        pixels, window = slice(None), None
    else:
        pixels = _release_window(arrays, wavelength_range)
        window = SpectralRegion(*(float(edge) * u.AA for edge in wavelength_range))
    flux = arrays.flux[pixels]
    flux = flux[np.isfinite(flux)]
    data = {
        "wavelength_range": None if window is None else [float(edge) for edge in wavelength_range],
        "label": label,
        "n_points": int(arrays.wavelength[pixels].size),
        "flux_range": [float(flux.min()), float(flux.max())],
        "flux_unit": unit_text(arrays.flux_unit),
    }
    image = None
    if environment.render_images:
        from spec_o3.analysis import render_window

        region = None if window is None else (window.lower, window.upper)
        image = render_window(
            environment.spectrum, region, redshift=environment.redshift, style="release"
        )
    return ToolResult(_visualization_text(wavelength_range, label), image, data, window)


def _visualization_text(wavelength_range, label):
    """The visualisation tool's text, as the released tool wrote it (the range as given)."""
    about = f" for {label}" if label else ""
    if wavelength_range is None:
        return f"Generated full spectrum visualization{about}."
    lo, hi = wavelength_range
    return f"Generated spectral visualization focused on wavelength range ({lo}, {hi}) Å{about}."


def _release_window(arrays, wavelength_range):
    """The pixels of a released-tool window; ToolCallError in the released words if it is not one
    (not two increasing numbers, or fewer than two pixels in it)."""
    from spec_o3.analysis.render_release import release_pixels

    pair = isinstance(wavelength_range, (list, tuple)) and len(wavelength_range) == 2
    if pair and all(_is_number(edge) for edge in wavelength_range):
        lo, hi = (float(edge) for edge in wavelength_range)
        with contextlib.suppress(ValueError):  # reversed, or no data there: the error below
            return release_pixels(arrays, lo, hi)
    shown = f"[{wavelength_range[0]}, {wavelength_range[1]}]" if pair else str(wavelength_range)
    raise ToolCallError(
        f"The specified wavelength range {shown} is invalid or outside the available data "
        f"range [{arrays.wavelength[0]:.1f}, {arrays.wavelength[-1]:.1f}]."
    )
