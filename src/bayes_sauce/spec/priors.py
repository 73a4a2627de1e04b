"""Priors as data: a distribution family and its parameters, validated, scalable and printable."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, model_validator


class Strict(BaseModel):
    """Spec tables: unknown keys, type coercion and non-finite numbers are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


# Parameters each prior family takes, and which of them must be positive.
PRIOR_FAMILIES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "Normal": (("mu", "sigma"), ("sigma",)),
    "HalfNormal": (("sigma",), ("sigma",)),
    "StudentT": (("nu", "mu", "sigma"), ("nu", "sigma")),
    "HalfStudentT": (("nu", "sigma"), ("nu", "sigma")),
    "Exponential": (("lam",), ("lam",)),
    "Gamma": (("alpha", "beta"), ("alpha", "beta")),
    "Beta": (("alpha", "beta"), ("alpha", "beta")),
}


# The numbers a prior may take, by the role of the parameter: within these the sampler's arithmetic on this model
# stays finite (a Beta(1e-30, 9) share underflows to zero and nutpie panics at its first step; tests/test_validation.py
# samples the model at the bounds). Scales on the logit scale beyond them mean nothing in any case.
LOCATION_LIMIT = 1e3  # |mu|
SCALE_RANGE = (1e-4, 1e4)  # sigma, lam, a Gamma's rate beta
SHAPE_RANGE = (1e-2, 1e4)  # a Beta's alpha and beta, a Gamma's alpha, a Student-t's nu
SHAPES = {"Beta": ("alpha", "beta"), "Gamma": ("alpha",), "StudentT": ("nu",), "HalfStudentT": ("nu",)}


class Prior(Strict):
    """A prior distribution as data: family name plus parameters, e.g. HalfNormal(sigma=1)."""

    dist: Literal["Normal", "HalfNormal", "StudentT", "HalfStudentT", "Exponential", "Gamma", "Beta"]
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
        for name, value in self.params.items():
            low, high = ((-LOCATION_LIMIT, LOCATION_LIMIT) if name == "mu" else
                         SHAPE_RANGE if name in SHAPES.get(self.dist, ()) else SCALE_RANGE)
            if not low <= value <= high:
                raise ValueError(f"{self.dist}'s {name} = {value:g} is outside [{low:g}, {high:g}], the range in which "
                                 "sampling this model stays within floating-point range")
        return self

    @property
    def params(self) -> dict[str, float]:
        return {n: getattr(self, n) for n in PRIOR_FAMILIES[self.dist][0]}

    @property
    def is_positive(self) -> bool:
        return self.dist in {"HalfNormal", "HalfStudentT", "Exponential", "Gamma"}

    def scaled(self, factor: float) -> Prior:
        """The same family with its scale parameter multiplied (for sensitivity sweeps)."""
        if self.dist == "Beta":
            raise ValueError("a Beta prior has no scale parameter to multiply")
        key = {"Exponential": "lam", "Gamma": "beta"}.get(self.dist, "sigma")
        value = getattr(self, key) / factor if key in ("lam", "beta") else getattr(self, key) * factor
        return self.model_copy(update={key: value})

    def __str__(self) -> str:
        return f"{self.dist}({', '.join(f'{k}={v:g}' for k, v in self.params.items())})"


class Priors(Strict):
    """Every parameter's prior. Scales are on the logit scale of the normalised score."""

    alpha: Prior = Prior(dist="Normal", mu=0.0, sigma=2.0)
    beta: Prior = Prior(dist="Normal", mu=0.0, sigma=1.0)
    group: Prior = Prior(dist="Normal", mu=0.0, sigma=1.0)
    sigma_developer: Prior = Prior(dist="HalfNormal", sigma=1.0)
    nu_developer: Prior = Prior(dist="Gamma", alpha=2.0, beta=0.1)
    sigma_model: Prior = Prior(dist="HalfNormal", sigma=1.0)
    nu_model: Prior = Prior(dist="Gamma", alpha=2.0, beta=0.1)
    sigma_closed: Prior = Prior(dist="HalfNormal", sigma=1.0)
    # A self-reported score's offset from the leaderboard harness's, on the logit scale (model.protocol_offset).
    protocol_offset: Prior = Prior(dist="Normal", mu=0.55, sigma=0.15)
    period: Prior = Prior(dist="Normal", mu=0.0, sigma=1.0)
    sigma_period_step: Prior = Prior(dist="HalfNormal", sigma=0.3)
    # The family structure (model.structure = "families"):
    mundlak: Prior = Prior(dist="Normal", mu=0.0, sigma=0.5)
    beta_within: Prior = Prior(dist="Normal", mu=0.0, sigma=0.5)
    sigma_family: Prior = Prior(dist="HalfNormal", sigma=1.0)
    family_skew: Prior = Prior(dist="Normal", mu=0.0, sigma=2.0)
    sigma_finetuner: Prior = Prior(dist="HalfNormal", sigma=0.5)
    # Developers' levels over time (model.developer_time): the spread of developers' own trends (logit per year) and
    # of their random walks' steps (logit per square root of a year), around the shared progress of the period effects.
    sigma_developer_trend: Prior = Prior(dist="HalfNormal", sigma=0.3)
    sigma_developer_walk: Prior = Prior(dist="HalfNormal", sigma=0.3)
    accuracy_noise: Prior = Prior(dist="HalfNormal", sigma=0.02)
    failure_rate: Prior = Prior(dist="Normal", mu=-3.0, sigma=1.5)
    damaged_share: Prior = Prior(dist="Beta", alpha=1.0, beta=9.0)
    damaged_shift: Prior = Prior(dist="Gamma", alpha=4.0, beta=4.0)
    sigma_damaged: Prior = Prior(dist="Gamma", alpha=2.0, beta=4.0)

    @model_validator(mode="after")
    def _supports(self) -> Priors:
        scales = ("sigma_developer", "sigma_model", "sigma_closed", "sigma_period_step", "nu_developer", "nu_model",
                  "sigma_family", "sigma_finetuner", "accuracy_noise", "damaged_shift", "sigma_damaged",
                  "sigma_developer_trend", "sigma_developer_walk")
        for name in scales:
            if not getattr(self, name).is_positive:
                raise ValueError(f"{name} is a scale and needs a positive-support prior, got {getattr(self, name).dist}")
        if self.damaged_share.dist != "Beta":
            raise ValueError(f"damaged_share is a share and needs a Beta prior, got {self.damaged_share.dist}")
        return self


# Spec priors whose random variables are named otherwise: the group prior sets the pool or group offsets, the period
# prior the cohort offsets. Every other prior of the spec is the variable of its own name.
PRIOR_VARIABLES = {"group": ("pool_offset", "group_offset"), "period": ("period_offset",)}


def prior_variables(priors: Priors) -> list[str]:
    """The random variables that carry a spec's ``[priors]`` (those the structure uses are in its model), not the
    hierarchical levels drawn around them (developer, family, fine-tuner levels, random-walk steps): power-scaling
    those would scale the model itself, as the priorsense authors advise against."""
    return [v for key in type(priors).model_fields for v in PRIOR_VARIABLES.get(key, (key,))]
