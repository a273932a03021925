"""Package data: the line list and molecular-band catalogue (ECSV) and task definitions."""
