"""Atomic file writes: a reader sees the old file or the new one, never half of one.

Every writer here goes through :func:`_atomic_write`: it writes to a hidden
temporary file in the target's own directory (so ``os.replace`` is a rename on
one file system), flushes and fsyncs it, then renames it over the target. If
anything fails, the temporary file is removed and the old target is untouched.
Parent directories are created as needed.

Temporary names are short and fixed in length (``.irlax-<process id>-<8 hex digits>.tmp``), so a
target whose name is near the file system's limit can still be written, and name
the process that writes them: :func:`sweep_temp_files` removes those a killed
process left behind. A write that fails (a full disk, no permission, a directory
in the way) raises :class:`~irlax.errors.IrlaxWriteError` naming the file and why;
:func:`check_output_file` and :func:`check_output_dir` refuse an unwritable output
before a command computes anything.
"""

from __future__ import annotations

import dataclasses
import enum
import errno
import json
import os
import re
import secrets
import shutil
import zipfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import IO, Any

import numpy as np

from irlax.errors import IrlaxError, IrlaxWriteError

PathLike = str | os.PathLike[str]

__all__ = [
    "atomic_save_npy",
    "atomic_save_npz",
    "atomic_write_dir",
    "atomic_savefig",
    "atomic_write_bytes",
    "atomic_write_json",
    "atomic_write_text",
    "check_output_dir",
    "check_output_file",
    "sweep_temp_files",
    "to_jsonable",
    "write_error",
]

_TEMP = re.compile(r"\.irlax-(\d+)-[0-9a-f]{8}\.tmp")
"""Names of temporary files: the writing process's id and 32 random bits."""


def _temp_name() -> str:
    """A new temporary file name (at most 27 characters, whatever the target's name)."""
    return f".irlax-{os.getpid()}-{secrets.token_hex(4)}.tmp"


def _open_temp(path: Path) -> tuple[int, Path]:
    """Create a new hidden temp file next to ``path``; the mode follows the umask."""
    while True:
        tmp = path.with_name(_temp_name())
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), tmp
        except FileExistsError:  # pragma: no cover - 32 random bits collided
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


def _not_a_directory(path: Path) -> Path | None:
    """The first of ``path``'s ancestors (or ``path``) that exists but is not a directory, if any."""
    for ancestor in reversed([path, *path.parents]):
        if ancestor.exists() and not ancestor.is_dir():
            return ancestor
    return None


def write_error(path: PathLike, exc: OSError, what: str | None = None) -> IrlaxWriteError:
    """The one-line :class:`~irlax.errors.IrlaxWriteError` for ``exc``, an :class:`OSError` writing ``path``.

    The message names what could not be written (``what``, default: the path) and why: ``cannot write PATH: no
    space left on device``; the error's ``errno`` is ``exc``'s.
    """
    path = Path(path)
    code = exc.errno
    if code in (errno.ENOTDIR, errno.EEXIST) and (obstacle := _not_a_directory(path)) is not None:
        reason = f"{obstacle} is a file, not a directory"
    elif code == errno.EISDIR:
        reason = "it is a directory"
    else:
        reason = (exc.strerror or str(exc)).lower()
    error = IrlaxWriteError(f"cannot write {what or path}: {reason}")
    error.errno = code
    return error


def _atomic_write(path: PathLike, write: Callable[[IO[bytes]], None]) -> Path:
    """Call ``write(file)`` on a temp file, fsync it, and rename it onto ``path``.

    Raises :class:`~irlax.errors.IrlaxWriteError` (the old ``path`` untouched, no temp file left) if it fails.
    """
    target = Path(path)
    if target.is_dir():
        raise write_error(target, IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR)))
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = _open_temp(target)
    except OSError as exc:
        raise write_error(target, exc) from exc
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError) and not isinstance(exc, IrlaxError):
            raise write_error(target, exc) from exc
        raise
    _fsync_dir(target.parent)
    return target


def _alive(pid: int) -> bool:
    """Whether process ``pid`` exists (on POSIX; elsewhere every process counts as alive)."""
    if pid == os.getpid() or os.name != "posix":
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # e.g. another user's process
        return True
    return True


def sweep_temp_files(directory: PathLike) -> list[Path]:
    """Remove the temporary files that writers of processes no longer running left in ``directory``.

    Only names of irlax's own temporary files whose process has ended are touched (a killed process never
    removes its own); a live process's are left alone. Returns the paths removed.
    """
    removed = []
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return removed
    for entry in entries:
        match = _TEMP.fullmatch(entry.name)
        if match and entry.is_file(follow_symlinks=False) and not _alive(int(match[1])):
            try:
                os.unlink(entry.path)
                removed.append(Path(entry.path))
            except OSError:
                pass
    return removed


def _check_writable_dir(directory: Path, what: Path, in_what: bool) -> None:
    """Refuse (naming ``what``, or ``in what``) if files can't be created in ``directory`` or in the ancestor
    that will hold it.

    The nearest existing ancestor must be a directory in which a file can be created (an empty probe file is
    made and removed: that catches permissions, read-only file systems and whatever else refuses) and whose
    file system has space left.
    """
    label = f"in {what}" if in_what else str(what)
    existing = directory
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise IrlaxWriteError(f"cannot write {label}: {_not_a_directory(directory) or existing} is a file, not a "
                              "directory")
    try:
        fd, probe = _open_temp(existing / "probe")
        os.close(fd)
        probe.unlink()
    except OSError as exc:
        raise write_error(what, exc, label) from exc
    statvfs = getattr(os, "statvfs", None)
    if statvfs is not None:
        try:
            stats = statvfs(existing)
            full = stats.f_blocks > 0 and stats.f_bavail == 0  # (virtual file systems report no blocks at all)
        except OSError:  # pragma: no cover - a file system without statistics
            full = False
        if full:
            raise write_error(what, OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)), label)


def _same_file(a: Path, b: Path) -> bool:
    """Whether ``a`` and ``b`` name the same file (through links too) or, when one does not exist, the same path."""
    try:
        return a.samefile(b)
    except OSError:
        return a.resolve() == b.resolve()


def check_output_file(path: PathLike, inputs: Iterable[PathLike] = ()) -> Path:
    """Refuse, before a command computes anything, an output file that can't or must not be written.

    Raises :class:`~irlax.errors.IrlaxWriteError` if ``path`` is a directory, has a name too long for its file
    system, or lies where no file can be created (under a file, in a read-only or full directory), and
    :class:`~irlax.errors.IrlaxError` if it is one of the command's ``inputs``. Temporary files that killed
    writers left next to ``path`` are removed (:func:`sweep_temp_files`). Returns ``path``.
    """
    target = Path(path)
    name_max = _name_max(target.parent)
    if len(os.fsencode(target.name)) > name_max:
        raise IrlaxWriteError(f"cannot write {target}: its name is longer than the file system's limit of "
                              f"{name_max} bytes")
    for source in inputs:
        if _same_file(target, Path(source)):
            which = "also an input" if str(target) == str(source) else f"the input {source}"
            raise IrlaxError(f"the output {target} is {which}: writing it would overwrite the input (choose another "
                             "output file)")
    if target.is_dir():
        raise IrlaxWriteError(f"cannot write {target}: it is a directory (give a file name)")
    _check_writable_dir(target.parent, target, False)
    if target.parent.is_dir():
        sweep_temp_files(target.parent)
    return target


def _name_max(directory: Path) -> int:
    """The longest file name (bytes) the file system at ``directory``, or its nearest existing ancestor, allows."""
    while not directory.exists() and directory != directory.parent:
        directory = directory.parent
    try:
        return os.pathconf(directory, "PC_NAME_MAX")
    except (OSError, ValueError, AttributeError):  # pragma: no cover - no pathconf (Windows)
        return 255


def check_output_dir(path: PathLike) -> Path:
    """Refuse, before a command computes anything, an output directory that can't be created or written in.

    Raises :class:`~irlax.errors.IrlaxWriteError` if ``path`` is a file, lies under a file, or it (or, while it
    does not exist, the ancestor that will hold it) is a directory where nothing can be created (no permission,
    a read-only or full file system). Returns ``path``.
    """
    target = Path(path)
    if target.exists() and not target.is_dir():
        raise IrlaxWriteError(f"cannot write in {target}: it is a file, not a directory")
    _check_writable_dir(target, target, True)
    return target


def atomic_write_dir(path: PathLike, fill: Callable[[Path], None]) -> Path:
    """Create the directory ``path`` whole: ``fill(tmp)`` writes its contents into a hidden temporary directory
    beside it, which is then renamed onto ``path``.

    A reader sees no directory or the complete one. ``path`` must not exist yet (a directory is not replaced);
    if ``fill`` fails, the temporary directory is removed and the error raised.

    Raises:
        IrlaxWriteError: ``path`` exists, or it can't be created.
    """
    target = Path(path)
    if target.exists():
        raise IrlaxWriteError(f"cannot write {target}: it already exists (remove it or choose another name)")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(_temp_name())
        tmp.mkdir()
    except OSError as exc:
        raise write_error(target, exc) from exc
    try:
        fill(tmp)
        os.rename(tmp, target)
    except BaseException as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(exc, OSError) and not isinstance(exc, IrlaxError):
            raise write_error(target, exc) from exc
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
