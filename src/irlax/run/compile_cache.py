"""JAX's persistent compilation cache: compiled programs kept on disk, so a repeated run skips XLA.

The ``irlax`` command turns it on by default (``--no-compile-cache`` or
``IRLAX_COMPILE_CACHE=0`` turns it off); a library user calls
:func:`enable_compile_cache` once. Programs are cached in
``$IRLAX_CACHE_DIR``, else ``$XDG_CACHE_HOME/irlax/jax``, else
``~/.cache/irlax/jax``. JAX keys each entry by the program, its shapes, the JAX
and XLA versions and the device, so a stale entry is never used; the cache is
bounded (``max_bytes``): when it is turned on, the least recently used entries
(by the file system's access and write times) go until the rest fit
(:func:`prune_cache`). JAX's own bound is not used: it lists and stats every
entry at each write, which with 1,600 entries made a first GAIL run on Hopper
67 s instead of 52 s, and grows with the cache.

Tracing and lowering still happen in every process (they are Python); what the
cache skips is XLA's optimisation and code generation, most of a first compile.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from pathlib import Path

import jax
from jax.experimental.compilation_cache import compilation_cache

from irlax.errors import IrlaxWarning

ENV_SWITCH = "IRLAX_COMPILE_CACHE"
"""Environment variable: ``0`` (or ``off``, ``false``, ``no``) turns the command line's cache off."""

ENV_DIR = "IRLAX_CACHE_DIR"
"""Environment variable: the cache directory."""


def default_cache_dir() -> Path:
    """``$IRLAX_CACHE_DIR``, else ``$XDG_CACHE_HOME/irlax/jax``, else ``~/.cache/irlax/jax``."""
    if os.environ.get(ENV_DIR):
        return Path(os.environ[ENV_DIR]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "irlax" / "jax"


def cache_wanted(flag_off: bool = False) -> bool:
    """Whether the command line should use the cache: not ``--no-compile-cache`` and not ``IRLAX_COMPILE_CACHE=0``."""
    return not flag_off and os.environ.get(ENV_SWITCH, "1").strip().lower() not in ("0", "off", "false", "no")


def enable_compile_cache(path: str | Path | None = None, min_compile_seconds: float = 0.0,
                         max_bytes: int = 2 * 1024**3) -> Path | None:
    """Turn on JAX's persistent compilation cache in ``path`` (default :func:`default_cache_dir`).

    Programs that take at least ``min_compile_seconds`` to compile are cached (by default every one: a repeated
    command loads its small programs too, which takes less time than compiling them). The folder is first pruned
    to ``max_bytes`` (:func:`prune_cache`); what this process writes comes on top until the next one prunes.
    Returns the directory, or ``None`` (with an :class:`~irlax.errors.IrlaxWarning`) when it cannot be created or
    written: runs go on uncached.
    """
    folder = Path(path).expanduser() if path is not None else default_cache_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".probe-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        warnings.warn(f"compilation cache {folder} is not writable ({exc.strerror or exc}); compiling afresh",
                      IrlaxWarning, stacklevel=2)
        return None
    prune_cache(folder, max_bytes)
    compilation_cache.reset_cache()  # JAX opens its cache once per process: a new folder needs a fresh one
    jax.config.update("jax_compilation_cache_dir", str(folder))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", float(min_compile_seconds))
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    jax.config.update("jax_compilation_cache_max_size", -1)  # no per-write scan: pruned once here instead
    return folder


CACHE_SUFFIX, ATIME_SUFFIX = "-cache", "-atime"
"""Names of JAX's cache files: ``KEY-cache`` holds a program, ``KEY-atime`` (written while JAX's own bound is
on) its last use."""


def prune_cache(folder: str | Path, max_bytes: int) -> int:
    """Remove the least recently used programs from a compilation-cache folder until the rest take at most
    ``max_bytes``; the bytes removed.

    An entry's last use is the latest of its file's access and modification times and of its ``-atime`` companion's
    modification time; both files go. Entries another process removes meanwhile are skipped.
    """
    files = {}
    try:
        with os.scandir(folder) as listing:
            for entry in listing:
                with contextlib.suppress(OSError):  # removed by another process meanwhile
                    if entry.is_file(follow_symlinks=False):  # JAX's entries are files; anything else is not ours
                        files[entry.name] = entry.stat(follow_symlinks=False)
    except OSError:
        return 0
    entries = []
    for name, stat in files.items():
        if not name.endswith(CACHE_SUFFIX):
            continue
        key = name.removesuffix(CACHE_SUFFIX)
        companion = files.get(key + ATIME_SUFFIX)
        used = max(stat.st_atime, stat.st_mtime, companion.st_mtime if companion is not None else 0.0)
        entries.append((used, key, stat.st_size))
    total = sum(size for *_, size in entries)
    removed = 0
    for _, key, size in sorted(entries):
        if total - removed <= max_bytes:
            break
        for name in (key + CACHE_SUFFIX, key + ATIME_SUFFIX):
            with contextlib.suppress(OSError):
                os.unlink(os.path.join(folder, name))
        removed += size
    return removed


def disable_compile_cache() -> None:
    """Turn the persistent cache off again (programs compile afresh in this process, and none is written).

    JAX keeps the cache it opened for the rest of the process unless it is reset, so this resets it too."""
    jax.config.update("jax_compilation_cache_dir", None)
    compilation_cache.reset_cache()
