"""Demonstration files in the formats users have: irlax's ``.npz``, Minari datasets, ``imitation`` trajectories.

:func:`load_any` reads any of them (the format told by what the path holds), :func:`save_as` writes one, and
:func:`convert` turns one into another (``irlax demos convert IN OUT``). Every command that takes ``--demos``
reads all three (:func:`irlax.data.demos.load_demonstrations` hands directories to :func:`load_any`).

========== ================================================ ===============================================
format     on disk                                          told by
========== ================================================ ===============================================
irlax      one ``.npz`` file (:mod:`irlax.data.demos`)      a file
minari     a Minari dataset directory                       ``data/metadata.json`` naming a data format
           (:mod:`irlax.data.minari_format`)
imitation  ``imitation.data.serialize.save``'s directory    ``state.json`` and ``dataset_info.json``
           (:mod:`irlax.data.imitation_format`)
========== ================================================ ===============================================
"""

from __future__ import annotations

from pathlib import Path

from irlax.data import imitation_format, minari_format
from irlax.data.demos import Demonstrations, load_demonstrations, save_demonstrations
from irlax.envs.spec import EnvSpec
from irlax.errors import IrlaxError

FORMATS = ("irlax", "minari", "imitation")


def detect_format(path: str | Path) -> str:
    """The format of the demonstrations at ``path``.

    Raises:
        IrlaxError: ``path`` does not exist or is a directory of neither dataset kind.
    """
    path = Path(path)
    if not path.exists():
        raise IrlaxError(f"demonstrations {path} do not exist")
    if path.is_file():
        return "irlax"
    if minari_format.minari_data_path(path) is not None:
        return "minari"
    if imitation_format.is_imitation_dataset(path):
        return "imitation"
    raise IrlaxError(f"{path} is a directory but neither a Minari dataset (data/metadata.json) nor an imitation "
                     f"trajectory dataset (state.json, dataset_info.json)")


def load_any(path: str | Path, spec: EnvSpec | None = None, env_name: str = "") -> Demonstrations:
    """Demonstrations from a file or dataset of any format (:data:`FORMATS`), checked against ``spec`` if given.

    ``env_name``: the environment, for ``imitation`` files that do not name one; a dataset naming none takes
    ``spec``'s name and backend.

    Raises:
        IrlaxError: a one-line message naming the problem.
    """
    fmt = detect_format(path)
    if fmt == "irlax":
        return load_demonstrations(path, spec)
    if fmt == "minari":
        return minari_format.load_minari(path, spec)
    return imitation_format.load_imitation(path, spec, env_name)


def output_format(path: str | Path, to: str | None = None) -> str:
    """The format to write ``path`` in: ``to``, else irlax for a ``.npz`` name.

    Raises:
        IrlaxError: an unknown ``to``, or no ``to`` for a name that does not end in ``.npz``.
    """
    if to is not None:
        if to not in FORMATS:
            raise IrlaxError(f"unknown demonstrations format {to!r}; choose one of {', '.join(FORMATS)}")
        return to
    if Path(path).suffix == ".npz":
        return "irlax"
    raise IrlaxError(f"say which format to write {path} in (--to {' | '.join(FORMATS)}); "
                     f"only a .npz name means irlax's own")


def save_as(path: str | Path, demos: Demonstrations, fmt: str, spec: EnvSpec | None = None,
            minari_data_format: str = "hdf5") -> Path:
    """Write ``demos`` at ``path`` in format ``fmt`` (``spec``: the task, for a Minari dataset's action bounds).

    An irlax file replaces ``path`` atomically; a Minari or ``imitation`` directory is created whole and must not
    exist yet.
    """
    if fmt == "irlax":
        return save_demonstrations(path, demos)
    if fmt == "minari":
        return minari_format.save_minari(path, demos, spec, data_format=minari_data_format)
    if fmt == "imitation":
        return imitation_format.save_imitation(path, demos)
    raise IrlaxError(f"unknown demonstrations format {fmt!r}; choose one of {', '.join(FORMATS)}")


def convert(source: str | Path, target: str | Path, to: str | None = None, spec: EnvSpec | None = None,
            minari_data_format: str = "hdf5") -> tuple[Demonstrations, str, str]:
    """Read the demonstrations at ``source`` and write them at ``target``; returns them, the source's format and
    the target's.

    Args:
        source: a file or dataset of any format.
        target: where to write (a ``.npz`` file, or a new directory for Minari and ``imitation``).
        to: the target's format (default: irlax for a ``.npz`` name).
        spec: the task the demonstrations are of: they are checked to fit it, take its name when the source
            names none (``imitation`` files), and a Minari dataset takes its action bounds.
        minari_data_format: ``"hdf5"`` or ``"arrow"``, for a Minari target.

    Raises:
        IrlaxError: a bad source, a mismatch with ``spec``, an environment nobody names, an unwritable target.
    """
    fmt_in, fmt_out = detect_format(source), output_format(target, to)
    if Path(source).resolve() == Path(target).resolve():
        raise IrlaxError(f"the output {target} is the input")
    demos = load_any(source, spec)  # checked against spec, and named by it if unnamed
    if not demos.env_name:
        raise IrlaxError(f"{source} does not name its environment (imitation files don't): give it with --env")
    save_as(target, demos, fmt_out, spec, minari_data_format)
    return demos, fmt_in, fmt_out
