"""A Fit without sampling, for tests of the fit folder as a store: synthetic rows, random "draws", the attrs and
groups Fit.load checks. Nothing here is a posterior of anything; the store does not care."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import xarray as xr

from bayes_sauce.fit.fit import FORMAT_VERSION, Fit, fingerprint
from bayes_sauce.paths import DEFAULT_SPEC
from bayes_sauce.spec.schema import load_spec

from .synthetic import synthetic_dataset


def fake_fit(seed: int = 0, draws: int = 20, models: int = 12) -> Fit:
    """A saveable, loadable Fit of the default spec on ``models`` synthetic rows; ``seed`` makes another fit (its
    fingerprint and draws differ)."""
    spec = load_spec(DEFAULT_SPEC)
    rows = synthetic_dataset(models, seed=3).models
    rng = np.random.default_rng(seed)
    coords = {"chain": [0, 1], "draw": np.arange(draws), "model": rows["model_id"].tolist()}
    posterior = xr.Dataset({"beta": (("chain", "draw"), rng.normal(size=(2, draws))),
                            "eta": (("chain", "draw", "model"), rng.normal(size=(2, draws, len(rows))))}, coords=coords)
    stats = xr.Dataset({"diverging": (("chain", "draw"), np.zeros((2, draws), bool))}, coords=coords)
    tree = xr.DataTree.from_dict({"posterior": posterior, "sample_stats": stats})
    tree.attrs.update({"format_version": FORMAT_VERSION, "fingerprint": fingerprint(spec, f"fake data {seed}"),
                       "spec_json": json.dumps(spec.to_dict())})
    excluded = pd.DataFrame({"model_id": pd.Series(dtype=str), "reason": pd.Series(dtype=str)})
    return Fit(spec=spec, rows=rows, excluded=excluded, tree=tree, diagnostics={"passed": True, "failures": []})
