"""Whole runs: the run driver, experts, assessment and re-optimisation, sweeps, the compilation cache."""
