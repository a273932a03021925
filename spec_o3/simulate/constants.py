"""Physical constants in the simulator's units (km/s, Å, cgs), from `astropy.constants`.

The model works with plain floats; each constant is converted once, here.
"""

import astropy.units as u
import numpy as np
from astropy.constants import G, M_sun, Ryd, c, e, h, k_B, m_e, m_p, sigma_T
from astropy.constants import u as atomic_mass_unit
from scipy.constants import physical_constants

__all__ = [
    "C_KMS",
    "C_CGS",
    "HC_OVER_K",
    "K_B_CGS",
    "AMU_G",
    "G_CGS",
    "M_SUN_G",
    "SIGMA_T_CGS",
    "RYDBERG_H",
    "RYDBERG_HE_II",
    "CYCLOTRON_WAVELENGTH_MG",
    "ZEEMAN_SHIFT",
]

#: Speed of light in km/s.
C_KMS = float(c.to_value(u.km / u.s))
#: Speed of light in cm/s.
C_CGS = float(c.cgs.value)
#: h c / k in Å K (black bodies).
HC_OVER_K = float((h * c / k_B).to_value(u.AA * u.K))
#: Boltzmann constant in erg/K.
K_B_CGS = float(k_B.cgs.value)
#: Atomic mass unit in g.
AMU_G = float(atomic_mass_unit.cgs.value)
#: Gravitational constant in cm³ g⁻¹ s⁻².
G_CGS = float(G.cgs.value)
#: Solar mass in g.
M_SUN_G = float(M_sun.cgs.value)
#: Thomson cross-section in cm².
SIGMA_T_CGS = float(sigma_T.cgs.value)
#: Rydberg constant of hydrogen (reduced mass of the proton) in cm⁻¹.
RYDBERG_H = float(Ryd.to_value(1 / u.cm) / (1 + m_e / m_p))
#: Rydberg constant of He⁺ (reduced mass of the alpha particle) in cm⁻¹; Z² = 4 applied apart.
RYDBERG_HE_II = float(
    Ryd.to_value(1 / u.cm) / (1 + m_e.value / physical_constants["alpha particle mass"][0])
)
#: Cyclotron fundamental λ_c = 2π m_e c²/(e B) in Å for B = 1 MG (Gaussian units).
CYCLOTRON_WAVELENGTH_MG = float(2 * np.pi * m_e.cgs.value * C_CGS**2 / (e.gauss.value * 1e6) * 1e8)
#: Linear Zeeman shift Δλ = ZEEMAN_SHIFT λ² B of the σ components, λ in Å and B in G:
#: e/(4π m_e c²) in Gaussian units, in Å⁻¹ G⁻¹.
ZEEMAN_SHIFT = float(e.gauss.value / (4 * np.pi * m_e.cgs.value * C_CGS**2) * 1e-8)
