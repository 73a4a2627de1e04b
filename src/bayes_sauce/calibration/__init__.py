"""Simulation-based calibration: simulate data sets from a spec's own model, refit, rank the truth."""
