"""Sensitivity: refits under other priors and model choices on Dask, power-scaling, and calibration."""
