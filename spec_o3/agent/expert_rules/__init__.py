"""What the scripted astronomer measures in each task's windows, and how it decides.

One assess function per task turns a spectrum (rest frame via its redshift) into an `Assessment`:
the windows worth showing, what was measured in each (with uncertainties), what an astronomer would
say about it, and the verdict. Each assess function measures (with the helpers of
:mod:`~spec_o3.agent.expert_rules.toolkit`) and leaves the decision to its task's ordered
`RuleTable` (``spec_o3/data/rules/<task>.yaml``: conditions on the named measurements, verdict,
evidence template and literature source); tasks declared in a task file get a generic assess
function built from the lines and bands they name (:mod:`~spec_o3.agent.expert_rules.declared`).
:class:`~spec_o3.agent.backends.expert.ExpertPolicy` narrates an assessment turn by turn with the
agent's tools; the rules need no loop and can be called directly.

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

from spec_o3.tasks import get_task, task_assessor, task_ids

from .rules import Decision, Rule, RuleTable, Threshold
from .toolkit import MIN_SNR, Assessment, Measurement, Observation, RestSpectrum

__all__ = [
    "Assessment",
    "Decision",
    "MIN_SNR",
    "Measurement",
    "Observation",
    "Rule",
    "RuleTable",
    "Threshold",
    "assess",
    "assess_all",
]


def assess(spectrum, task, redshift=0.0):
    """Measure a spectrum's diagnostic features for a task and decide, as a scripted astronomer.

    Parameters
    ----------
    spectrum : `~specutils.Spectrum` or `~spec_o3.agent.expert_rules.toolkit.RestSpectrum`
        1-D spectrum (any spectral unit; masked pixels and NaNs are ignored), or its rest-frame
        reduction shared with other tasks (see `assess_all`).
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
    assessor = task_assessor(task)
    if assessor is None:
        known = ", ".join(t for t in task_ids() if task_assessor(t) is not None)
        raise ValueError(
            f"the expert has no rules for task {task.id!r} (register it with an assessor or a "
            f"task file); it knows {known}"
        )
    return assessor(spectrum, float(redshift or 0.0))


def assess_all(spectrum, tasks, redshift=0.0):
    """Assess one spectrum for several tasks, reducing it once and measuring shared features once.

    The assessments are those `assess` gives task by task (same verdicts, same evidence), at a
    fraction of the cost: the rest-frame reduction and the band and line measurements the tasks
    have in common (the C2, TiO and ZrO heads, the Balmer lines) are made once.

    Parameters
    ----------
    spectrum : `~specutils.Spectrum`
        1-D spectrum.
    tasks : iterable of str or `~spec_o3.tasks.Task`
        Task ids or aliases.
    redshift : float, optional
        Redshift used to move the spectrum to its rest frame.

    Returns
    -------
    assessments : dict
        `Assessment` per task id, in the order given.

    Examples
    --------
    >>> from spec_o3.agent.expert_rules import assess_all
    >>> from spec_o3.simulate import simulate_spectrum
    >>> star = simulate_spectrum("s_star", seed=2, snr=40)
    >>> assessments = assess_all(star, ["ss", "cc"], star.meta["redshift"])
    >>> {task: assessment.verdict for task, assessment in assessments.items()}
    {'s_star': 'YES', 'carbon_star': 'NO'}
    """
    redshift = float(redshift or 0.0)
    rest = RestSpectrum(spectrum, redshift)
    return {get_task(task).id: assess(rest, task, redshift) for task in tasks}
