"""
A last-resort reader that explains why a file named like FITS cannot be read.

Without it, `specutils.Spectrum.read` answers a truncated or corrupt ``.fits`` file with "Format
could not be identified", because every identifier fails silently. This loader identifies exactly
those files (the name says FITS, the bytes do not parse as FITS) at the lowest priority, and raises
an `OSError` that names the file and astropy's complaint.
"""

import os
import re

from specutils.io.registers import data_loader

from ._fits import fits_problem, identifier_source, source_name

__all__ = ["identify_unreadable_fits", "unreadable_fits_loader"]

_FITS_NAME = re.compile(r"\.(fits?|fts)(\.(gz|bz2|xz))?$", re.IGNORECASE)


def identify_unreadable_fits(origin, *args, **kwargs):
    """True for a path named ``*.fits``, ``*.fit`` or ``*.fts`` (maybe gzipped) but not FITS."""
    path = args[0] if args else None
    return (origin == "read" and isinstance(path, (str, os.PathLike))
            and _FITS_NAME.search(str(path)) is not None
            and fits_problem(identifier_source(args)) is not None)


@data_loader("unreadable-FITS", identifier=identify_unreadable_fits,
             extensions=["fits", "fit", "fts"], priority=-100)
def unreadable_fits_loader(file_obj):
    """Raise an `OSError` naming ``file_obj`` and why it is not readable FITS."""
    raise OSError(fits_problem(file_obj) or f"{source_name(file_obj)}: not a readable FITS file")
