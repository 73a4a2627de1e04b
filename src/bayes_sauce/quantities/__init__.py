"""Headline quantities: the decomposition maths shared by the OLS and the posterior, the paper's quantities with
their definitions, and the per-draw values of a fit."""
