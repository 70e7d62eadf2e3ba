"""The report layer: run directories, atomic files, progress bars, tables and plots.

Input and output only, near the bottom of the layers: it imports nothing of irlax but
the base modules, so the run driver and the command line both use it.
"""

from irlax.atomic import (
    atomic_save_npy,
    atomic_save_npz,
    atomic_savefig,
    atomic_write_bytes,
    atomic_write_json,
    atomic_write_text,
    to_jsonable,
)
from irlax.report.checkpoint import load_pytree, save_pytree
from irlax.report.plots import plot_evd_vs_n, plot_metric_curves, plot_reward_maps
from irlax.report.progress import (
    ProgressHandle,
    make_console,
    print_table,
    progress_bar,
    progress_disabled,
)
from irlax.report.rundir import (
    create_run_dir,
    save_array,
    write_config,
    write_metrics,
    write_summary,
)

__all__ = [
    "load_pytree",
    "save_pytree",
    "ProgressHandle",
    "atomic_save_npy",
    "atomic_save_npz",
    "atomic_savefig",
    "atomic_write_bytes",
    "atomic_write_json",
    "atomic_write_text",
    "create_run_dir",
    "make_console",
    "plot_evd_vs_n",
    "plot_metric_curves",
    "plot_reward_maps",
    "print_table",
    "progress_bar",
    "progress_disabled",
    "save_array",
    "to_jsonable",
    "write_config",
    "write_metrics",
    "write_summary",
]
