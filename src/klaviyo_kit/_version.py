"""The distribution version, in one place for the build backend and ``__version__``."""

__version__ = "0.1.0"
