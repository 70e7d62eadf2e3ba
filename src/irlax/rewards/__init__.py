"""Reward models as (init, apply) pairs: linear, neural, on states or transitions."""
