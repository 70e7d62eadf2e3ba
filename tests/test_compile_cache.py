"""The command line's persistent compilation cache: on by default, in the folder asked for, off on request."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import jax
import jax.numpy as jnp
import pytest
from conftest import use_test_compile_cache

from irlax.errors import IrlaxWarning
from irlax.run.compile_cache import cache_wanted, default_cache_dir, disable_compile_cache, enable_compile_cache

# runs ``irlax ARGV`` and prints the JAX persistent cache's hits and misses of the process as JSON
PROBE = r"""
import json, sys
from collections import Counter
import jax.monitoring
events = Counter()
jax.monitoring.register_event_listener(lambda event, **kw: events.update([event]))
import functools
import irlax.cli.main
from irlax.run.compile_cache import enable_compile_cache
# every program is written (the CLI's default, stated here so that the test does not depend on it)
irlax.cli.main.enable_compile_cache = functools.partial(enable_compile_cache, min_compile_seconds=0.0)
code = irlax.cli.main.main(sys.argv[1:])
print(json.dumps({"code": code, "hits": events["/jax/compilation_cache/cache_hits"],
                  "misses": events["/jax/compilation_cache/cache_misses"]}))
"""


def run_cli(argv: list[str], cache: Path, **env: str) -> dict:
    environ = {k: v for k, v in os.environ.items() if k != "IRLAX_COMPILE_CACHE"}
    done = subprocess.run([sys.executable, "-c", PROBE, *argv], capture_output=True, text=True,
                          env={**environ, "IRLAX_CACHE_DIR": str(cache), **env}, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_repeated_command_takes_its_programs_from_the_cache(cli_world, tmp_path):
    world, demos = cli_world(8, 3, 16, 6)
    cache = tmp_path / "cache"
    fit = ["fit", "maxent", "--world", str(world), "--demos", str(demos), "--iterations", "4", "--quiet"]
    first = run_cli([*fit, "--out", str(tmp_path / "b")], cache)
    assert first["misses"] > 0 and any(cache.iterdir())  # a miss is a program written to the cache
    again = run_cli([*fit, "--out", str(tmp_path / "c")], cache)
    assert again["misses"] == 0 and again["hits"] >= first["misses"] + first["hits"]
    # a cheaper command than a fit, which compiles programs all the same (they would be written with the cache on)
    sample = ["sample", "--world", str(world), "--trajectories", "4", "--length", "5"]
    flag = run_cli(["--no-compile-cache", *sample, "--out", str(tmp_path / "d.npz")], tmp_path / "unused")
    assert flag["hits"] == 0 and flag["misses"] == 0 and not (tmp_path / "unused").exists()


def test_where_the_cache_goes_and_when_it_is_wanted(monkeypatch, tmp_path):
    monkeypatch.setenv("IRLAX_CACHE_DIR", str(tmp_path / "here"))
    assert default_cache_dir() == tmp_path / "here"
    monkeypatch.delenv("IRLAX_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "irlax" / "jax"
    monkeypatch.setenv("IRLAX_COMPILE_CACHE", "off")
    assert not cache_wanted()
    monkeypatch.setenv("IRLAX_COMPILE_CACHE", "1")
    assert cache_wanted() and not cache_wanted(flag_off=True)


def test_an_unwritable_cache_folder_is_a_warning_not_a_failure(tmp_path):
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert enable_compile_cache(blocked / "cache") is None
    assert [w.category for w in caught] == [IrlaxWarning] and "not writable" in str(caught[0].message)


@pytest.mark.parametrize("value", ["0", "no", "FALSE"])
def test_the_switch_accepts_the_usual_words(monkeypatch, value):
    monkeypatch.setenv("IRLAX_COMPILE_CACHE", value)
    assert not cache_wanted()


def test_turning_the_cache_off_in_a_process_stops_its_writes(tmp_path):
    """JAX opens its cache once per process: disabling (and moving) it here must really stop (and move) the writes."""
    first, second = tmp_path / "first", tmp_path / "second"
    written = lambda folder: len(list(folder.iterdir())) if folder.exists() else 0
    try:
        assert enable_compile_cache(first) == first
        jax.jit(lambda x: x + 1.5)(jnp.ones(7))
        assert written(first) > 0
        before = written(first)
        disable_compile_cache()
        jax.jit(lambda x: x * 2.5)(jnp.ones(7))
        assert written(first) == before
        enable_compile_cache(second)
        jax.jit(lambda x: x - 3.5)(jnp.ones(7))
        assert written(second) > 0 and written(first) == before
    finally:
        disable_compile_cache()
        use_test_compile_cache()


def test_pruning_removes_the_least_recently_used_programs_until_the_rest_fit(tmp_path):
    from irlax.run.compile_cache import prune_cache

    def entry(key, size, used, atime_file=None):
        path = tmp_path / f"{key}-cache"
        path.write_bytes(b"x" * size)
        os.utime(path, (used, used))
        if atime_file is not None:
            companion = tmp_path / f"{key}-atime"
            companion.write_bytes(b"")
            os.utime(companion, (atime_file, atime_file))

    entry("old", 100, 1000)
    entry("used-lately", 100, 1000, atime_file=5000)  # written early, used lately (its -atime companion)
    entry("middle", 100, 3000, atime_file=2000)
    entry("new", 100, 4000)
    (tmp_path / ".lockfile").write_bytes(b"")
    (tmp_path / "a-folder-cache").mkdir()  # not a cache entry: left alone
    assert prune_cache(tmp_path, 250) == 200  # 400 bytes down to 200: the two least recently used go
    assert sorted(p.name for p in tmp_path.iterdir()) == [".lockfile", "a-folder-cache", "new-cache",
                                                         "used-lately-atime", "used-lately-cache"]
    assert prune_cache(tmp_path, 250) == 0  # already within the bound
    assert prune_cache(tmp_path / "missing", 0) == 0


def test_turning_the_cache_on_prunes_it_and_leaves_jax_without_a_per_write_scan(tmp_path):
    big = tmp_path / "big-cache"
    big.write_bytes(b"x" * 1000)
    try:
        enable_compile_cache(tmp_path, max_bytes=10)
        assert not big.exists()
        assert jax.config.jax_compilation_cache_max_size == -1
    finally:
        disable_compile_cache()
