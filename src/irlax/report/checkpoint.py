"""Checkpoints: a pytree's leaves (and a few named extra arrays) in one atomically written ``.npz``.

The tree structure is not stored: loading takes a *template* tree of the same
structure (e.g. a freshly initialised state) and checks every leaf's shape and
dtype against it, so a checkpoint from another configuration is refused with a
clear message instead of being silently misread.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jax
import numpy as np

from irlax.atomic import atomic_save_npz, read_npz
from irlax.errors import IrlaxError

LEAF = "leaf_"


def save_pytree(path: str | Path, tree: Any, **extra: Any) -> Path:
    """Write the leaves of ``tree`` (as ``leaf_0``, ``leaf_1``, ...) and ``extra`` arrays to ``path`` atomically."""
    arrays = {f"{LEAF}{i}": np.asarray(leaf) for i, leaf in enumerate(jax.tree.leaves(tree))}
    clash = set(arrays) & set(extra)
    if clash:
        raise IrlaxError(f"extra checkpoint names clash with leaves: {sorted(clash)}")
    arrays.update({k: np.asarray(v) for k, v in extra.items()})
    return atomic_save_npz(path, **arrays)


def load_pytree(path: str | Path, template: Any) -> tuple[Any, dict[str, np.ndarray]]:
    """Read a checkpoint into the structure of ``template``: ``(tree, extra arrays)``.

    Raises:
        IrlaxError: a missing or unreadable file, or leaves that don't match the template.
    """
    path = Path(path)
    arrays = read_npz(path, "checkpoint")
    leaves, treedef = jax.tree.flatten(template)
    stored = sorted((k for k in arrays if k.startswith(LEAF)), key=lambda k: int(k[len(LEAF):]))
    if len(stored) != len(leaves):
        raise IrlaxError(f"checkpoint {path} has {len(stored)} arrays, this run's state has {len(leaves)}")
    loaded = []
    for i, (key, like) in enumerate(zip(stored, leaves, strict=True)):
        value = arrays[key]
        if value.shape != np.shape(like) or value.dtype != np.asarray(like).dtype:
            raise IrlaxError(
                f"checkpoint {path}: array {i} is {value.dtype}{list(value.shape)}, this run expects "
                f"{np.asarray(like).dtype}{list(np.shape(like))} (another configuration, or another version of irlax?)"
            )
        loaded.append(value)
    extra = {k: v for k, v in arrays.items() if not k.startswith(LEAF)}
    return jax.tree.unflatten(treedef, loaded), extra
