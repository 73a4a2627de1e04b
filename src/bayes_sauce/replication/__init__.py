"""The paper's own analysis: OLS with fixed effects, clustered errors and its Shapley R2."""
