"""The fakesnow internals the patches replace, looked up in one place.

A fakesnow upgrade that renames or removes one fails here, naming the patch to review, instead
of as a confusing error in the middle of a load.
"""

from __future__ import annotations

import importlib


class FakesnowChanged(RuntimeError):
    """The pinned fakesnow's internals moved: a patch in local/emulator needs review."""


def internal(module: str, attribute: str, patch: str):
    """`module.attribute` of fakesnow (a dotted attribute path), or FakesnowChanged."""
    target = importlib.import_module(module)
    value = target
    for part in attribute.split("."):
        if not hasattr(value, part):
            raise FakesnowChanged(
                f"{module}.{attribute} is gone in this fakesnow: local/emulator/{patch}.py needs "
                "review (see its guard tests in test/local/emulator/)"
            )
        value = getattr(value, part)
    return value


def replace(module: str, attribute: str, patch: str, replacement) -> object:
    """Swap `module.attribute` for `replacement`; return the original."""
    original = internal(module, attribute, patch)
    owner_path, _, name = attribute.rpartition(".")
    owner = internal(module, owner_path, patch) if owner_path else importlib.import_module(module)
    setattr(owner, name, replacement)
    return original
