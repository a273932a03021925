"""Realism check: measure simulated ordinary stars and white dwarfs as real spectra are measured.

Compares, for the same spectral types, the simulator with real spectra: LAMOST DR1 and SDSS files
(``shared/data/real``), the MILES and STELIB libraries (``shared/data/libraries``) and the
white-dwarf flux standards. Measured: molecular band depths (``spec_o3.analysis.band_strength`` with
the catalogue's windows) for M dwarfs and giants; Hβ equivalent width and FWHM of A/B stars, blue
horizontal-branch stars and DA white dwarfs; He I equivalent widths of the DB standard LDS 749B;
Mg b and Na D pseudo-equivalent widths and the G band of FGK stars; the emission lines of the
classical novae of ``real_extra`` against simulated nebular novae. Prints the numbers and writes
``docs/_static/realism.png``.

Run from the repository root::

    python benchmarks/realism_check.py [--seeds 4] [--data ../shared/data]
"""

import argparse
import csv
import os
import re
import sys
import warnings
from pathlib import Path

import astropy.units as u
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from astropy.io import fits  # noqa: E402
from astropy.table import Table  # noqa: E402
from scipy.ndimage import gaussian_filter1d  # noqa: E402
from specutils import Spectrum  # noqa: E402

from spec_o3.analysis import band_strength  # noqa: E402
from spec_o3.io import read_survey_spectrum  # noqa: E402
from spec_o3.simulate import simulate_spectrum  # noqa: E402
from spec_o3.simulate.grid import air_to_vacuum  # noqa: E402
from spec_o3.simulate.spectral_types import DWARF_TEFF, GIANT_TEFF  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # reference_spectra: the readers of real_extra
from reference_spectra import manifest, real_extra_spectrum  # noqa: E402

FIGURE = ROOT / "docs" / "_static" / "realism.png"
M_BANDS = ("TiO_7054", "TiO_6159", "CaH_6382", "CaH_6830")
#: Bands beyond MILES's 7410 Å: STELIB, SDSS, LAMOST, DESI and real_extra stars only.
M_RED_BANDS = ("TiO_7589", "TiO_8432", "VO_7400", "VO_7865")
#: The expert's M-star indices (Reid, Hawley & Gizis 1995) and the CaH2+CaH3 distance above its
#: M-dwarf locus (``m_giant.yaml``), which votes on gravity.
M_INDICES = ("TiO5", "CaH1", "CaH2", "CaH3", "CaH excess")
M_MEASURES = (*M_BANDS, *M_RED_BANDS, *M_INDICES)
#: Rows of the M-star comparison with their place on the M scale: the types just before M0 (K4-K5
#: III, K7 V) and M0-M9.
M_ROWS = {
    "dwarf": {"K7": -1, **{f"M{i}": i for i in range(10)}},
    "giant": {"K4": -2, "K5": -1, **{f"M{i}": i for i in range(9)}},
}
# Pseudo-equivalent-width windows (vacuum Å): band, blue continuum, red continuum (Lick Mg b and Na
# D, Worthey et al. 1994, converted from air).
INDICES = {
    "Mg b": ((5161.6, 5194.1), (5144.1, 5162.8), (5192.8, 5207.8)),
    "Na D": ((5878.5, 5911.0), (5862.3, 5877.3), (5923.8, 5949.8)),
}
HBETA = 4862.68
#: He I lines of DB white dwarfs: line, blue and red continuum windows (Å).
HE_I_LINES = {
    "He I 4471": ((4452.0, 4492.0), (4420.0, 4440.0), (4505.0, 4525.0)),
    "He I 4922": ((4905.0, 4940.0), (4880.0, 4895.0), (4950.0, 4965.0)),
    "He I 6678": ((6660.0, 6700.0), (6620.0, 6640.0), (6715.0, 6735.0)),
}
#: The DB flux standard LDS 749B (Bohlin & Koester 2008, AJ 135, 1092).
LDS_749B = {"teff": 13575.0, "logg": 8.05}


# ---- reading the real spectra
# ------------------------------------------------------------------------


def _library_spectrum(path, mask_zero=False):
    header = fits.getheader(path)
    flux = fits.getdata(path).astype(float)
    wave = air_to_vacuum(header["CRVAL1"] + header["CDELT1"] * np.arange(flux.size))
    mask = flux <= 0 if mask_zero else None
    return Spectrum(flux=flux * u.one, spectral_axis=wave * u.AA, mask=mask)


def _parse_type(text):
    """(letter, subtype, 'dwarf'/'giant' or None) from an MK type such as 'M3 V' or 'K5III'."""
    match = re.match(r"^\s*(sd)?([OBAFGKM])(\d(?:\.\d)?)?[\s:/\-\.]*((?:I{1,3}|IV|V)?)", str(text))
    if not match:
        return None
    letter, number, lum = match.group(2), match.group(3), match.group(4)
    if number is None:
        return None
    kind = (
        "dwarf"
        if lum in ("V", "IV") or match.group(1)
        else ("giant" if lum in ("III", "II") else None)
    )
    return letter, float(number), kind


def real_samples(data):
    """Real spectra with their types, as dicts (spectrum, letter, number, kind, teff, logg, ...)."""
    samples = []
    miles = data / "libraries" / "miles"
    if (miles / "miles_params.ecsv").is_file():
        for row in Table.read(miles / "miles_params.ecsv"):
            parsed = _parse_type(row["spectral_type"])
            if parsed is None or not np.isfinite(row["teff"]) or row["teff"] < 2000:
                continue
            samples.append(
                dict(
                    spectrum=_library_spectrum(miles / row["file"]),
                    letter=parsed[0],
                    number=parsed[1],
                    kind=parsed[2],
                    teff=float(row["teff"]),
                    logg=float(row["logg"]),
                    feh=float(row["feh"]),
                    source="MILES",
                    label=str(row["spectral_type"]).strip(),
                )
            )
    stelib = data / "libraries" / "stelib"
    if (stelib / "stelib_types.ecsv").is_file():
        for row in Table.read(stelib / "stelib_types.ecsv"):
            parsed = _parse_type(row["spectral_type"])
            if parsed is None or parsed[0] not in "KM":
                continue
            samples.append(
                dict(
                    spectrum=_library_spectrum(stelib / row["file"], mask_zero=True),
                    letter=parsed[0],
                    number=parsed[1],
                    kind=parsed[2],
                    teff=np.nan,
                    logg=np.nan,
                    feh=np.nan,
                    source="STELIB",
                    label=str(row["spectral_type"]),
                )
            )
    manifest = data / "real" / "manifest.csv"
    if manifest.is_file():
        with open(manifest) as handle:
            for row in csv.DictReader(handle):
                label = row["label"]
                expert = re.search(r"PyHammer expert type: (\S+)\s*(Dwarf)?", label)
                text = (
                    expert.group(1) + (" V" if expert.group(2) else "")
                    if expert
                    else label.replace("STAR ", "")
                )
                parsed = _parse_type(text)
                if parsed is None or "conflict" in row["note"]:
                    continue
                kind = parsed[2] or ("dwarf" if parsed[0] in "FGKM" else None)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    spectrum = read_survey_spectrum(data / "real" / row["file"])
                samples.append(
                    dict(
                        spectrum=spectrum,
                        letter=parsed[0],
                        number=parsed[1],
                        kind=kind,
                        teff=np.nan,
                        logg=np.nan,
                        feh=np.nan,
                        source="LAMOST" if "lamost" in row["file"] else "SDSS",
                        label=text,
                    )
                )
    return samples


def white_dwarf_standards(data, kind="DA"):
    directory = data / "real" / "wd_standards"
    result = []
    for path in sorted(directory.glob("*.ecsv")):
        table = Table.read(path)
        comment = " ".join(table.meta.get("comments", []))
        if f"white_dwarf {kind}" not in comment:
            continue
        result.append(
            (
                path.stem,
                Spectrum(
                    flux=np.asarray(table["flux"], float) * u.one,
                    spectral_axis=np.asarray(table["wavelength"], float) * u.AA,
                ),
            )
        )
    return result


# ---- measurements
# ------------------------------------------------------------------------------------


def band_depth(spectrum, band):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return float(band_strength(spectrum, band).value)
        except ValueError:
            return np.nan


def m_measurements(spectrum, redshift=0.0):
    """`M_MEASURES` of a spectrum: band depths (``band_strength``) and the expert's indices."""
    from spec_o3.agent.expert_rules.m_giant import RULES
    from spec_o3.agent.expert_rules.toolkit import (
        CAH1,
        CAH2,
        CAH3,
        TIO5,
        RestSpectrum,
        index_value,
    )

    result = {band: band_depth(spectrum, band) for band in (*M_BANDS, *M_RED_BANDS)}
    rest = RestSpectrum(spectrum, redshift)
    for index in (TIO5, CAH1, CAH2, CAH3):
        measurement = index_value(index, rest)
        result[index.name] = np.nan if measurement is None else measurement.value.value
    locus = RULES["cah_locus_intercept"] + RULES["cah_locus_slope"] * result["TiO5"]
    result["CaH excess"] = result["CaH2"] + result["CaH3"] - locus
    return result


def _arrays(spectrum, resolution=1800.0):
    """Wavelength and flux without bad pixels, degraded to ``resolution`` if finer (Gaussian)."""
    wave = spectrum.spectral_axis.to_value(u.AA)
    flux = np.asarray(spectrum.flux.value, float)
    good = np.isfinite(flux)
    if spectrum.mask is not None:
        good &= ~np.asarray(spectrum.mask)
    wave, flux = wave[good], flux[good]
    step = np.median(np.diff(wave))
    sigma = 5000.0 / resolution / 2.3548
    if step < sigma:
        flux = gaussian_filter1d(flux, np.sqrt(max(sigma**2 - step**2, 0)) / step)
    return wave, flux


def pseudo_ew(spectrum, name, windows=INDICES):
    """Equivalent width (Å) in a band against a straight line through two continuum windows."""
    (b0, b1), (c0, c1), (d0, d1) = windows[name]
    wave, flux = _arrays(spectrum)
    blue = (wave > c0) & (wave < c1)
    red = (wave > d0) & (wave < d1)
    band = (wave > b0) & (wave < b1)
    if blue.sum() < 3 or red.sum() < 3 or band.sum() < 5:
        return np.nan
    x = [wave[blue].mean(), wave[red].mean()]
    y = [flux[blue].mean(), flux[red].mean()]
    continuum = np.interp(wave[band], x, y)
    return float(np.trapezoid(1 - flux[band] / continuum, wave[band]))


def balmer_width(spectrum, centre=HBETA, half=200.0):
    """Hβ equivalent width and FWHM (Å) at R = 1800, continuum a straight line ±``half`` Å away."""
    wave, flux = _arrays(spectrum)
    blue = (wave > centre - half - 25) & (wave < centre - half)
    red = (wave > centre + half) & (wave < centre + half + 25)
    inside = (wave > centre - half) & (wave < centre + half)
    if blue.sum() < 3 or red.sum() < 3:
        return np.nan, np.nan
    continuum = np.interp(
        wave[inside],
        [np.median(wave[blue]), np.median(wave[red])],
        [np.median(flux[blue]), np.median(flux[red])],
    )
    depth_profile = 1 - flux[inside] / continuum
    w = wave[inside]
    ew = float(np.trapezoid(depth_profile, w))
    core = np.abs(w - centre) < 5
    half_depth = depth_profile[core].max() / 2
    centre_index = np.argmin(np.abs(w - centre))
    lo = hi = centre_index
    while lo > 0 and depth_profile[lo] > half_depth:
        lo -= 1
    while hi < w.size - 1 and depth_profile[hi] > half_depth:
        hi += 1
    return ew, float(w[hi] - w[lo])


def balmer_decrement(spectrum, redshift=0.0):
    """Hα/Hβ and Hγ/Hβ core-depth ratios at R = 1800, measured as the expert measures them."""
    from spec_o3.agent.expert_rules.toolkit import H_ALPHA, H_BETA, H_GAMMA, RestSpectrum

    wave, flux = _arrays(spectrum)
    rest = RestSpectrum(Spectrum(flux=flux * u.one, spectral_axis=wave * u.AA), redshift)
    cores = [line.absorption(rest) for line in (H_ALPHA, H_BETA, H_GAMMA)]
    if any(core is None for core in cores):
        return np.nan, np.nan
    alpha, beta, gamma = (core["core"].number for core in cores)
    return alpha / beta, gamma / beta


# ---- simulated samples
# -------------------------------------------------------------------------------


def _simulated(kind, seeds, snr=60.0, **params):
    return [simulate_spectrum(kind, seed=seed, snr=snr, **params) for seed in seeds]


def _m_logg(kind, subtype, teff):
    """log g the simulator gives a star of this subtype (`spec_o3.simulate.stars`)."""
    index = int(subtype[1])
    if subtype[0] == "K":
        return 4.65 if kind == "dwarf" else 1.5 + (teff - 3915) / 900
    return 4.7 + 0.05 * index if kind == "dwarf" else 1.6 - 0.2 * index


def simulate_m_stars(seeds):
    """Band depths and indices of simulated stars of each of the `M_ROWS`, at the subtype's Teff
    and solar [Fe/H] (that of the real K5 III, -0.01 on average in MILES; the M rows' oxides are
    scaled to their type anyway)."""
    rows = []
    for kind, table in (("dwarf", DWARF_TEFF), ("giant", GIANT_TEFF)):
        for subtype, number in M_ROWS[kind].items():
            teff = float(table[subtype])
            simulated_class = {
                ("dwarf", "K"): "fgk_dwarf",
                ("giant", "K"): "gk_giant",
                ("dwarf", "M"): "m_dwarf",
                ("giant", "M"): "m_giant",
            }[kind, subtype[0]]
            spectra = _simulated(
                simulated_class,
                seeds,
                teff=teff,
                logg=_m_logg(kind, subtype, teff),
                metallicity=0.0,
            )
            measured = [m_measurements(s, s.meta["redshift"]) for s in spectra]
            rows.append(
                {
                    "kind": kind,
                    "number": number,
                    **{key: [m[key] for m in measured] for key in M_MEASURES},
                }
            )
    return rows


def simulate_twins(real, per_star=1):
    """Simulate an FGK star with the Teff, log g and [Fe/H] of each real MILES star (its 'twin')."""
    rows = []
    for index, star in enumerate(real):
        kind = "fgk_dwarf" if star["kind"] == "dwarf" else "gk_giant"
        feh = star["feh"] if np.isfinite(star["feh"]) else 0.0
        for seed in range(per_star):
            spectrum = simulate_spectrum(
                kind,
                seed=1000 * index + seed,
                snr=80.0,
                teff=star["teff"],
                logg=star["logg"],
                metallicity=float(feh),
            )
            rows.append(
                {
                    "kind": star["kind"],
                    "teff": star["teff"],
                    "real": index,
                    **{name: pseudo_ew(spectrum, name) for name in INDICES},
                    "CH_4300": band_depth(spectrum, "CH_4300"),
                }
            )
    return rows


def simulate_balmer(seeds):
    rows = []
    for kind, subtype_params in (
        ("ab_star", [dict(teff=float(t)) for t in (9700, 9300, 8840, 8080)]),
        ("bhb_star", [dict(teff=float(t)) for t in (8000, 9000, 10000)]),
        (
            "white_dwarf",
            [
                dict(subtype="DA", teff=float(t), logg=8.0)
                for t in (9000, 12000, 15000, 20000, 25000, 35000)
            ],
        ),
    ):
        for params in subtype_params:
            for spectrum in _simulated(kind, seeds, snr=80.0, **params):
                ew, fwhm = balmer_width(spectrum)
                alpha, gamma = balmer_decrement(spectrum, spectrum.meta["redshift"])
                rows.append(
                    {
                        "kind": kind,
                        "teff": params["teff"],
                        "ew": ew,
                        "fwhm": fwhm,
                        "alpha_beta": alpha,
                        "gamma_beta": gamma,
                    }
                )
    return rows


# ---- comparison and figure
# ---------------------------------------------------------------------------


def _summary(values):
    values = np.asarray([v for v in values if np.isfinite(v)])
    return (np.mean(values), np.std(values), values.size) if values.size else (np.nan, np.nan, 0)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--seeds", type=int, default=4, help="simulated spectra per type (default: %(default)s)"
    )
    parser.add_argument(
        "--data",
        type=Path,
        default=Path(os.environ.get("SPEC_O3_SHARED_DATA", ROOT.parent / "shared" / "data")),
    )
    parser.add_argument(
        "--twins", type=int, default=80, help="MILES FGK stars to simulate twins of"
    )
    parser.add_argument("--figure", type=Path, default=FIGURE)
    args = parser.parse_args(argv)
    seeds = range(args.seeds)

    real = real_samples(args.data)
    m_real, m_sim = print_m_stars(real, args.data, seeds)

    balmer_real = []
    for s in real:
        if (
            s["letter"] in "AB"
            and s["kind"] == "dwarf"
            and (s["letter"] == "A" and s["number"] <= 5)
        ):
            balmer_real.append(("A0-A5 V " + s["source"], *balmer_width(s["spectrum"])))
        elif s["source"] == "MILES" and "HB" in s["label"]:
            balmer_real.append(("BHB MILES", *balmer_width(s["spectrum"])))
    wd_real = [
        (name, *balmer_width(spectrum)) for name, spectrum in white_dwarf_standards(args.data)
    ]
    balmer_sim = simulate_balmer(seeds)
    print("\nHβ equivalent width / FWHM (Å) at R = 1800: real | simulated")
    for label, kinds in (("A0-A5 V", ("A0-A5 V",)), ("BHB", ("BHB",))):
        ew_r = _summary([e for n, e, f in balmer_real if n.startswith(kinds)])
        fw_r = _summary([f for n, e, f in balmer_real if n.startswith(kinds)])
        sim_kind = "ab_star" if label.startswith("A") else "bhb_star"
        ew_s = _summary([r["ew"] for r in balmer_sim if r["kind"] == sim_kind])
        fw_s = _summary([r["fwhm"] for r in balmer_sim if r["kind"] == sim_kind])
        print(
            f"  {label:8s} EW {ew_r[0]:5.1f}±{ew_r[1]:4.1f} ({ew_r[2]}) | "
            f"{ew_s[0]:5.1f}±{ew_s[1]:4.1f}   "
            f"FWHM {fw_r[0]:5.1f}±{fw_r[1]:4.1f} | {fw_s[0]:5.1f}±{fw_s[1]:4.1f}"
        )
    ew_r, fw_r = _summary([e for _, e, _ in wd_real]), _summary([f for _, _, f in wd_real])
    ew_s = _summary([r["ew"] for r in balmer_sim if r["kind"] == "white_dwarf"])
    fw_s = _summary([r["fwhm"] for r in balmer_sim if r["kind"] == "white_dwarf"])
    print(
        f"  DA WD    EW {ew_r[0]:5.1f}±{ew_r[1]:4.1f} ({ew_r[2]}) | "
        f"{ew_s[0]:5.1f}±{ew_s[1]:4.1f}   "
        f"FWHM {fw_r[0]:5.1f}±{fw_r[1]:4.1f} | {fw_s[0]:5.1f}±{fw_s[1]:4.1f}"
    )
    for teff in sorted({r["teff"] for r in balmer_sim if r["kind"] == "white_dwarf"}):
        here = [r for r in balmer_sim if r["kind"] == "white_dwarf" and r["teff"] == teff]
        print(
            f"    simulated DA {teff:6.0f} K: EW {np.nanmean([r['ew'] for r in here]):5.1f}  "
            f"FWHM {np.nanmean([r['fwhm'] for r in here]):5.1f}  core depth "
            f"Hα/Hβ {np.nanmean([r['alpha_beta'] for r in here]):4.2f}  "
            f"Hγ/Hβ {np.nanmean([r['gamma_beta'] for r in here]):4.2f}"
        )
    for name, spectrum in white_dwarf_standards(args.data):
        ew, fwhm = balmer_width(spectrum)
        alpha, gamma = balmer_decrement(spectrum)
        print(
            f"    real {name:12s}: EW {ew:5.1f}  FWHM {fwhm:5.1f}  core depth "
            f"Hα/Hβ {alpha:4.2f}  Hγ/Hβ {gamma:4.2f}"
        )

    fgk_real = [
        s
        for s in real
        if s["source"] == "MILES"
        and s["letter"] in "FGK"
        and s["kind"] in ("dwarf", "giant")
        and np.isfinite(s["teff"])
        and np.isfinite(s["logg"])
        and 4000 <= s["teff"] <= 7300
    ]
    fgk_real = fgk_real[:: max(len(fgk_real) // args.twins, 1)]
    for s in fgk_real:
        for name in INDICES:
            s[name] = pseudo_ew(s["spectrum"], name)
        s["CH_4300"] = band_depth(s["spectrum"], "CH_4300")
    fgk_sim = simulate_twins(fgk_real)
    print(
        f"\nFGK stars: {len(fgk_real)} MILES stars and simulated twins (same Teff, log g, [Fe/H]),"
    )
    print("pseudo-EW in Å (G band as depth), real | simulated, in Teff bins:")
    bins = [(4000, 4600), (4600, 5200), (5200, 5800), (5800, 6500), (6500, 7300)]
    for kind in ("dwarf", "giant"):
        for lo, hi in bins:
            r = [s for s in fgk_real if s["kind"] == kind and lo <= s["teff"] < hi]
            m = [s for s in fgk_sim if s["kind"] == kind and lo <= s["teff"] < hi]
            if not m:
                continue
            cells = []
            for name in (*INDICES, "CH_4300"):
                mr, sr, nr = _summary([s[name] for s in r])
                ms, ss, _ = _summary([s[name] for s in m])
                cells.append(f"{name} {mr:5.2f}±{sr:4.2f} | {ms:5.2f}±{ss:4.2f}")
            print(f"  {kind:5s} {lo}-{hi} K (n={len(r):2d})  " + "   ".join(cells))
    for name in (*INDICES, "CH_4300"):
        pairs = np.array([(fgk_real[m["real"]][name], m[name]) for m in fgk_sim])
        good = np.isfinite(pairs).all(axis=1)
        difference = pairs[good, 1] - pairs[good, 0]
        print(
            f"  {name}: twin difference sim − real {difference.mean():+.2f}, "
            f"rms {np.sqrt(np.mean(difference**2)):.2f}, "
            f"correlation {np.corrcoef(pairs[good].T)[0, 1]:.2f} (n={good.sum()})"
        )

    print_db_he_i(args.data, seeds)
    print_be_stars(args.data, seeds)
    print_carbon_stars(seeds)
    print_novae(seeds)
    _figure(args.figure, m_real, m_sim, balmer_real, wd_real, balmer_sim, fgk_real, fgk_sim)
    print(f"\nwrote {args.figure}")


def _m_row(sample):
    """The `M_ROWS` key of a real star (K4-K5 III, K7 V, M0-M9), or None."""
    name = f"{sample['letter']}{int(sample['number'])}"
    return name if sample["kind"] in M_ROWS and name in M_ROWS[sample["kind"]] else None


def real_extra_m_stars(data):
    """The M giants, Miras and M dwarfs of ``real_extra`` at LAMOST quality (S/N 100), as samples.

    Extreme subdwarfs and stars without a subtype are left out (their types do not parse).
    """
    root = data / "real_extra"
    samples = []
    for entry in manifest(root) if (root / "manifest.csv").is_file() else ():
        if entry["label_class"] not in ("m_giant", "confuser:m_dwarf"):
            continue
        text = re.sub(r"(\d)e\b", r"\1", entry["label_subtype"].replace("Mira / ", ""))
        parsed = _parse_type(text.replace("(dwarf)", "V"))
        if parsed is None or parsed[2] is None:
            continue
        spectrum, redshift, _ = real_extra_spectrum(root, entry, snr=100, seed=0)
        samples.append(
            dict(
                spectrum=spectrum,
                redshift=redshift,
                letter=parsed[0],
                number=parsed[1],
                kind=parsed[2],
                source="real_extra",
                label=entry["object_name"],
            )
        )
    return samples


def print_m_stars(real, data, seeds):
    """Band depths and the expert's indices of real K4 III-M9 stars against simulated ones of the
    same subtypes (at the subtype's Teff); returns the real and simulated rows for the figure."""
    m_real = [s for s in (*real, *real_extra_m_stars(data)) if _m_row(s)]
    for s in m_real:
        s.update(m_measurements(s["spectrum"], s.get("redshift", 0.0)))
    m_sim = simulate_m_stars(seeds)
    sources = sorted({s["source"] for s in m_real})
    for title, keys in (
        ("Molecular band depths (band_strength)", M_BANDS),
        ("Band depths beyond 7410 Å (band_strength)", M_RED_BANDS),
        ("The expert's indices (TiO5, CaH1-3; CaH excess above its M-dwarf locus)", M_INDICES),
    ):
        print(
            f"{title} of K4 III-M9 stars: real mean±sd (n; {', '.join(sources)}) | "
            "simulated at the subtype's Teff, [Fe/H] = 0"
        )
        deviations = {key: [] for key in keys}
        for kind in ("dwarf", "giant"):
            for subtype, number in M_ROWS[kind].items():
                real_here = [s for s in m_real if s["kind"] == kind and _m_row(s) == subtype]
                sim_here = next(r for r in m_sim if r["kind"] == kind and r["number"] == number)
                cells = []
                for key in keys:
                    mean_s, sd_s, _ = _summary(sim_here[key])
                    mean_r, sd_r, n_r = _summary([s[key] for s in real_here])
                    real_cell = f"{mean_r:5.2f}±{sd_r:4.2f}({n_r:2d})" if n_r else f"{'-':^15s}"
                    cells.append(f"{key} {real_cell} | {mean_s:5.2f}±{sd_s:4.2f}")
                    if n_r:
                        deviations[key].append(mean_s - mean_r)
                print(f"  {subtype} {kind:5s}  " + "   ".join(cells))
        for key, values in deviations.items():
            print(
                f"  {key}: mean difference sim − real {np.mean(values):+.3f}, "
                f"rms {np.sqrt(np.mean(np.square(values))):.3f} over {len(values)} types"
            )
        print()
    return m_real, m_sim


def print_db_he_i(data, seeds):
    """He I equivalent widths of the DB standard against DBs simulated at its Teff and log g, and
    along the DB temperature range."""
    standards = white_dwarf_standards(data, kind="DB")
    print("\nHe I EW (Å) of DB white dwarfs: real | simulated at the same Teff, log g")
    print("  (40 Å windows: the broad lines of the hottest DBs overflow them, He I 6678 first)")
    for name, spectrum in standards:
        simulated = _simulated("white_dwarf", seeds, snr=80.0, subtype="DB", **LDS_749B)
        cells = []
        for line in HE_I_LINES:
            real_ew = pseudo_ew(spectrum, line, HE_I_LINES)
            sim_ew = _summary([pseudo_ew(s, line, HE_I_LINES) for s in simulated])
            cells.append(f"{line} {real_ew:4.1f} | {sim_ew[0]:4.1f}±{sim_ew[1]:3.1f}")
        print(f"  {name:10s} " + "   ".join(cells))
    for teff in (12000.0, 15000.0, 20000.0, 25000.0, 30000.0):
        simulated = _simulated("white_dwarf", seeds, snr=80.0, subtype="DB", teff=teff, logg=8.0)
        ews = [
            np.nanmean([pseudo_ew(s, line, HE_I_LINES) for s in simulated]) for line in HE_I_LINES
        ]
        print(
            f"    simulated DB {teff:6.0f} K: "
            + "  ".join(f"{line} {ew:4.1f}" for line, ew in zip(HE_I_LINES, ews, strict=True))
        )
    root = data / "real_extra"
    for entry in manifest(root) if (root / "manifest.csv").is_file() else ():
        if entry["label_subtype"].startswith("DB"):
            spectrum, _, _ = real_extra_spectrum(root, entry, snr=200, seed=0)
            ews = [pseudo_ew(spectrum, line, HE_I_LINES) for line in HE_I_LINES]
            print(
                f"    real_extra {entry['object_name']} ({entry['file'].split('/')[0]}, Teff not "
                "given): "
                + "  ".join(f"{line} {ew:4.1f}" for line, ew in zip(HE_I_LINES, ews, strict=True))
            )


#: H alpha pseudo-equivalent width (rest, vacuum Å): line, blue and red continuum windows.
H_ALPHA = {"H alpha": ((6548.0, 6580.0), (6500.0, 6530.0), (6600.0, 6630.0))}


def _net_h_alpha(spectrum, redshift=0.0):
    """Net H alpha equivalent width (Å; negative in emission) in the observed frame."""
    windows = {
        name: tuple(tuple(x * (1 + redshift) for x in pair) for pair in pairs)
        for name, pairs in H_ALPHA.items()
    }
    return pseudo_ew(spectrum, "H alpha", windows)


def print_be_stars(data, seeds):
    """Net H alpha EW of simulated Be stars against the range typical of Be stars (-5 to -60 Å,
    Rivinius, Carciofi & Martayan 2013) and the one real LAMOST H alpha emitter of ``real``."""
    simulated = _simulated("be_star", range(15 * len(seeds)), snr=50.0)
    net = np.array([_net_h_alpha(s, s.meta["redshift"]) for s in simulated])
    print(
        f"\nBe stars, net H alpha EW (Å, emission < 0) of {net.size} simulated: "
        f"10/50/90 % {np.percentile(net, 10):.1f} / {np.median(net):.1f} / "
        f"{np.percentile(net, 90):.1f}; no visible emission (> -1 Å): {(net > -1).sum()}, "
        f"weaker than -5 Å: {(net > -5).sum()}; typical of Be stars: -5 to -60 Å"
    )
    manifest_path = data / "real" / "manifest.csv"
    if manifest_path.is_file():
        with open(manifest_path) as handle:
            for row in csv.DictReader(handle):
                if "Halpha-emission" in row["label"]:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        spectrum = read_survey_spectrum(data / "real" / row["file"])
                    print(
                        f"  real LAMOST {row['label'].split('|')[0].strip()} (Ondřejov H alpha "
                        f"emitter): {_net_h_alpha(spectrum):.1f} Å"
                    )


SWAN_BANDS = ("C2_4737", "C2_5165", "C2_5636")


def print_carbon_stars(seeds):
    """Swan band depths of simulated carbon stars per subtype (none reach zero flux: real N stars
    show C2 5165 depths of about 0.3-0.6 at R ≈ 1800)."""
    rows = {}
    for spectrum in _simulated("carbon_star", range(10 * len(seeds)), snr=50.0):
        depths = [band_depth(spectrum, band) for band in SWAN_BANDS]
        rows.setdefault(spectrum.meta["subtype"].split()[0], []).append(depths)
    print("\nCarbon stars, Swan band depths (band_strength) of simulated stars: median [min-max]")
    for subtype, depths in sorted(rows.items()):
        cells = [
            f"{band} {np.median(column):.2f} [{column.min():.2f}-{column.max():.2f}]"
            for band, column in zip(SWAN_BANDS, np.array(depths).T, strict=True)
        ]
        print(f"  {subtype:4s} (n={len(depths):2d})  " + "   ".join(cells))


def _nova_lines(spectrum, redshift=0.0):
    """H alpha EW and FWHM, H beta, He II 4686 and He I 5876 EWs over H alpha's, and [O III] 5007
    EW and FWHM (Å), measured as the expert measures emission."""
    from spec_o3.agent.expert_rules.toolkit import CV_LINES, RestSpectrum

    rest = RestSpectrum(spectrum, redshift)
    found = {line.name: line.emission(rest) for line in CV_LINES}
    ew = {name: (m["ew"].value.value if m else np.nan) for name, m in found.items()}
    halpha = ew["H alpha"]
    return (
        halpha,
        found["H alpha"]["fwhm"].value.value,
        ew["H beta"] / halpha,
        ew["He II 4686"] / halpha,
        ew["He I 5876"] / halpha,
        ew["[O III] 5007"],
        found["[O III] 5007"]["fwhm"].value.value,
    )


def print_novae(seeds):
    """Emission lines of the real classical novae (real_extra, degraded to LAMOST quality as the
    validation degrades them) against simulated nebular novae."""
    import validate_expert_real as validation  # beside this script

    names = ("Hα EW", "Hα FWHM", "Hβ/Hα", "He II/Hα", "He I/Hα", "[O III] EW", "[O III] FWHM")
    real = []
    root = validation.SHARED / "real_extra"
    for entry in manifest(root):
        if entry["label_subtype"].startswith("classical nova"):
            spectrum, redshift, _ = real_extra_spectrum(root, entry, snr=30, seed=0)
            real.append(_nova_lines(spectrum, redshift))
    simulated = [
        _nova_lines(s, s.meta["redshift"])
        for s in _simulated(
            "cataclysmic_variable", range(4 * len(seeds)), snr=30.0, subtype="classical nova"
        )
    ]
    print(
        "\nClassical novae, emission at R = 1800 (median [min-max]): "
        f"real ({len(real)}) | simulated nebular novae ({len(simulated)})"
    )
    for name, column_real, column_sim in zip(
        names, np.array(real).T, np.array(simulated).T, strict=True
    ):
        cells = [
            f"{np.nanmedian(c):7.2f} [{np.nanmin(c):.2f}-{np.nanmax(c):.2f}]"
            for c in (column_real, column_sim)
        ]
        print(f"  {name:13s} {cells[0]:>24s} | {cells[1]}")


def _figure(path, m_real, m_sim, balmer_real, wd_real, balmer_sim, fgk_real, fgk_sim):
    fig, axes = plt.subplots(2, 3, figsize=(15, 8.5))
    colours = {"dwarf": "tab:red", "giant": "tab:blue"}
    for ax, band in zip(axes[0, :2], ("TiO5", "CaH excess"), strict=True):
        for kind in ("dwarf", "giant"):
            real = [(M_ROWS[kind][_m_row(s)], s[band]) for s in m_real if s["kind"] == kind]
            if real:
                x, y = np.array(real).T
                ax.scatter(
                    x + (0.1 if kind == "giant" else -0.1),
                    y,
                    c=colours[kind],
                    marker="o",
                    s=22,
                    label=f"real K/M {kind}s",
                )
            sim = [(r["number"], *_summary(r[band])[:2]) for r in m_sim if r["kind"] == kind]
            x, mean, sd = np.array(sim).T
            ax.errorbar(
                x,
                mean,
                yerr=sd,
                color=colours[kind],
                ls="--",
                marker="s",
                mfc="none",
                capsize=2,
                label=f"simulated {kind}s",
            )
        ax.set(
            xlabel="M subtype (-2 = K4 III, -1 = K5 III / K7 V)",
            ylabel=band,
            title=f"{band} (the expert's M-star index)",
        )
        ax.legend(fontsize=7)
    ax = axes[0, 2]
    for kind, colour, label in (
        ("ab_star", "tab:orange", "A/B stars"),
        ("bhb_star", "tab:green", "BHB"),
        ("white_dwarf", "tab:purple", "DA white dwarfs"),
    ):
        rows = [r for r in balmer_sim if r["kind"] == kind]
        ax.scatter(
            [r["fwhm"] for r in rows],
            [r["ew"] for r in rows],
            facecolors="none",
            edgecolors=colour,
            marker="s",
            s=25,
            label=f"simulated {label}",
        )
    for name, marker, colour in (("A0-A5 V", "o", "tab:orange"), ("BHB", "o", "tab:green")):
        rows = [(f, e) for n, e, f in balmer_real if n.startswith(name)]
        if rows:
            f, e = np.array(rows).T
            ax.scatter(f, e, c=colour, marker=marker, s=22, label=f"real {name}")
    if wd_real:
        ax.scatter(
            [f for _, _, f in wd_real],
            [e for _, e, _ in wd_real],
            c="tab:purple",
            marker="*",
            s=70,
            label="real DA standards",
        )
    ax.set(
        xscale="log",
        xlabel="Hβ FWHM (Å, R = 1800)",
        ylabel="Hβ equivalent width (Å)",
        title="Balmer widths: A stars vs white dwarfs",
    )
    ax.legend(fontsize=7)
    for ax, name in zip(axes[1], (*INDICES, "CH_4300"), strict=False):
        for kind in ("dwarf", "giant"):
            pairs = np.array(
                [(fgk_real[m["real"]][name], m[name]) for m in fgk_sim if m["kind"] == kind]
            )
            if pairs.size:
                ax.scatter(
                    pairs[:, 0], pairs[:, 1], c=colours[kind], s=14, alpha=0.7, label=f"{kind}s"
                )
        finite = [
            v for m in fgk_sim for v in (m[name], fgk_real[m["real"]][name]) if np.isfinite(v)
        ]
        if finite:
            lo, hi = min(finite), max(finite)
            ax.plot([lo, hi], [lo, hi], "k:", lw=1)
        unit = "depth" if name == "CH_4300" else "pseudo-EW (Å)"
        ax.set(
            xlabel=f"MILES star {unit}", ylabel=f"simulated twin {unit}", title=f"{name}: FGK twins"
        )
        ax.legend(fontsize=7)
    fig.suptitle("spec_o3.simulate against real spectra of the same types", fontsize=12)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80)


if __name__ == "__main__":
    main()
