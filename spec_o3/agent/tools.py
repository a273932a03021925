"""The agent-facing tools: thin JSON-in, text-and-image-out wrappers over :mod:`spec_o3.analysis`.

An `InspectionEnvironment` holds one spectrum shifted to its rest frame; its public methods *are* the
tools the model may call, with JSON-native arguments and Google-style docstrings from which
:func:`~spec_o3.agent.protocol.tool_schema` derives the schemas shown to the model. The same class
serves the inspection loop and TRL's ``environment_factory`` (``reset(**row)``).

Toolsets: ``"default"`` is exactly the released ``spectral_visualization_tool``, so the published
Spec-o3 checkpoints see the tool they were trained with; ``"extended"`` adds ``identify_lines`` and
``band_strength`` for models trained here.
"""

import inspect
import math
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import astropy.units as u
import numpy as np
from specutils import SpectralRegion, Spectrum

from .protocol import tool_schema

__all__ = [
    "TOOLSETS",
    "InspectionEnvironment",
    "ToolCallError",
    "ToolResult",
    "resolve_redshift",
    "run_tool",
    "tool_schemas",
]

#: Tool names offered by each toolset, in the order they are listed to the model.
TOOLSETS = {
    "default": ("spectral_visualization_tool",),
    "extended": ("spectral_visualization_tool", "identify_lines", "band_strength"),
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
    """One spectrum, in its rest frame, behind the tools an agent may call.

    Parameters
    ----------
    spectrum : `~specutils.Spectrum`, str or path-like, optional
        The spectrum (or a file `~specutils.Spectrum.read` understands). May be left out and given
        later to :meth:`reset`, which is how TRL builds environments.
    redshift : float, optional
        Redshift used to shift to the rest frame; defaults to ``spectrum.meta["redshift"]``, else 0.
    toolset : {"default", "extended"}
        Which tools are offered (see :data:`TOOLSETS`).
    render_images : bool
        Whether the visualisation tool renders its plot; ``False`` returns the text only (fast batch
        vetting with the scripted expert).

    Examples
    --------
    >>> import numpy as np, astropy.units as u
    >>> from specutils import Spectrum
    >>> spectrum = Spectrum(flux=np.ones(500) * u.Jy, spectral_axis=np.linspace(4000, 6000, 500) * u.AA)
    >>> env = InspectionEnvironment(spectrum, redshift=0.0, render_images=False)
    >>> print(env.spectral_visualization_tool([4950, 5250], "C2 Swan 5165"))
    Generated spectral visualization focused on wavelength range (4950, 5250) Å for C2 Swan 5165.
    """

    def __init__(self, spectrum=None, *, redshift=None, toolset="default", render_images=True):
        if toolset not in TOOLSETS:
            raise ValueError(f"unknown toolset {toolset!r}; choose one of {', '.join(TOOLSETS)}")
        self.toolset = toolset
        self.render_images = bool(render_images)
        self.spectrum = self.rest_spectrum = self.redshift = None
        if spectrum is not None:
            self.reset(spectrum, redshift=redshift)

    def reset(self, spectrum, redshift=None, **row):
        """Load a new spectrum (TRL calls this with a dataset row; extra columns are ignored)."""
        if isinstance(spectrum, (str, Path)):
            spectrum = Spectrum.read(spectrum)
        if not isinstance(spectrum, Spectrum) or spectrum.flux.ndim != 1:
            raise ValueError(f"expected a one-dimensional specutils Spectrum, got {spectrum!r:.80}")
        self.spectrum = spectrum
        self.redshift = resolve_redshift(spectrum, redshift)
        self.rest_spectrum = _rest_frame(spectrum, self.redshift)

    # ----------------------------------------------------------------------------------------------
    # The tools. Their docstrings are shown to the model: keep them short and in Google style.
    # ----------------------------------------------------------------------------------------------

    def spectral_visualization_tool(self, wavelength_range: list[float], label: str | None = None) -> ToolResult:
        """Plot the spectrum in a rest-frame wavelength window to examine a spectral feature in detail.

        Args:
            wavelength_range: The [min, max] rest-frame wavelength range to plot, in Angstroms.
            label: What feature is being examined, e.g. "C2 Swan band 5165".
        """
        lower, upper = self._window(wavelength_range)
        if label is not None and not isinstance(label, str):
            raise ToolCallError(f"label must be a string, got {label!r}")
        window = SpectralRegion(lower * u.AA, upper * u.AA)
        in_window = self._pixels(lower, upper)
        flux = self.rest_spectrum.flux[in_window]
        data = {
            "wavelength_range": [lower, upper],
            "label": label,
            "n_points": int(in_window.sum()),
            "flux_range": [float(np.min(flux.value)), float(np.max(flux.value))],
            "flux_unit": flux.unit.to_string(),
        }
        image = None
        if self.render_images:
            from spec_o3.analysis import render_window

            image = render_window(self.rest_spectrum, window)
        lo, hi = wavelength_range
        about = f" for {label}" if label else ""
        text = f"Generated spectral visualization focused on wavelength range ({lo}, {hi}) Å{about}."
        return ToolResult(text, image, data, window)

    def identify_lines(self, wavelength_range: list[float]) -> ToolResult:
        """List the atomic lines detected in a rest-frame wavelength window, with their significance.

        Args:
            wavelength_range: The [min, max] rest-frame wavelength range to search, in Angstroms.
        """
        from spec_o3.analysis import identify_lines

        lower, upper = self._window(wavelength_range)
        self._pixels(lower, upper)
        window = SpectralRegion(lower * u.AA, upper * u.AA)
        table = identify_lines(self.rest_spectrum, window)
        rows = [
            {
                "name": str(row["name"]),
                "rest_wavelength": float(row["rest_wavelength"].to_value(u.AA)),
                "kind": str(row["kind"]),
                "significance": float(row["significance"]),
            }
            for row in table
        ]
        rows.sort(key=lambda line: -abs(line["significance"]))
        listed = "\n".join(
            f"- {line['name']} ({line['rest_wavelength']:.1f} Å): {line['kind']}, "
            f"significance {line['significance']:.1f}"
            for line in rows[:_MAX_LINES_LISTED]
        )
        span = f"({wavelength_range[0]}, {wavelength_range[1]}) Å"
        text = f"Lines detected in {span}:\n{listed}" if rows else f"No lines detected in {span}."
        return ToolResult(text, None, {"wavelength_range": [lower, upper], "lines": rows}, window)

    def band_strength(self, band: str) -> ToolResult:
        """Measure the depth of a molecular band against its continuum (0 = no band, larger = deeper).

        Args:
            band: Band name made of molecule and bandhead in Angstroms, e.g. "C2_5165", "TiO_7054", "ZrO_6474".
        """
        from spec_o3.analysis import band_strength
        from spec_o3.catalog import get_band

        if not isinstance(band, str):
            raise ToolCallError(f"band must be a string such as 'TiO_7054', got {band!r}")
        try:
            row = get_band(band)
        except ValueError as error:
            raise ToolCallError(str(error)) from None
        lower, upper = (float(row[edge].to_value(u.AA)) for edge in ("band_min", "band_max"))
        self._pixels(lower, upper)
        depth = band_strength(self.rest_spectrum, band)
        value = float(u.Quantity(depth).to_value(u.dimensionless_unscaled))
        uncertainty = _uncertainty(depth)
        data = {"band": band, "depth": value, "uncertainty": uncertainty, "wavelength_range": [lower, upper]}
        error_text = f" ± {uncertainty:.3f}" if uncertainty is not None else ""
        text = f"Band {band} ({lower:.0f}-{upper:.0f} Å): depth {value:.3f}{error_text}."
        return ToolResult(text, None, data, SpectralRegion(lower * u.AA, upper * u.AA))

    # ----------------------------------------------------------------------------------------------

    def _window(self, wavelength_range):
        """Validate a ``[min, max]`` window in Å against the data; return it as two floats."""
        if (
            not isinstance(wavelength_range, (list, tuple))
            or len(wavelength_range) != 2
            or not all(_is_number(value) for value in wavelength_range)
        ):
            raise ToolCallError(
                f"wavelength_range must be a list of two numbers [min, max] in Å, got {wavelength_range!r}"
            )
        lower, upper = (float(value) for value in wavelength_range)
        if not lower < upper:
            raise ToolCallError(f"wavelength_range must have min < max, got [{lower:g}, {upper:g}]")
        first, last = self._coverage
        if upper <= first or lower >= last:
            raise ToolCallError(
                f"wavelength range [{lower:g}, {upper:g}] Å lies outside the data, which cover "
                f"{first:.0f}-{last:.0f} Å in the rest frame"
            )
        return lower, upper

    @property
    def _coverage(self):
        axis = self.rest_spectrum.spectral_axis.to_value(u.AA)
        return float(axis.min()), float(axis.max())

    def _pixels(self, lower, upper):
        """Boolean mask of the good pixels in ``[lower, upper]`` Å; a window without data is an error."""
        axis = self.rest_spectrum.spectral_axis.to_value(u.AA)
        good = (axis >= lower) & (axis <= upper) & np.isfinite(self.rest_spectrum.flux.value)
        if self.rest_spectrum.mask is not None:
            good &= ~np.asarray(self.rest_spectrum.mask, dtype=bool)
        if good.sum() < 2:
            raise ToolCallError(f"the window [{lower:g}, {upper:g}] Å holds fewer than two valid pixels")
        return good


def resolve_redshift(spectrum, redshift=None):
    """The redshift to use: ``redshift`` if given, else ``spectrum.meta["redshift"]``, else 0."""
    if redshift is None:
        redshift = (spectrum.meta or {}).get("redshift", 0.0)
    try:
        redshift = float(redshift)
    except (TypeError, ValueError):
        raise ValueError(f"redshift must be a number, got {redshift!r}") from None
    if not math.isfinite(redshift) or redshift <= -1:
        raise ValueError(f"redshift must be finite and above -1, got {redshift}")
    return redshift


def _rest_frame(spectrum, redshift):
    """The spectrum on a rest-frame wavelength axis in Å (the flux is left as measured)."""
    axis = spectrum.spectral_axis.to(u.AA, equivalencies=u.spectral())
    return Spectrum(
        flux=spectrum.flux,
        spectral_axis=axis / (1 + redshift),
        uncertainty=spectrum.uncertainty,
        mask=spectrum.mask,
        meta=spectrum.meta,
    )


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _uncertainty(depth):
    """The 1-sigma uncertainty `band_strength` attaches to its depth, as a float (None if absent)."""
    meta = getattr(depth, "info", None) and depth.info.meta
    value = (meta or {}).get("uncertainty")
    if value is None:
        return None
    return float(u.Quantity(value).to_value(u.dimensionless_unscaled))


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


def run_tool(environment, name, arguments):
    """Validate and execute one tool call on ``environment``.

    Parameters
    ----------
    environment : `InspectionEnvironment`
    name : str
        Tool name, one of the environment's toolset.
    arguments : dict
        JSON arguments as the model wrote them.

    Returns
    -------
    result : `ToolResult`

    Raises
    ------
    ToolCallError
        For an unknown tool, missing or unexpected arguments, or arguments the tool rejects; the
        message is written for the model.
    """
    offered = TOOLSETS[environment.toolset]
    if name not in offered:
        raise ToolCallError(f"unknown tool {name!r}; available tools: {', '.join(offered)}")
    tool = getattr(environment, name)
    try:
        inspect.signature(tool).bind(**arguments)
    except TypeError as error:
        accepted = ", ".join(inspect.signature(tool).parameters)
        raise ToolCallError(f"{name}: {error} (arguments: {accepted})") from None
    return tool(**arguments)
