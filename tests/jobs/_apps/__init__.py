"""Worker apps and helpers that tests start in subprocesses."""
