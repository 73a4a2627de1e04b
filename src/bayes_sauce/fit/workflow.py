"""The fit step of every command and notebook: a spec file with the command line's filters and sampler settings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bayes_sauce.data.filters import Filters
from bayes_sauce.spec.schema import Spec, load_spec


def bayes_spec(path: Path | str, filters: Filters | None = None, command: str = "fit", **sampling: Any) -> Spec:
    """A Bayesian spec file with command-line filters and sampler settings applied (None keeps the spec's)."""
    return load_spec(path).require_bayes(str(path), command).with_filters(filters).with_sampling(**sampling)
