"""Catalogue-scale vetting: stream a list of spectra through workers, resumably.

`vet_catalog` vets every spectrum of a `Catalog` for one task and writes one row per spectrum to a
table (``.ecsv``, ``.csv`` or ``.parquet``), in catalogue order. It is built for 10⁴–10⁶ files:

- the catalogue is streamed (a first pass counts and fingerprints it) and each spectrum is read by
  the worker that vets it, so memory stays flat whatever the catalogue's length;
- work goes out in chunks of ``chunk_size`` spectra, a bounded number at a time, to this process,
  to worker processes (``workers``), to threads waiting on a model server (``concurrency``) or to
  a Dask distributed cluster (``scheduler``);
- each finished chunk is appended to a journal next to the output (``OUT.journal``: a JSON header
  line, then one JSON line per row) in one write followed by ``fsync``. A run killed at any moment
  loses only the chunks in flight: ``resume=True`` drops a torn last line, vets what has no row,
  and the table is then written from the journal to a temporary file renamed over the output, so
  no row is missing or duplicated;
- a spectrum that cannot be read or vetted becomes a *failed* row -- no verdict, and an ``error``
  naming the file and the reason -- and the run goes on; ``resume=True, retry_failed=True`` vets
  those spectra again.

The modules: ``spec_o3.batch.catalog`` reads catalogues, ``spec_o3.batch.workers`` vets chunks
wherever they run, ``spec_o3.batch.results`` holds the rows, the journal and the output table, and
``spec_o3.batch.run`` ties them together in `vet_catalog`. See :doc:`/batch`.
"""

from .catalog import (
    ID_COLUMNS,
    PATH_COLUMNS,
    REDSHIFT_COLUMNS,
    TARGETID_COLUMNS,
    Catalog,
    CatalogEntry,
)
from .results import COLUMNS, failed_row, result_row
from .run import BatchSummary, vet_catalog

__all__ = [
    "COLUMNS",
    "ID_COLUMNS",
    "PATH_COLUMNS",
    "REDSHIFT_COLUMNS",
    "TARGETID_COLUMNS",
    "BatchSummary",
    "Catalog",
    "CatalogEntry",
    "failed_row",
    "result_row",
    "vet_catalog",
]
