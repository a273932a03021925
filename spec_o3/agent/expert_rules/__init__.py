"""What the scripted astronomer measures in each task's windows, and how it decides.

One assess function per task turns a spectrum (rest frame via its redshift) into an `Assessment`:
the windows worth showing, what was measured in each (with uncertainties), what an astronomer would
say about it, and the verdict. :class:`~spec_o3.agent.backends.expert.ExpertPolicy` narrates an
assessment turn by turn with the agent's tools; the rules need no loop and can be called directly.

The diagnostics are classical ones, defined on flux ratios that survive the relative flux
calibration of survey spectra:

* M dwarf/giant indices TiO5, CaH1, CaH2, CaH3 (Reid, Hawley & Gizis 1995, AJ 110, 1838) and the
  Na I 8189 index (Slesnick, Carpenter & Hillenbrand 2006, AJ 131, 3016): at a given TiO5 the
  gravity-sensitive CaH and Na I absorption of a dwarf is much stronger than a giant's (Lépine,
  Rich & Shara 2003, AJ 125, 1598; Mann et al. 2012, ApJ 753, 90);
* band-head jumps (flux on the absorbing side of a head over flux on the clear side) for C2 Swan
  heads (blue-degraded: 4737, 5165, 5636 Å, and 6191 Å, which tells C2 from TiO in the TiO 6159
  window), TiO and ZrO heads (red-degraded: TiO 6159, 7054;
  ZrO 5551, 6345, 6474 Å; Keenan & Boeshaar 1980, ApJS 43, 379) and CN red heads (7088, 7945 Å);
* Balmer-line profiles: the core depth and the depth 20-40 Å from the line centre, where the
  pressure-broadened wings of a DA white dwarf still absorb but A/B-star lines have recovered;
* emission lines (equivalent width, FWHM, peak significance) of H, He I, He II, and the forbidden
  [O III] line that betrays nebulae, galaxies and quasars.

Band indices are measured with `~spec_o3.analysis.band_strength`, on the same pixels and noise as
the agent's tools. Thresholds were set on real spectra (MILES, STELIB, white-dwarf flux standards,
LAMOST and SDSS stars) degraded to R ~ 1800 with noise added;
``benchmarks/validate_expert_real.py`` reproduces the scores.
"""

from collections.abc import Callable

from spec_o3.tasks import get_task

from .carbon_star import assess_carbon_star
from .cataclysmic_variable import assess_cataclysmic_variable
from .m_giant import assess_m_giant
from .s_star import assess_s_star
from .toolkit import MIN_SNR, Assessment, Measurement, Observation
from .white_dwarf import assess_white_dwarf

__all__ = ["Measurement", "Observation", "Assessment", "assess", "ASSESSORS", "MIN_SNR"]


#: Assess function per task id; add an entry to teach the expert a user-registered task.
ASSESSORS: dict[str, Callable] = {
    "carbon_star": assess_carbon_star,
    "cataclysmic_variable": assess_cataclysmic_variable,
    "m_giant": assess_m_giant,
    "s_star": assess_s_star,
    "white_dwarf": assess_white_dwarf,
}


def assess(spectrum, task, redshift=0.0):
    """Measure a spectrum's diagnostic features for a task and decide, as a scripted astronomer.

    Parameters
    ----------
    spectrum : `~specutils.Spectrum`
        1-D spectrum (any spectral unit; masked pixels and NaNs are ignored).
    task : str or `~spec_o3.tasks.Task`
        Task id or alias, e.g. ``"m_giant"`` or ``"gm"``.
    redshift : float, optional
        Redshift used to move the spectrum to its rest frame.

    Returns
    -------
    assessment : `Assessment`
        Verdict, the windows to inspect with their measurements, and the justification.

    Raises
    ------
    ValueError
        If the expert has no rules for the task.

    Examples
    --------
    >>> import numpy as np, astropy.units as u
    >>> from specutils import Spectrum
    >>> from spec_o3.agent.expert_rules import assess
    >>> wave = np.linspace(3700, 9000, 4000) * u.AA
    >>> flat = Spectrum(flux=np.ones(4000) * u.Jy, spectral_axis=wave)
    >>> assess(flat, "carbon_star").verdict
    'NO'
    """
    task = get_task(task)
    try:
        assessor = ASSESSORS[task.id]
    except KeyError:
        raise ValueError(
            f"the expert has no rules for task {task.id!r}; it knows {', '.join(ASSESSORS)}"
        ) from None
    return assessor(spectrum, float(redshift or 0.0))
