"""The scripted astronomer's rules for white dwarfs."""

from functools import cache

import numpy as np

from spec_o3.tasks import get_task

from .rules import builtin_rule_table
from .toolkit import (
    CA_I_4227,
    CA_II_K_BAND,
    G_BAND,
    H_ALPHA,
    H_BETA,
    H_BETA_EMISSION,
    H_DELTA,
    H_GAMMA,
    HE_I_4471,
    HE_I_5876,
    HE_II_4686,
    MG_B,
    NA_D,
    Notebook,
    RestSpectrum,
    continuum_colour,
    decide,
    describe_colour,
    describe_overview,
    exceeds,
    head_depth,
    is_detected,
    joint_depth,
    listed,
    measure_c2,
    measure_tio_not_c2,
    region_snr,
    window_for,
)

__all__ = ["assess_white_dwarf"]

RULES = builtin_rule_table("white_dwarf")

#: The metal indices of ordinary stars (`G_BAND`, `CA_I_4227`, `CA_II_K_BAND`, `MG_B`, `NA_D`,
#: depths 1 - <F_band>/F_cont): their joint absence marks a metal-poor white-dwarf atmosphere
#: (white_dwarf.yaml, ``absent_*``).
_METAL_INDICES = ("G band", "Ca I 4227", "Ca II K", "Mg b", "Na D")
#: The table's limit below which each feature counts as absent.
_ABSENT = {
    "H alpha": "absent_h_alpha",
    "H beta": "balmer_absent",
    "H gamma": "absent_h_gamma",
    "G band": "absent_g_band",
    "Ca I 4227": "absent_ca_i_4227",
    "Ca II K": "absent_ca_ii_k",
    "Mg b": "absent_mg_b",
    "Na D": "absent_na_d",
}
#: The lines of ordinary (A-K) stars that no white dwarf shows.
_ORDINARY = ("G band", "Ca I 4227")
#: The table's depth from which Mg b and Na D are an ordinary star's metal lines.
_METAL_DEPTH = {"Mg b": "metal_mg_b", "Na D": "metal_na_d"}


def _wing_ratio(profile):
    return profile["wing"].number / max(profile["core"].number, 1e-3)


def _winged(profile):
    """Wings deeper than an A/B star's for the line's core depth (``wing_to_core_da``), beyond
    the noise of both at ``wing_excess_sigmas``: at S/N ~10 an A star's wing/core scatters past
    the limit in one line in five."""
    ratio = RULES["wing_to_core_da"]
    wing, core = profile["wing"], profile["core"]
    excess = wing.number - ratio * core.number
    return bool(excess > RULES["wing_excess_sigmas"] * np.hypot(wing.error, ratio * core.error))


def _effective_width(profile):
    return profile["ew"].number / max(profile["core"].number, 1e-3)


def _is_broad(profile, snr=0.0):
    """Pressure-broadened: wings deep 20-40 Å out and a wide line, or a large EW for its depth.

    From S/N 15, where noise no longer narrows the measured FWHM, the line must be wide as well: the
    narrow cores on broad shallow wings of accretion discs (nova-likes) are no white dwarf's.
    """
    wide = profile["fwhm"].number >= RULES["da_fwhm"]
    winged = _winged(profile) and exceeds(profile["wing"], 0.02) and wide
    return winged or (
        exceeds(profile["ew"], 0)
        and _effective_width(profile) >= RULES["da_effective_width"]
        and (wide or snr < RULES["noisy_fwhm_snr"])
    )


def _peaks(line, rest):
    """True when the line's centre (±2.5 Å) rises above its shoulders (4-10 Å) by > 0.05 of the
    continuum at 4 sigma."""
    return exceeds(line.excess(rest, (0, 2.5), (4, 10), "centre above shoulders"), 0.05, 4.0)


def _emission_core(line, rest):
    """True when the centre (±2.5 Å) rises above the shoulders (4-10 Å), or the shoulders above the
    continuum, by > 0.05 and 4 sigma.

    Accretion discs fill Balmer absorption with (double-peaked) emission that the EW of the whole
    line can hide; a white dwarf's line centre is its deepest point.
    """
    shoulders = line.excess(rest, (4, 10), label="shoulders above continuum")
    return _peaks(line, rest) or exceeds(shoulders, 0.05, 4.0)


def _absent(measurement, name):
    """True when a feature is measured, below its limit and known to better than 0.6 of it."""
    limit = RULES[_ABSENT[name]]
    value = measurement.number if name in _METAL_INDICES else abs(measurement.number)
    return value < limit and measurement.error < 0.6 * limit


def _features(rest, balmer, halpha):
    """Balmer core depths and metal indices that an ordinary star of any type shows."""
    found = {"H alpha": halpha and halpha["core"]}
    found.update({name: p["core"] for name, p in balmer.items() if name != "H delta"})
    for index in (G_BAND, CA_I_4227, CA_II_K_BAND, MG_B, NA_D):
        found[index.name] = head_depth(index, rest)
    return {name: m for name, m in found.items() if m is not None}


def _all_absent(features, names):
    """True when every named feature that is measured is absent, and at least two are measured."""
    measured = [name for name in names if name in features]
    return len(measured) >= 2 and all(_absent(features[name], name) for name in measured)


def _joint_absence(features, names):
    """Whether the named features are jointly absent, and their mean depth as text.

    At low S/N no single feature can be measured to 0.6 of its limit (`_absent`), but their
    inverse-variance mean can: absent when none is seen at 3 sigma, the mean depth (either sign:
    emission is no absence) is below ``joint_depth`` and known to better than 0.6 of it. Needs
    four measured features.
    """
    measured = [features[name] for name in names if name in features]
    if len(measured) < 4:
        return False, ""
    joint = joint_depth("joint depth", measured)
    mean, mean_error = joint.number, joint.error
    limit = RULES["joint_depth"]
    absent = (
        all(m.number < 3 * m.error for m in measured)
        and abs(mean) < limit
        and mean_error < 0.6 * limit
    )
    return absent, f"{mean:.3f} ± {mean_error:.3f}"


def _balmer_note(name, profile):
    if profile["core"].number < RULES["balmer_core_min"]:
        shape = "the line is barely there"
    elif _is_broad(profile):
        shape = "broad, pressure-broadened wings"
    else:
        shape = "a narrow profile whose wings recover quickly"
    return (
        f"{name} has core depth {profile['core'].short}, wing depth {profile['wing'].short} "
        f"20-40 Å out (wing/core {_wing_ratio(profile):.2f}), FWHM {profile['fwhm'].short} and "
        f"EW {profile['ew'].short}: {shape}"
    )


def assess_white_dwarf(spectrum, redshift=0.0):
    """White dwarf: broad Balmer lines (DA), He I (DB), Ca II (DZ), C2 (DQ) alone, featureless (DC).

    Parameters
    ----------
    spectrum : `~specutils.Spectrum`
    redshift : float, optional
        Redshift that brings the spectrum to the rest frame.

    Returns
    -------
    assessment : `~spec_o3.agent.expert_rules.Assessment`

    Examples
    --------
    >>> from spec_o3.simulate import simulate_spectrum
    >>> spectrum = simulate_spectrum("white_dwarf", seed=2, snr=40, subtype="DC", teff=6000.0)
    >>> assessment = assess_white_dwarf(spectrum, spectrum.meta["redshift"])
    >>> assessment.verdict, assessment.rule
    ('YES', 'dc_joint_absence')
    """
    task, rest = get_task("white_dwarf"), RestSpectrum(spectrum, redshift)
    book = Notebook(task, rest)
    snr = region_snr(rest, 4000, 5100)
    colour = continuum_colour(rest)
    balmer = {line.name: p for line in (H_BETA, H_GAMMA, H_DELTA) if (p := line.absorption(rest))}
    for line in (H_BETA, H_GAMMA, H_DELTA):
        if line.name in balmer:
            profile = balmer[line.name]
            book.record(
                window_for(task, line.center - 10, line.center + 10, line.name),
                [profile[k] for k in ("core", "wing", "fwhm", "ew")],
                [_balmer_note(line.name, profile)],
                key=True,
            )
    halpha = H_ALPHA.absorption(rest)
    if halpha is not None:
        book.record(
            window_for(task, 6550, 6580, "H alpha"),
            [halpha[k] for k in ("core", "wing", "fwhm")],
            [_balmer_note("H alpha", halpha)],
        )
    he_4471_profile = HE_I_4471.absorption(rest)
    he_i_profiles = [p for p in (he_4471_profile, HE_I_5876.absorption(rest)) if p]
    he_i = [p["ew"] for p in he_i_profiles]
    he_strong = [ew for ew in he_i if exceeds(ew, RULES["he_i_db"])]
    # He I 4471 several times stronger than a B star's or a hot subdwarf's needs no proof that the
    # G band and Ca I are absent (which S/N ~5 cannot give), only that they are not seen. (He I
    # 5876 alone is no such proof: broad H alpha and Na D wings of other objects frame its window.)
    he_4471 = he_4471_profile["ew"] if he_4471_profile else None
    he_very_strong = exceeds(he_4471, RULES["he_i_db_strong"], sigmas=5.0)
    he_ii = HE_II_4686.absorption(rest)
    # He II marks sdO and O stars as much as DO white dwarfs: a veto for a hot DA, and evidence
    # of a DO only where the line is as broad as a white dwarf's gravity makes it and deeper at
    # 4686 Å than He I is at its lines (a hot DB's He I 4713 wing fills the same window).
    he_ii_strong = he_ii is not None and exceeds(he_ii["ew"], RULES["he_i_db"])
    # Any He II at all beside He I marks a star hotter than a DB (an sdO, a DO or a DAO).
    he_ii_seen = he_ii is not None and exceeds(he_ii["core"], RULES["db_he_ii_core"], sigmas=2.0)
    he_ii_broad = (
        he_ii_strong
        and bool(he_ii["fwhm"].number >= RULES["do_he_ii_fwhm"])
        and all(he_ii["core"].number > p["core"].number for p in he_i_profiles)
    )
    # An M dwarf's TiO in the red beside broad Balmer lines in the blue: a white dwarf + M dwarf
    # pair, whose companion brings its own metal lines and (irradiated) Balmer emission.
    he_ii_text = listed([he_ii["ew"], he_ii["fwhm"]]) if he_ii_strong else ""
    companion_tio = [m for m in measure_tio_not_c2(rest)[1] if m.name.startswith("TiO 7054")]
    features = _features(rest, balmer, halpha)
    ca_k = features.get("Ca II K")
    metals = [features[name] for name in ("Mg b", "Na D") if name in features]
    # He I 5876 fills the Na D windows of a DB: no metal evidence there.
    strong_metals = [
        m
        for m in metals
        if exceeds(m, RULES[_METAL_DEPTH[m.name.removesuffix(" depth")]])
        and not (he_strong and m.name.startswith("Na D"))
    ]
    ordinary = [features[n] for n in _ORDINARY if n in features]
    # Emission lines, which no white dwarf shows (He II 4686 never). Two things fake them, as the
    # flux between depressed side windows: a DB's He I 4922 and 6678 troughs (so with He I in
    # absorption, Balmer emission counts only when stronger than troughs can fake), on a red
    # continuum the TiO, MgH and metal bands of a cool star (there only a line that peaks counts),
    # and about He II 4686 the wings of H beta and H gamma, which depress both its side windows in
    # a DA (there a line counts that peaks or is stronger than the wings fake).
    red = colour is not None and colour < RULES["emission_min_colour"]
    emission = [
        measure["ew"]
        for line, measure in (
            (H_ALPHA, H_ALPHA.emission(rest)),
            (H_BETA_EMISSION, H_BETA_EMISSION.emission(rest)),
            (HE_II_4686, HE_II_4686.emission(rest)),
        )
        if is_detected(measure)
        and (
            (not red and (line is not HE_II_4686 or measure["ew"].number > RULES["he_ii_wing_ew"]))
            or _peaks(line, rest)
        )
        and (
            line is HE_II_4686
            or not he_strong
            or measure["ew"].number > RULES["trough_emission_ew"]
        )
    ]
    # H alpha only: the C2 bands of a DQ give H beta shoulders of their own.
    reversed_cores = ["H alpha"] if _emission_core(H_ALPHA, rest) and not he_strong else []
    c2_heads, _, _ = measure_c2(rest)
    c2_seen = [m for m in c2_heads if exceeds(m, RULES["dq_c2_head"], 5.0)]
    c2_seen = c2_seen if len(c2_seen) >= 2 else []
    judged = {name: p for name, p in balmer.items() if exceeds(p["core"], RULES["balmer_core_min"])}
    broad = [name for name, p in judged.items() if _is_broad(p, snr)]
    absent = all(p["core"].number < RULES["balmer_absent"] for p in balmer.values())
    if he_i:
        book.record(
            window_for(task, 4460, 4480, "He I 4471"),
            he_i[:1],
            [f"He I absorption: {listed(he_i)}"],
            key=absent and bool(he_strong),
        )
    if he_ii_strong and colour is not None and colour >= RULES["hot_da_colour"]:
        # Only on a hot star's continuum is absorption at 4686 Å He II, not a blend of metal lines.
        book.record(
            window_for(task, 4676, 4696, "He II 4686"),
            [he_ii["ew"], he_ii["fwhm"]],
            [f"He II 4686 absorption: {he_ii_text}"],
            key=absent and he_ii_broad,
        )
    if ca_k is not None:
        book.record(
            window_for(task, 3925, 3945, "Ca II H&K"),
            [ca_k],
            [f"Ca II K band depth {ca_k.short}"],
            key=absent,
        )
    if ordinary:
        book.record(
            window_for(task, 4220, 4320, "G band"),
            ordinary,
            [f"lines of ordinary stars: {listed(ordinary)}"],
        )
    if c2_seen:
        book.record(
            window_for(task, 4700, 4760, "C2 Swan"),
            c2_seen,
            [f"C2 Swan band heads: {listed(c2_seen)}"],
            key=True,
        )
    if strong_metals:
        book.record(
            window_for(task, 5165, 5195, "Mg b"),
            strong_metals,
            [f"metal lines: {listed(strong_metals)}"],
            key=True,
        )
    emission_text = [str(e) for e in emission] + [
        f"{name} emission core inside its absorption trough" for name in reversed_cores
    ]
    described = describe_colour(colour)
    facts = {
        "snr": snr,
        "redshift": redshift,
        "colour": np.nan if colour is None else colour,
        "continuum": described,
        "continuum_capitalized": described.capitalize(),
        "balmer_covered": bool(balmer),
        "emission": bool(emission_text),
        "emission_listed": listed(emission_text),
        "c2_seen": bool(c2_seen),
        "c2_listed": listed(c2_seen),
        "metals": bool(strong_metals),
        "metals_listed": listed(strong_metals),
        "he_strong": bool(he_strong),
        "he_strong_listed": listed(he_strong),
        "he_very_strong": he_very_strong,
        "he_4471": str(he_4471) if he_4471 is not None else "",
        "he_4471_ew": he_4471.number if he_4471 is not None else 0.0,
        "ordinary_seen": any(
            exceeds(features[n], RULES[_ABSENT[n]]) for n in _ORDINARY if n in features
        ),
        "companion_tio": bool(companion_tio),
        "companion_tio_listed": listed(companion_tio),
        "he_ii": he_ii_strong,
        "he_ii_seen": he_ii_seen,
        "he_ii_broad": he_ii_broad,
        "he_ii_listed": he_ii_text,
        "balmer_cores_absent": absent,
        "black_body": _black_body_like(rest, colour),
        **_absence_facts(features),
        **_balmer_facts(balmer, judged, broad, features),
        **_depth_facts("ca_k", ca_k),
        **_depth_facts("he_ii_core", he_ii and he_ii["core"]),
    }
    overview = describe_overview(rest, snr, described)
    return decide(book, RULES, overview, facts, "the Balmer region")


def _absence_facts(features):
    """Whether each group of features that some star other than a white dwarf shows is absent."""
    all_absent, all_depth = _joint_absence(features, tuple(_ABSENT))
    calcium_only, others_depth = _joint_absence(
        features, tuple(n for n in _ABSENT if n != "Ca II K")
    )
    return {
        "jointly_featureless": all_absent,
        "joint_depth": all_depth,
        "jointly_calcium_only": calcium_only,
        "others_joint_depth": others_depth,
        "no_ordinary": _all_absent(features, _ORDINARY),
        "no_balmer": _all_absent(features, ("H alpha", "H beta", "H gamma")),
        "metal_free": _all_absent(features, ("G band", "Ca I 4227", "Ca II K", "Mg b"))
        or _joint_absence(features, ("G band", "Ca I 4227", "Ca II K", "Mg b", "Na D"))[0],
        "dq_clean": _all_absent(features, ("H alpha", "Ca II K", "Na D")),
        "featureless": _all_absent(features, tuple(_ABSENT)),
    }


def _balmer_facts(balmer, judged, broad, features):
    """The Balmer lines as the table weighs them: how many are judged and broad, their depths."""
    return {
        "n_judged": len(judged),
        "n_broad": len(broad),
        "n_broad_wide": sum(judged[name]["fwhm"].number >= RULES["da_fwhm"] for name in broad),
        # An emission core narrows a line's measured FWHM, not its effective width.
        "n_wide": sum(_effective_width(p) >= RULES["da_effective_width"] for p in judged.values()),
        "balmer_text": "; ".join(
            f"{name} FWHM {p['fwhm'].number:.0f} Å, EW/depth {_effective_width(p):.0f} Å, "
            f"wing/core {_wing_ratio(p):.2f}"
            for name, p in judged.items()
        ),
        "h_beta_judged": "H beta" in judged,
        "h_beta_broad": "H beta" in balmer and _is_broad(balmer["H beta"]),
        "h_beta_only": f", H beta only {features['H beta'].short}" if "H beta" in features else "",
        "shallow_balmer_text": "; ".join(
            f"{name} core {p['core'].short}, EW/depth {_effective_width(p):.0f} Å"
            for name, p in balmer.items()
            if name != "H delta"
        ),
        **_depth_facts("h_alpha", features.get("H alpha")),
        **_depth_facts("h_beta", features.get("H beta")),
        **_depth_facts("h_gamma", features.get("H gamma")),
    }


def _depth_facts(key, measurement):
    """A depth as the table reads it: ``key``, ``key_sigma`` and ``key_short`` (its value ± error);
    0, 0 and "" where it was not measured (no absorption)."""
    if measurement is None:
        return {key: 0.0, f"{key}_sigma": 0.0, f"{key}_short": ""}
    return {
        key: measurement.number,
        f"{key}_sigma": measurement.significance,
        f"{key}_short": measurement.short,
    }


@cache
def _planck_grid(lo, hi):
    """The wavelengths (cm) over which a band's black-body flux is averaged, and their λ⁻⁵."""
    wave = np.linspace(lo, hi, 50) * 1e-8
    return wave, wave**-5


def _planck_ratio(teff, band, reference=(5500.0, 6000.0)):
    """Mean black-body f_λ in ``band`` over that in ``reference`` (Å) at ``teff`` (K)."""

    def mean_flux(lo, hi):
        wave, power = _planck_grid(lo, hi)
        return np.mean(power / np.expm1(1.4388 / (wave * teff)))

    return mean_flux(*band) / mean_flux(*reference)


@cache
def _black_body_colours():
    """Temperatures (K) and the F4000-4500/F5500-6000 colour of a black body at each."""
    grid = np.geomspace(2500.0, 200000.0, 200)
    return grid, np.array([_planck_ratio(t, (4000.0, 4500.0)) for t in grid])


def _black_body_like(rest, colour):
    """True unless the far red departs from the black body that fits the blue colour.

    True where 7500-8500 Å is not covered (nothing to compare); False for a colour bluer than any
    black body's.
    """
    red, _ = rest.mean(7500, 8500)
    green, _ = rest.mean(5500, 6000)
    if colour is None or not (np.isfinite(red) and np.isfinite(green)) or green <= 0:
        return True
    grid, blue = _black_body_colours()
    if not blue[0] <= colour <= blue[-1]:
        return False
    teff = float(np.interp(colour, blue, grid))
    return (
        abs(red / green / _planck_ratio(teff, (7500.0, 8500.0)) - 1) < RULES["dc_planck_tolerance"]
    )
