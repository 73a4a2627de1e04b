"""Fitting: NUTS on a built model, the diagnostics gate, and the Fit object that reads and writes a fit folder."""
