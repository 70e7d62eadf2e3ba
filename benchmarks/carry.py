"""Unfinished benchmark runs carried from one checkout to the next, through the repository.

A long benchmark's cells (``benchmarks/mujoco_irl.py``) take longer than a working session, and a new session's
machine holds only what the repository holds: ``benchmarks/runs`` (ignored by git) is gone there, and with it the
hours an unfinished cell had trained. :func:`pack` writes what ``irlax train --resume`` needs of a run (its
``config.json`` and ``checkpoint.npz``, the re-optimisation's checkpoint if there is one, and any files beside the
run directory a script names, such as the cell's setup) into one compressed archive under :data:`CARRIED`, to be
committed; :func:`unpack` puts it back where the run was, in the checkout that finds the archive, when that run
directory is not there.

A run whose archive would pass :data:`LIMIT_BYTES` (a SAC run's replay buffer alone is tens of megabytes) is
carried once its training is over, slimmed to what is measured after training (:func:`pack`); before that it is not
carried and starts again in the next session. The paths inside the repository that a run's settings record
(:data:`PATH_KEYS`: its demonstrations, its expert) are stored relative to the repository and made absolute again
where the archive is unpacked, so a run packed in one clone resumes in another.
"""

from __future__ import annotations

import gzip
import io
import json
import shutil
import tarfile
import tempfile
from collections.abc import Callable
from pathlib import Path, PurePosixPath

from bench_machine import ROOT

from irlax.atomic import atomic_write_bytes
from irlax.cli.runs import CHECKPOINT, REOPT_CHECKPOINT
from irlax.cli.train import slim_checkpoint

CARRIED = ROOT / "benchmarks" / "carried"
"""Where the archives are kept (committed): ``CARRIED/SCRIPT/RUN.tar.gz``."""
LIMIT_BYTES = 8 * 2**20
"""The largest archive carried (8 MiB: an adversarial cell with PPO inside packs to about 3 MB, Walker2d's AIRL
with its re-optimisation's checkpoint 2.8 MB; a DAgger cell of four 256 x 256 x 256 clones and their aggregated
data 6.3 MB on Hopper, 9.1 MB on Swimmer, so DAgger cells, about an hour each, are carried on Hopper only)."""
RESUME_FILES = ("config.json", CHECKPOINT)
"""What of a run directory ``irlax train --resume`` reads (its TensorBoard logs start again)."""
OPTIONAL_FILES = (REOPT_CHECKPOINT,)
"""Carried when the run has them: the re-optimisation's checkpoint (``irlax train`` writes it once training is
over, so a run stopped while re-optimising goes on from there too)."""
PATH_KEYS = ("demos", "expert")
"""The settings in ``config.json`` that may name a file of the repository."""
REPO_PREFIX = "<repository>/"
"""How a carried ``config.json`` writes a path inside the repository."""


def _relative_paths(settings: dict, root: Path) -> dict:
    out = dict(settings)
    for key in PATH_KEYS:
        value = out.get(key)
        if isinstance(value, str) and Path(value).is_absolute() and Path(value).is_relative_to(root):
            out[key] = REPO_PREFIX + Path(value).relative_to(root).as_posix()
    return out


def _absolute_paths(settings: dict, root: Path) -> dict:
    out = dict(settings)
    for key in PATH_KEYS:
        value = out.get(key)
        if isinstance(value, str) and value.startswith(REPO_PREFIX):
            out[key] = str(root / value.removeprefix(REPO_PREFIX))
    return out


def pack(run_dir: Path, archive: Path, beside: tuple[Path, ...] = (), root: Path = ROOT,
         limit: int = LIMIT_BYTES, slim: Callable[[Path, Path], bool] | None = slim_checkpoint) -> int | None:
    """Write ``run_dir``'s :data:`RESUME_FILES` (and the :data:`OPTIONAL_FILES` it has) and the files ``beside``
    (in ``run_dir``'s parent) to ``archive`` (gzip-compressed tar, written atomically, members named relative to
    that parent); its size in bytes, or ``None`` and nothing written when the run has no checkpoint or the archive
    would pass ``limit`` (an older archive of the run is then removed: it would resume from further back than the
    run got).

    An archive that would pass ``limit`` is made again slimmed, when ``slim`` (``irlax train``'s
    :func:`~irlax.cli.train.slim_checkpoint`) finds the run's training over: the checkpoint with only what the
    assessment after training reads (the policy, the learned reward: a SAC run's replay buffer, critics and
    optimiser states zeroed, which compress to nothing), without the re-optimisation's checkpoint, which starts
    again where the archive is unpacked (it measures the same: it depends on the learned reward and its key
    only). A run that cannot be read as an ``irlax train`` run raises ``ValueError``."""
    files = {}
    for name in (*RESUME_FILES, *OPTIONAL_FILES):
        try:
            files[name] = (run_dir / name).read_bytes()
        except FileNotFoundError:
            if name in RESUME_FILES:
                return None  # no checkpoint (yet): nothing to resume
    data = _archive(run_dir, files, beside, root)
    if len(data) > limit and slim is not None:
        with tempfile.TemporaryDirectory() as scratch:
            slimmed = Path(scratch) / CHECKPOINT
            if slim(run_dir, slimmed):
                files = {**{name: files[name] for name in RESUME_FILES}, CHECKPOINT: slimmed.read_bytes()}
                data = _archive(run_dir, files, beside, root)
    if len(data) > limit:
        archive.unlink(missing_ok=True)
        return None
    archive.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(archive, data)
    return len(data)


def _archive(run_dir: Path, files: dict[str, bytes], beside: tuple[Path, ...], root: Path) -> bytes:
    """The gzip-compressed tar of :func:`pack`: ``files`` of ``run_dir`` (its ``config.json``'s repository paths
    made relative) and the files ``beside``."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in files.items():
            if name == "config.json":
                try:
                    settings = json.loads(data)
                except ValueError as exc:
                    raise ValueError(f"{run_dir / name} is not valid JSON ({exc})") from None
                data = (json.dumps(_relative_paths(settings, root), indent=2) + "\n").encode()
            _add(tar, f"{run_dir.name}/{name}", data)
        for path in beside:
            if path.parent != run_dir.parent:
                raise ValueError(f"{path} is not beside {run_dir}")
            if path.is_file():
                _add(tar, path.name, path.read_bytes())
    return gzip.compress(buffer.getvalue(), mtime=0)  # the same run packs to the same bytes (no commit churn)


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def run_name(archive: Path) -> str:
    """The run directory's name an archive holds (its file name without ``.tar.gz``)."""
    return archive.name.removesuffix(".tar.gz")


def unpack(archive: Path, runs: Path, root: Path = ROOT) -> bool:
    """Put the run ``archive`` holds back under ``runs`` (with the files packed beside it), the repository's paths
    made absolute under ``root``; ``False`` and nothing written when ``runs`` already holds that run directory (the
    run on this machine got at least as far). Raises ``ValueError`` for an archive that is not one :func:`pack`
    wrote (a member outside the run, a link, a run of another name) or that can't be read."""
    name = run_name(archive)
    target = runs / name
    if target.exists():
        return False
    try:
        with tarfile.open(archive, mode="r:gz") as tar:
            members = {}
            for member in tar.getmembers():
                parts = PurePosixPath(member.name).parts
                inside = len(parts) == 2 and parts[0] == name and parts[1] in (*RESUME_FILES, *OPTIONAL_FILES)
                beside = len(parts) == 1 and parts[0] not in (name, ".", "..")
                if not member.isfile() or not (inside or beside):
                    raise ValueError(f"{archive}: {member.name!r} is not a file a carried run holds")
                members[member.name] = tar.extractfile(member).read()
    except (OSError, tarfile.TarError, EOFError) as exc:
        raise ValueError(f"{archive} can't be read ({exc})") from None
    if any(f"{name}/{file}" not in members for file in RESUME_FILES):
        raise ValueError(f"{archive} lacks the run's {' or '.join(RESUME_FILES)}")
    config = json.loads(members[f"{name}/config.json"])
    if not isinstance(config, dict):
        raise ValueError(f"{archive}: the run's config.json is not a JSON object")
    members[f"{name}/config.json"] = (json.dumps(_absolute_paths(config, root), indent=2) + "\n").encode()
    runs.mkdir(parents=True, exist_ok=True)
    for member, data in members.items():
        if "/" not in member:  # a file packed beside the run
            atomic_write_bytes(runs / member, data)
    # the run directory appears whole or not at all, and once where two scripts restore it at the same time
    staging = Path(tempfile.mkdtemp(prefix=f".{name}.", suffix=".unpacking", dir=runs))
    for member, data in members.items():
        if member.startswith(f"{name}/"):
            (staging / member.removeprefix(f"{name}/")).write_bytes(data)
    try:
        staging.rename(target)
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)
        if target.is_dir():  # restored meanwhile by another process
            return False
        raise
    return True
