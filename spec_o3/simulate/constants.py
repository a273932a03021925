"""Physical constants in the units the simulator computes in (km/s, Å), from `astropy.constants`."""

import astropy.units as u
from astropy.constants import c

__all__ = ["C_KMS"]

#: Speed of light in km/s.
C_KMS = float(c.to_value(u.km / u.s))
