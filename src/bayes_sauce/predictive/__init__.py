"""Prediction from a fit through its PyMC model: new models, predictive checks, LOO, the backtest, the prior."""
