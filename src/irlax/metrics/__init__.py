"""Measures of learned rewards and policies: EVD, Pearson and EPIC, aggregate statistics over seeds and tasks."""
