"""Score the scripted expert on every real spectrum degraded to DESI quality instead of LAMOST's.

The same validation as ``validate_expert_real.py`` (same sets, options and printout), but each
library, standard-star and ``real_extra`` spectrum is degraded with
``degrade_to_survey(..., survey="desi")``: onto DESI's joined b/r/z axis (0.8 Å, 3600-9824 Å), each
arm at its own resolution (R ≈ 2600, 3700, 4600), noise rising at both ends. The observed LAMOST
and SDSS files are scored as observed, as there. Comparing the two runs shows what DESI's coverage
(the Ca II triplet and Na I 8190 in the z arm) and resolution change for the expert.

Run: ``python benchmarks/validate_expert_desi.py [--snr 5 10 30 50] [--seeds 2] [--sets ...]
[--list-errors]``
"""

import functools

import validate_expert_real

from spec_o3.simulate.instrument import degrade_to_survey

if __name__ == "__main__":
    validate_expert_real.extra.degrade_to_survey = functools.partial(
        degrade_to_survey, survey="desi"
    )
    validate_expert_real.main()
