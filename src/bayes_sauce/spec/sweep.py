"""Read and validate a sensitivity sweep file: a base spec and named variants given as overrides of it.

A sweep (``models/sensitivity/<set>.toml``) says ``base = "<spec file>"`` (relative to the sweep
file), optionally ``[sampling]`` settings for every variant, and one ``[variants.<name>]`` table per
variant holding spec keys to override (``data``, ``model``, ``priors``, ``sampling``,
``description``) and, to scale a prior, ``scale_priors = { <prior> = <factor> }`` (the prior's scale
multiplied by the factor through :meth:`Prior.scaled`). The variant ``default`` (the base unchanged)
is always fitted first. Every variant is merged and validated here, before anything is fitted, and
an error names the sweep file, the variant and the key.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bayes_sauce.spec.priors import Priors
from bayes_sauce.spec.schema import SpecError, merge, read_spec_dict, read_toml, spec_from_dict

SWEEP_KEYS = ("description", "base", "sampling", "variants")
DEFAULT_VARIANT = "default"
SCALE_KEY = "scale_priors"
# What kind of choice a variant changes, by the keys it overrides (the longest matching prefix wins).
KIND_OF_KEY = {"priors": "prior", SCALE_KEY: "prior", "model": "model", "data.time": "model",
               "data.filters": "subsample", "data.outcome": "outcome", "sampling": "sampling"}
KINDS = ("prior", "model", "subsample", "outcome", "sampling", "mixed")

@dataclass(frozen=True)
class Variant:
    """One fit of a sweep: its name, what kind of choice it changes, the overrides as text, the full spec."""

    name: str
    kind: str  # default or one of KINDS
    changes: str
    spec: dict[str, Any]  # the base spec merged with the overrides, validated (omitted options keep their defaults)


@dataclass(frozen=True)
class Sweep:
    name: str  # the sweep file's stem: results go to results/sensitivity/<name>/
    path: Path
    description: str
    variants: tuple[Variant, ...]


def _flatten(overrides: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """Overrides as (dotted key, value) pairs, descriptions left out."""
    out = []
    for key, value in overrides.items():
        if isinstance(value, dict):
            out += _flatten(value, f"{prefix}{key}.")
        elif key != "description":
            out.append((f"{prefix}{key}", value))
    return out


def _kind(overrides: dict[str, Any]) -> str:
    """The kind of choice a variant changes; sampling settings beside another change do not count."""
    kinds = set()
    for key, _ in _flatten(overrides):
        matches = [p for p in KIND_OF_KEY if key == p or key.startswith(f"{p}.")]
        kinds.add(KIND_OF_KEY[max(matches, key=len)] if matches else "mixed")
    if len(kinds) > 1:
        kinds.discard("sampling")
    return kinds.pop() if len(kinds) == 1 else ("mixed" if kinds else DEFAULT_VARIANT)


def _scaled_priors(raw: dict[str, Any], scales: Any, source: str) -> dict[str, Any]:
    """The spec dict with the named priors' scales multiplied by their factors."""
    if not isinstance(scales, dict):
        raise SpecError(f"{source}: key '{SCALE_KEY}': expected a table {{ <prior> = <factor> }}, got {scales!r}")
    priors = spec_from_dict(raw, source).priors
    scaled = {}
    for name, factor in scales.items():
        if name not in Priors.model_fields:
            raise SpecError(f"{source}: key '{SCALE_KEY}.{name}': unknown prior (priors: {sorted(Priors.model_fields)})")
        if isinstance(factor, bool) or not isinstance(factor, int | float) or not 0 < factor < math.inf:
            raise SpecError(f"{source}: key '{SCALE_KEY}.{name}': the factor must be a positive number, got {factor!r}")
        scaled[name] = getattr(priors, name).scaled(float(factor)).model_dump(exclude_none=True)
    return merge(raw, {"priors": scaled})


def variant_spec(base: dict[str, Any], overrides: dict[str, Any], sampling: dict[str, Any], forced: dict[str, Any],
                 name: str, source: str) -> dict[str, Any]:
    """The variant's spec as written, validated: base <- the sweep's [sampling] <- the variant's overrides (prior
    scales applied to the result) <- ``forced`` sampling settings (the command line's), named after the variant.

    Options the spec leaves out keep the defaults of ``spec.py`` and are not part of the dict, so a new option
    with a default does not change the variant's cache key.
    """
    if not isinstance(overrides, dict):
        raise SpecError(f"{source}: expected a table of spec overrides, got {overrides!r}")
    own = {k: v for k, v in overrides.items() if k != SCALE_KEY}
    raw = merge(merge(base, {"sampling": sampling}), own)
    if SCALE_KEY in overrides:
        raw = _scaled_priors(raw, overrides[SCALE_KEY], source)
    raw = merge(raw, {"sampling": forced, "name": name})
    if spec_from_dict(raw, source).kind != "bayes":
        raise SpecError(f"{source}: key 'kind': a sweep fits Bayesian specs (kind = 'bayes'), got {raw.get('kind')!r}")
    return raw


def _changes(overrides: dict[str, Any]) -> str:
    """Overrides as one short line, e.g. 'model.developer_dist=student_t; scale_priors.beta=0.5'."""
    pairs = [f"{k}={v if isinstance(v, str) else json.dumps(v)}" for k, v in _flatten(overrides)]
    return "; ".join(pairs) or "base spec unchanged"


def read_sweep(path: Path | str, sampling: dict[str, Any] | None = None,
               filters: dict[str, Any] | None = None) -> Sweep:
    """Parse a sweep file and validate every variant; ``sampling`` (e.g. from the command line) overrides all,
    ``filters`` (the command line's) replace the base spec's filters before the variants' own changes."""
    path = Path(path)
    raw = read_toml(path, "sweep")
    unknown = sorted(set(raw) - set(SWEEP_KEYS))
    if unknown:
        raise SpecError(f"{path}: key '{unknown[0]}': unknown key (a sweep file takes {list(SWEEP_KEYS)})")
    if "base" not in raw:
        raise SpecError(f"{path}: key 'base': missing (the base spec file, relative to the sweep file)")
    base_path = path.parent / raw["base"]
    if not base_path.exists():
        raise SpecError(f"{path}: key 'base': spec file {base_path} not found")
    base = read_spec_dict(base_path)
    if filters is not None:
        base = merge(base, {"data": {"filters": filters}})
    variants_raw = raw.get("variants", {})
    if DEFAULT_VARIANT in variants_raw:
        raise SpecError(f"{path}: variant '{DEFAULT_VARIANT}': reserved for the base spec unchanged; rename it")
    bad = [n for n in variants_raw if not re.fullmatch(r"[A-Za-z0-9_.-]+", n)]
    if bad:
        raise SpecError(f"{path}: variant '{bad[0]}': names may use letters, digits, '_', '.' and '-' only")
    variants = []
    for name, overrides in {DEFAULT_VARIANT: {}, **variants_raw}.items():
        spec = variant_spec(base, overrides, raw.get("sampling", {}), sampling or {}, name,
                            f"{path}: variant '{name}'")
        variants.append(Variant(name=name, kind=_kind(overrides), changes=_changes(overrides), spec=spec))
    return Sweep(name=path.stem, path=path, description=raw.get("description", ""), variants=tuple(variants))
