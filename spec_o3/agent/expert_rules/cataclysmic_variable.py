"""The scripted astronomer's rules for cataclysmic variables."""

from spec_o3.tasks import get_task

from ._common import (
    CV_LINES,
    EMISSION_EW,
    MIN_SNR,
    TIO_HEADS,
    _continuum_colour,
    _depth,
    _describe_colour,
    _detected,
    _listed,
    _noisy_no,
    _Notebook,
    _overview,
    _present,
    _RestSpectrum,
    _window_for,
)

__all__ = ["assess_cataclysmic_variable"]


HELIUM_EW = 1.5
#: Disc lines are broad: Be stars and dMe flares give near-instrumental H alpha (<= 10 Å at R~1800),
#: CV discs FWHM ~ 700-2500 km/s (15-55 Å).
CV_HALPHA_FWHM = 14.0
#: A nebula, galaxy or quasar when [O III] 5007 exceeds this fraction of the H beta emission (CV
#: discs show no forbidden lines; broad-line AGN have [O III]/H beta ~ 0.1-1, nebulae far more).
FORBIDDEN_RATIO = 0.3
#: Helium emission this many times stronger than H beta is the mark of a Wolf-Rayet star.
HELIUM_DOMINANT = 1.5
#: Galactic objects sit at |z| < 0.002 (600 km/s).
MAX_GALACTIC_Z = 0.002


def _ew(measure):
    return measure["ew"].value.value if measure is not None else 0.0


def _emission_note(name, measure, found):
    ew = measure["ew"]
    if found:
        return (
            f"{name} is in emission: EW {ew.short}, FWHM {measure['fwhm'].short}, "
            f"peak {measure['peak']:.0f} sigma"
        )
    if ew.value.value < -3 * ew.uncertainty.value:
        return f"{name} is in absorption, not emission (emission EW {ew.short})"
    return f"no {name} emission (EW {ew.short})"


def assess_cataclysmic_variable(spectrum, redshift=0.0):
    """Cataclysmic variable: broad Balmer and He I/He II emission at z~0, no forbidden lines."""
    task, rest = get_task("cataclysmic_variable"), _RestSpectrum(spectrum, redshift)
    book = _Notebook(task, rest)
    snr = rest.snr(*rest.full_range)
    lines = {line.name: line.emission(rest) for line in CV_LINES}
    found = {
        name: m
        for name, m in lines.items()
        if _detected(m, HELIUM_EW if name.startswith("He") else EMISSION_EW)
    }
    for line in CV_LINES:
        measure = lines[line.name]
        if measure is None or (line.name == "C IV 5806" and line.name not in found):
            continue
        book.record(
            _window_for(task, line.center - 5, line.center + 5, line.name),
            [measure["ew"], measure["fwhm"]],
            [_emission_note(line.name, measure, line.name in found)],
            key=line.name in ("H alpha", "H beta") or line.name in found,
        )
    overview = _overview(rest, snr, _describe_colour(_continuum_colour(rest)))
    halpha, hbeta = found.get("H alpha"), found.get("H beta")
    helium = {n: found[n] for n in ("He I 5876", "He I 6678", "He II 4686") if n in found}
    tio_seen = [m for m in (_depth(h, rest) for h in TIO_HEADS) if m is not None and _present(m)]
    oiii = found.get("[O III] 5007")
    balmer = halpha or hbeta
    if abs(redshift) > MAX_GALACTIC_Z:
        verdict = "NO"
        conclusion = (
            f"The redshift z = {redshift:.4f} places the source outside the Galaxy: not a CV."
        )
    elif balmer is None:
        if snr < MIN_SNR:
            return _noisy_no(book, snr, "this spectrum")
        measured = [str(lines[n]["ew"]) for n in ("H alpha", "H beta") if lines[n] is not None]
        verdict = "NO"
        conclusion = (
            f"No Balmer emission ({', '.join(measured) or 'Balmer lines not covered'}): not a CV."
        )
    elif oiii is not None and _ew(oiii) > FORBIDDEN_RATIO * _ew(hbeta):
        verdict = "NO"
        conclusion = (
            f"Forbidden [O III] 5007 emission ({oiii['ew']}, against H beta {_ew(hbeta):.0f} Å) "
            "marks a nebula, galaxy or quasar, not a CV."
        )
    elif "C IV 5806" in found or max(_ew(found.get(n)) for n in ("He II 4686", "He I 5876")) > (
        HELIUM_DOMINANT * max(_ew(hbeta), 1.0)
    ):
        verdict = "NO"
        conclusion = (
            "Helium (and carbon) emission far stronger than H beta "
            f"({_listed(m['ew'] for m in helium.values())}) "
            "is the signature of a Wolf-Rayet star, not a CV."
        )
    elif balmer["fwhm"].value.value < CV_HALPHA_FWHM:
        kind = (
            "a dMe star (TiO present)"
            if tio_seen
            else "a Be/emission-line star or chromospheric emission"
        )
        verdict = "NO"
        conclusion = (
            f"The Balmer emission is narrow ({balmer['fwhm']}, {balmer['ew']}): {kind}, not an "
            "accretion disc."
        )
    elif helium:
        verdict = "YES"
        conclusion = (
            f"Broad Balmer emission ({balmer['ew']}, {balmer['fwhm']}) with {' and '.join(helium)} "
            f"emission ({_listed(m['ew'] for m in helium.values())}) at rest wavelengths and no "
            "forbidden lines: a cataclysmic variable."
        )
    elif halpha and hbeta:
        verdict = "YES"
        conclusion = (
            f"Broad Balmer emission in both H alpha ({halpha['ew']}, {halpha['fwhm']}) and H beta "
            f"({hbeta['ew']}) at z~0 without forbidden lines: an accretion disc, a cataclysmic "
            "variable."
        )
    else:
        verdict = "NO"
        conclusion = (
            f"Only one broad Balmer line in emission ({balmer['ew']}) and no He I/He II: not "
            "enough for a CV."
        )
    return book.conclude(verdict, overview, conclusion)
