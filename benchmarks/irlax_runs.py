"""``irlax`` commands run inside a benchmark's own process (shared by the benchmark scripts that run many).

Importing this module imports the CLI, which gives JAX one CPU device per core (``irlax.cli.use_cpu_cores``) as
the ``irlax`` command has; import it before anything starts JAX.
"""

from __future__ import annotations

import jax

from irlax.cli.main import main as cli_main


def irlax_main(argv: list[str]) -> int:
    """An ``irlax`` command (``irlax.cli.main.main``), JAX's compiled programs dropped after it; its exit status.

    JAX keeps every program it compiled and XLA's CPU backend maps three memory regions per kernel, so a run
    leaves thousands of memory maps behind (a MuJoCo cell about 2,500); a benchmark running tens of commands in
    one process would pass Linux's ``vm.max_map_count`` (65,530), where XLA can no longer compile and the process
    dies (docs/design.md, "Known limits"). Clearing costs the next command its in-memory programs only (the
    persistent compilation cache stays).
    """
    try:
        return cli_main(argv)
    finally:
        jax.clear_caches()
