"""Parse and validate declarative model specs (TOML files in ``models/``).

A spec says which data (outcome, time granularity, filters), which model (the paper's OLS or the
Bayesian model with its structure) and which priors. Unknown keys, wrong types and impossible
priors fail here, before any fitting, with a message naming the file and the key.
"""

from __future__ import annotations

import copy
import re
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from bayes_sauce.data import PAPER_WINDOW, PROJECT_ROOT, Filters

MODELS_DIR = PROJECT_ROOT / "models"
DEFAULT_SPEC = MODELS_DIR / "hierarchical.toml"
OLS_SPEC = MODELS_DIR / "ols.toml"


Sampler = Literal["nutpie", "pymc", "numpyro"]
SAMPLERS: tuple[str, ...] = Sampler.__args__


class SpecError(ValueError):
    """A spec file is invalid; the message names the file and the key."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# Parameters each prior family takes, and which of them must be positive.
PRIOR_FAMILIES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "Normal": (("mu", "sigma"), ("sigma",)),
    "HalfNormal": (("sigma",), ("sigma",)),
    "StudentT": (("nu", "mu", "sigma"), ("nu", "sigma")),
    "HalfStudentT": (("nu", "sigma"), ("nu", "sigma")),
    "Exponential": (("lam",), ("lam",)),
    "Gamma": (("alpha", "beta"), ("alpha", "beta")),
}


class Prior(_Strict):
    """A prior distribution as data: family name plus parameters, e.g. HalfNormal(sigma=1)."""

    dist: Literal["Normal", "HalfNormal", "StudentT", "HalfStudentT", "Exponential", "Gamma"]
    mu: float | None = None
    sigma: float | None = None
    nu: float | None = None
    lam: float | None = None
    alpha: float | None = None
    beta: float | None = None

    @model_validator(mode="after")
    def _check_parameters(self) -> Prior:
        names, positive = PRIOR_FAMILIES[self.dist]
        given = {k for k in ("mu", "sigma", "nu", "lam", "alpha", "beta") if getattr(self, k) is not None}
        missing = [n for n in names if n not in given]
        extra = sorted(given - set(names))
        if missing or extra:
            raise ValueError(f"{self.dist} takes parameters {list(names)}; missing {missing}, unexpected {extra}")
        bad = [n for n in positive if getattr(self, n) <= 0]
        if bad:
            raise ValueError(f"{self.dist} needs positive {bad}, got {[getattr(self, n) for n in bad]}")
        return self

    @property
    def params(self) -> dict[str, float]:
        return {n: getattr(self, n) for n in PRIOR_FAMILIES[self.dist][0]}

    @property
    def is_positive(self) -> bool:
        return self.dist in {"HalfNormal", "HalfStudentT", "Exponential", "Gamma"}

    def scaled(self, factor: float) -> Prior:
        """The same family with its scale parameter multiplied (for sensitivity sweeps)."""
        key = {"Exponential": "lam", "Gamma": "beta"}.get(self.dist, "sigma")
        value = getattr(self, key) / factor if key in ("lam", "beta") else getattr(self, key) * factor
        return self.model_copy(update={key: value})

    def __str__(self) -> str:
        return f"{self.dist}({', '.join(f'{k}={v:g}' for k, v in self.params.items())})"


class FilterSpec(_Strict):
    window: tuple[str, str] | None = PAPER_WINDOW
    majors_only: bool = False
    leaderboard_only: bool = False
    no_size_estimates: bool = False
    total_tokens_only: bool = False

    @field_validator("window")
    @classmethod
    def _months(cls, value: tuple[str, str] | None) -> tuple[str, str] | None:
        for month in value or ():
            if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", month):
                raise ValueError(f"not a YYYY-MM month: {month!r}")
        return value

    def to_filters(self) -> Filters:
        return Filters(**self.model_dump())


class DataSpec(_Strict):
    outcome: Literal["mmlu_pro", "math_l5"] = "mmlu_pro"
    time: Literal["cohort", "quarter", "month"] = "cohort"
    filters: FilterSpec = FilterSpec()


class OLSSpec(_Strict):
    """The paper's regression: logit score on log10 FLOPs + period dummies + group dummies."""

    # Extra regressors: curated boolean/numeric columns (e.g. "is_moe"), or "period_x_compute"
    # for period-specific compute slopes. Columns are checked against the data before fitting.
    controls: list[str] = Field(default_factory=list)
    cluster: Literal["developer_group", "developer"] = "developer_group"
    base_group: str = "Other-Small"


class ModelSpec(_Strict):
    """Structure of the Bayesian model; see ``model.py`` for how each option is built."""

    likelihood: Literal["binomial", "logit_normal"] = "binomial"
    # fixed_groups: the paper's 13 group effects, no developer level.
    # pooled_groups: every raw developer partially pooled around its pool's mean (each Other size
    # bin is a pool; the ten majors, one developer per paper group, form one pool).
    # pooled: every raw developer partially pooled around the population, no groups.
    developers: Literal["fixed_groups", "pooled_groups", "pooled"] = "pooled_groups"
    developer_dist: Literal["normal", "student_t"] = "normal"
    # Model-specific effects: normal, or Student-t with a learnt nu (heavy tails).
    model_dist: Literal["normal", "student_t"] = "normal"
    # Non-leaderboard (self-reported) scores: same noise, or an extra model-effect scale.
    closed_models: Literal["same", "extra_noise"] = "same"



class Priors(_Strict):
    """Every parameter's prior. Scales are on the logit scale of the normalised score."""

    alpha: Prior = Prior(dist="Normal", mu=0.0, sigma=2.0)
    beta: Prior = Prior(dist="Normal", mu=0.0, sigma=1.0)
    group: Prior = Prior(dist="Normal", mu=0.0, sigma=1.0)
    sigma_developer: Prior = Prior(dist="HalfNormal", sigma=1.0)
    nu_developer: Prior = Prior(dist="Gamma", alpha=2.0, beta=0.1)
    sigma_model: Prior = Prior(dist="HalfNormal", sigma=1.0)
    nu_model: Prior = Prior(dist="Gamma", alpha=2.0, beta=0.1)
    sigma_closed: Prior = Prior(dist="HalfNormal", sigma=1.0)
    period: Prior = Prior(dist="Normal", mu=0.0, sigma=1.0)
    sigma_period_step: Prior = Prior(dist="HalfNormal", sigma=0.3)

    @model_validator(mode="after")
    def _scales_positive(self) -> Priors:
        for name in ("sigma_developer", "sigma_model", "sigma_closed", "sigma_period_step", "nu_developer", "nu_model"):
            if not getattr(self, name).is_positive:
                raise ValueError(f"{name} is a scale and needs a positive-support prior, got {getattr(self, name).dist}")
        return self


class SamplingSpec(_Strict):
    draws: int = Field(1000, gt=0)
    tune: int = Field(1000, gt=0)
    chains: int = Field(4, gt=0)
    seed: int = 20260207
    sampler: Sampler = "nutpie"
    target_accept: float = Field(0.8, gt=0, lt=1)


class Spec(_Strict):
    name: str
    description: str = ""
    kind: Literal["ols", "bayes"]
    data: DataSpec = DataSpec()
    ols: OLSSpec | None = None
    model: ModelSpec | None = None
    priors: Priors | None = None
    sampling: SamplingSpec | None = None

    @model_validator(mode="after")
    def _sections_match_kind(self) -> Spec:
        if self.kind == "ols":
            if self.model is not None or self.priors is not None or self.sampling is not None:
                raise ValueError("kind = 'ols' takes an [ols] section, not [model], [priors] or [sampling]")
            return self.model_copy(update={"ols": self.ols or OLSSpec()})
        if self.ols is not None:
            raise ValueError("kind = 'bayes' takes [model], [priors] and [sampling], not [ols]")
        return self.model_copy(update={
            "model": self.model or ModelSpec(),
            "priors": self.priors or Priors(),
            "sampling": self.sampling or SamplingSpec(),
        })

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)


def _format_errors(err: ValidationError, source: str) -> str:
    parts = []
    for e in err.errors():
        key = ".".join(str(p) for p in e["loc"]) or "<root>"
        msg = e["msg"].removeprefix("Value error, ")
        if e["type"] == "extra_forbidden":
            msg = "unknown key"
        parts.append(f"{source}: key '{key}': {msg}")
    return "\n".join(parts)


def spec_from_dict(raw: dict[str, Any], source: str = "<spec>") -> Spec:
    """Validate a spec given as a dict (from TOML, or a sweep's merged overrides)."""
    try:
        return Spec.model_validate(raw)
    except ValidationError as err:
        raise SpecError(_format_errors(err, source)) from None


def read_spec_dict(path: Path | str) -> dict[str, Any]:
    path = Path(path)
    if not path.exists():
        raise SpecError(f"{path}: spec file not found")
    try:
        return tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as err:
        raise SpecError(f"{path}: not valid TOML: {err}") from None


def load_spec(path: Path | str) -> Spec:
    """Read and validate a TOML spec file."""
    return spec_from_dict(read_spec_dict(path), str(path))


def merge(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """Deep-merge overrides into a copy of base (tables merge, other values replace)."""
    out = copy.deepcopy(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def check_columns(spec: Spec, columns: set[str], source: str = "<spec>") -> None:
    """Fail if the spec names a data column that the dataset does not have."""
    if spec.ols is not None:
        for control in spec.ols.controls:
            if control != "period_x_compute" and control not in columns:
                raise SpecError(
                    f"{source}: key 'ols.controls': column {control!r} does not exist in the data "
                    f"(available: {sorted(columns)}, or 'period_x_compute')"
                )
