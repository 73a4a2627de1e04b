"""Declarative model specs (TOML files in ``models/``): their schema, priors as objects, and sweep files."""
