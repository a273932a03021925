"""The real reference spectra behind more dust (``validate_expert_real.py --ebv``) get the dust the
simulator gives its own spectra."""

import numpy as np
import pytest
from reference_spectra import reddened

from spec_o3.simulate.extinction import redden
from spec_o3.simulate.instrument import interstellar_absorption


def test_no_more_dust_leaves_the_flux_alone():
    wave = np.linspace(3000.0, 10000.0, 701)
    flux = np.linspace(1.0, 2.0, 701)
    assert reddened(wave, flux, 0.0) is flux


@pytest.mark.parametrize("step", [0.9, 2.0, 4.2])  # MILES, Oke (1990), SNfactory pixels
def test_reddening_and_interstellar_lines_are_the_simulators(step):
    wave = np.arange(3000.0, 9500.0, step)
    dimmed = reddened(wave, np.ones_like(wave), 0.3)
    continuum = (wave > 6000) & (wave < 6500)
    np.testing.assert_allclose(dimmed[continuum], redden(wave[continuum], 0.3), rtol=1e-12)
    # The Na D lines, narrower than the pixels, keep the simulator's equivalent width.
    fine = np.linspace(5870.0, 5920.0, 50001)
    expected = np.trapezoid(1 - interstellar_absorption(fine, 0.3), fine)
    na_d = (wave > 5870) & (wave < 5920)
    absorbed = np.sum((1 - dimmed[na_d] / redden(wave[na_d], 0.3)) * step)
    assert absorbed == pytest.approx(expected, rel=0.01)
    assert expected > 1.0
