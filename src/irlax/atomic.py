"""Atomic file writes: a reader sees the old file or the new one, never half of one.

Every writer here goes through :func:`_atomic_write`: it writes to a hidden
temporary file in the target's own directory (so ``os.replace`` is a rename on
one file system), flushes and fsyncs it, then renames it over the target. If
anything fails, the temporary file is removed and the old target is untouched.
Parent directories are created as needed.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import os
import secrets
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, Any

import numpy as np

PathLike = str | os.PathLike[str]

__all__ = [
    "atomic_save_npy",
    "atomic_save_npz",
    "atomic_savefig",
    "atomic_write_bytes",
    "atomic_write_json",
    "atomic_write_text",
    "to_jsonable",
]


def _open_temp(path: Path) -> tuple[int, Path]:
    """Create a new hidden temp file next to ``path``; the mode follows the umask."""
    while True:
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), tmp
        except FileExistsError:  # pragma: no cover - 48 random bits collided
            continue


def _fsync_dir(directory: Path) -> None:
    """Best-effort fsync of a directory so the rename itself is durable."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - e.g. Windows cannot open directories
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - some file systems refuse
        pass
    finally:
        os.close(fd)


def _atomic_write(path: PathLike, write: Callable[[IO[bytes]], None]) -> Path:
    """Call ``write(file)`` on a temp file, fsync it, and rename it onto ``path``."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = _open_temp(target)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(target.parent)
    return target


def atomic_write_bytes(path: PathLike, data: bytes) -> Path:
    """Atomically write ``data`` to ``path``; returns the path written."""
    return _atomic_write(path, lambda f: f.write(data))


def atomic_write_text(path: PathLike, text: str, encoding: str = "utf-8") -> Path:
    """Atomically write ``text`` (encoded with ``encoding``) to ``path``."""
    return atomic_write_bytes(path, text.encode(encoding))


def to_jsonable(obj: Any) -> Any:
    """Convert ``obj`` to plain JSON types (dict, list, str, int, float, bool, None).

    Handles numpy and JAX scalars and arrays (anything with ``__array__``),
    dataclasses, NamedTuples, mappings, sequences, paths and enums. Mapping keys
    become strings. Non-finite floats stay floats (written as ``NaN`` /
    ``Infinity``, which Python's ``json`` reads back). Raises ``TypeError`` for
    anything else.
    """
    if obj is None or isinstance(obj, bool | int | float | str):
        return obj
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, enum.Enum):
        return to_jsonable(obj.value)
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, tuple) and hasattr(obj, "_asdict"):
        return to_jsonable(obj._asdict())
    if isinstance(obj, Mapping):
        return {str(to_jsonable(k)): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [to_jsonable(v) for v in obj]
    if hasattr(obj, "__array__"):
        return to_jsonable(np.asarray(obj).tolist())
    raise TypeError(f"cannot convert {type(obj).__name__} to JSON")


def atomic_write_json(path: PathLike, obj: Any) -> Path:
    """Atomically write ``obj`` as JSON (sorted keys, indent 2, trailing newline).

    ``obj`` is first converted with :func:`to_jsonable`, so numpy/JAX values and
    dataclasses are accepted; an unconvertible value raises ``TypeError`` before
    anything is written.
    """
    text = json.dumps(to_jsonable(obj), sort_keys=True, indent=2) + "\n"
    return atomic_write_text(path, text)


def atomic_save_npy(path: PathLike, array: Any) -> Path:
    """Atomically save ``array`` (numpy, JAX or array-like) in ``.npy`` format."""
    data = np.asarray(array)
    return _atomic_write(path, lambda f: np.save(f, data, allow_pickle=False))


def atomic_save_npz(path: PathLike, /, **arrays: Any) -> Path:
    """Atomically save named arrays in an uncompressed ``.npz`` archive at ``path``."""
    data = {name: np.asarray(a) for name, a in arrays.items()}

    def write(f: IO[bytes]) -> None:
        # What np.savez does, minus its reserved keyword names ("file", ...).
        with zipfile.ZipFile(f, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
            for name, array in data.items():
                with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
                    np.lib.format.write_array(member, array, allow_pickle=False)

    return _atomic_write(path, write)


def atomic_savefig(path: PathLike, fig: Any, **savefig_kwargs: Any) -> Path:
    """Atomically save a matplotlib figure; the format comes from the suffix (default png)."""
    fmt = Path(path).suffix.lstrip(".").lower() or "png"
    return _atomic_write(path, lambda f: fig.savefig(f, format=fmt, **savefig_kwargs))


def read_npz(path: str | os.PathLike[str], what: str) -> dict[str, np.ndarray]:
    """All arrays of an ``.npz`` file, or :class:`~irlax.errors.IrlaxError` naming ``what`` and the problem.

    Refuses a missing, empty or unreadable file (and pickled objects).
    """
    from irlax.errors import IrlaxError

    path = Path(path)
    if not path.exists():
        raise IrlaxError(f"{what} file {path} does not exist")
    if path.stat().st_size == 0:
        raise IrlaxError(f"{what} file {path} is empty")
    if path.is_dir():
        raise IrlaxError(f"{what} file {path} is a directory, not an .npz file")
    with open(path, "rb") as file:
        magic = file.read(6)
    if not magic.startswith(b"PK") and magic != b"\x93NUMPY":  # neither a zip archive (.npz) nor an .npy
        raise IrlaxError(f"{what} file {path} is not an .npz file (not a zip archive of arrays)")
    try:
        data = np.load(path, allow_pickle=False)
        if not isinstance(data, np.lib.npyio.NpzFile):
            raise ValueError("it holds a single array, not an .npz archive")
        with data:
            return {key: data[key] for key in data.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise IrlaxError(f"{what} file {path} is not a readable .npz file ({exc})") from None
