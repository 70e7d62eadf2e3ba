"""Exact known-dynamics computations: planning, occupancy measures, feature expectations, sampling."""
