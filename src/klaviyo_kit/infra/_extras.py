"""Lazy imports of optional dependencies, naming the extra that provides them."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from types import ModuleType


def require(module: str, extra: str) -> ModuleType:
    """Import ``module`` or explain which klaviyo-kit extra installs it.

    Args:
        module: The module to import, for example ``"redis"``.
        extra: The klaviyo-kit extra that depends on it, for example ``"redis"``.

    Returns:
        The imported module.

    Raises:
        ImportError: If the module is not installed; the message names the extra.
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        msg = f"{module} is not installed: pip install 'klaviyo-kit[{extra}]'"
        raise ImportError(msg, name=module) from exc
