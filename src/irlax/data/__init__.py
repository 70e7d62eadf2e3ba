"""Demonstrations: tabular trajectories, control-task transitions and files, Minari and imitation formats."""
