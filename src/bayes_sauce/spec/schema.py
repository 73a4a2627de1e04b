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
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator

from bayes_sauce.data.filters import Filters
from bayes_sauce.defaults import PAPER_WINDOW, SEED
from bayes_sauce.periods import TIMES
from bayes_sauce.scale import OUTCOMES
from bayes_sauce.spec.priors import Priors, Strict

Sampler = Literal["nutpie", "pymc", "numpyro"]
SAMPLERS: tuple[str, ...] = Sampler.__args__


class SpecError(ValueError):
    """A spec file is invalid; the message names the file and the key."""


class FilterSpec(Strict):
    window: Annotated[tuple[str, str], Field(strict=False)] | None = PAPER_WINDOW
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
        if value is not None and value[0] > value[1]:
            raise ValueError(f"the window starts after it ends: {value[0]} > {value[1]}")
        return value

    def to_filters(self) -> Filters:
        return Filters(**self.model_dump())


class DataSpec(Strict):
    outcome: Literal[OUTCOMES] = "mmlu_pro"
    time: Literal[TIMES] = "cohort"
    filters: FilterSpec = FilterSpec()


class OLSSpec(Strict):
    """The paper's regression: logit score on log10 FLOPs + period dummies + group dummies."""

    # Extra regressors: curated boolean/numeric columns (e.g. "is_moe"), or "period_x_compute"
    # for period-specific compute slopes. Columns are checked against the data before fitting.
    controls: list[str] = Field(default_factory=list)
    cluster: Literal["developer_group", "developer"] = "developer_group"
    base_group: str = "Other-Small"


class ModelSpec(Strict):
    """Structure of the Bayesian model; see ``model/build.py`` and ``model/families.py`` for how each is built."""

    # families: every model sits in the family of the base model it was fine-tuned or merged from (data
    # lineage); a family's efficiency is drawn around its base developer's level, a fine-tune adds its
    # fine-tuner's effect and its own deviation. developers: one effect per raw developer and per model.
    structure: Literal["families", "developers"] = "families"
    # marginal: model effects integrated out of a normal approximation, on the logit scale, of binomial
    # question sampling plus evaluation noise on the accuracy scale (families only); binomial: an exact
    # binomial with one latent logit per model; logit_normal: the paper's outcome, normal residuals.
    likelihood: Literal["marginal", "binomial", "logit_normal"] = "marginal"
    # fixed_groups: the paper's 13 group effects, no developer level.
    # pooled_groups: every raw developer partially pooled around its pool's mean (each Other size
    # bin is a pool; the ten majors, one developer per paper group, form one pool).
    # pooled: every raw developer partially pooled around the population, no groups.
    developers: Literal["fixed_groups", "pooled_groups", "pooled"] = "pooled_groups"
    developer_dist: Literal["normal", "student_t"] = "normal"
    # Families only: developers' levels over time. none: constant; trend: each developer's own linear trend over the
    # periods (logit per year, partially pooled around 0); walk: each developer's own random walk over the periods
    # (partially pooled steps). Drifts have mean zero, so the period effects stay the population's shared progress.
    developer_time: Literal["none", "trend", "walk"] = "none"
    # Model-specific effects: normal, or Student-t with a learnt nu (heavy tails).
    model_dist: Literal["normal", "student_t"] = "normal"
    # Non-leaderboard (self-reported) scores: same noise, or an extra model-effect scale.
    closed_models: Literal["same", "extra_noise"] = "same"
    # Self-reported scores measured under their developer's own protocol: shifted from the leaderboard harness's by
    # one offset on the logit scale (prior ``protocol_offset``, from the same-model pairs in data/protocol_pairs.csv).
    protocol_offset: bool = False
    # Mundlak: the developer's mean log compute as a predictor of its level, so beta is the gain from
    # compute within a developer (developer levels that correlate with compute bias it otherwise).
    mundlak: bool = True
    # Families only: a fine-tune is usually at its base's level, but a share of them are damaged (a
    # shifted, wider component); a share are failed evaluations scoring near chance whatever their inputs.
    finetunes: Literal["mixture", "normal"] = "mixture"
    # Failed evaluations (model/families.py: mixture_rows): mixture, possible for a fine-tune in a family with other
    # members only (as damage); everywhere, for every model, roots and fine-tunes alone in their family too; none.
    failures: Literal["mixture", "everywhere", "none"] = "mixture"
    # Families only: families' levels around their developer's line, normal or skew-normal (mean zero, a learnt
    # shape ``family_skew``: a long tail of weak pretraining runs on one side, a short one on the other).
    family_dist: Literal["normal", "skew_normal"] = "normal"
    # Evaluation noise on the accuracy scale (marginal likelihood only).
    accuracy_noise: bool = True
    # A failed evaluation's score, as the logit of its normalised score: normal with this mean and SD
    # (-4.5, 0.75: accuracy 0.101 .. 0.15 for 95% of failures, just above the chance floor).
    failure_logit_mean: float = -4.5
    failure_logit_sd: float = Field(0.75, gt=0)

    @model_validator(mode="after")
    def _compatible(self) -> ModelSpec:
        families = self.structure == "families"
        if families != (self.likelihood == "marginal"):
            raise ValueError("structure = 'families' goes with likelihood = 'marginal' (and only it)")
        if families and (self.model_dist != "normal" or self.developer_dist != "normal"):
            raise ValueError("structure = 'families' takes developer_dist = model_dist = 'normal' (fine-tunes have "
                             "finetunes = 'mixture' for their tail)")
        if families and self.developers == "fixed_groups":
            raise ValueError("structure = 'families' draws each family around its developer's level, which "
                             "developers = 'fixed_groups' does not have: use 'pooled_groups' or 'pooled', or the "
                             "paper's fixed groups with structure = 'developers' (models/fixed_groups.toml)")
        if self.mundlak and self.developers == "fixed_groups":
            raise ValueError("mundlak = true needs developer levels (developers = 'pooled_groups' or 'pooled'); "
                             "the paper's fixed groups have none")
        if not families and self.developer_time != "none":
            raise ValueError("developer_time = 'trend' or 'walk' needs structure = 'families'; set developer_time = "
                             "'none'")
        if not families and self.family_dist != "normal":
            raise ValueError("family_dist = 'skew_normal' needs structure = 'families'; set family_dist = 'normal'")
        if not families and (self.finetunes != "normal" or self.failures != "none"):
            raise ValueError("finetunes = 'mixture' and failures = 'mixture' or 'everywhere' need structure = "
                             "'families'; set finetunes = 'normal' and failures = 'none'")
        return self


class SamplingSpec(Strict):
    draws: int = Field(1000, gt=0)
    tune: int = Field(1000, gt=0)
    chains: int = Field(4, gt=0)
    seed: int = Field(SEED, ge=0, le=2**32 - 1)
    sampler: Sampler = "nutpie"
    target_accept: float = Field(0.8, gt=0, lt=1)


class Spec(Strict):
    # A plain folder name: results go to results/<name>/.
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=100)
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
        """The spec as JSON-ready values: sections a kind does not take left out, ``window: None`` (all dates) kept,
        so a saved fit reads back, and is fingerprinted, with the filters it was fitted with."""
        out = self.model_dump(mode="json", exclude_none=True)
        out["data"]["filters"] = self.data.filters.model_dump(mode="json")
        return out

    def with_sampling(self, **overrides: Any) -> Spec:
        """The spec with sampler settings replaced (None keeps the spec's value), validated."""
        given = {k: v for k, v in overrides.items() if v is not None}
        if not given:
            return self
        sampling = SamplingSpec.model_validate({**self.sampling.model_dump(), **given})
        return self.model_copy(update={"sampling": sampling})

    def with_filters(self, filters: Filters | None) -> Spec:
        """The spec with its data filters replaced (None keeps the spec's)."""
        if filters is None:
            return self
        data = self.data.model_copy(update={"filters": FilterSpec.model_validate(filters.as_dict())})
        return self.model_copy(update={"data": data})

    def require_bayes(self, source: str, command: str) -> Spec:
        """The spec itself if Bayesian; else a SpecError naming the command."""
        if self.kind != "bayes":
            raise SpecError(f"{source}: key 'kind': '{command}' needs a Bayesian spec (kind = 'bayes'); "
                            "the paper's OLS specs run with 'replicate'")
        return self


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


def read_toml(path: Path | str, what: str = "spec") -> dict[str, Any]:
    """A TOML file as a dict; a missing file, a folder, bytes that are not UTF-8 or bad TOML are a SpecError."""
    path = Path(path)
    if not path.exists():
        raise SpecError(f"{path}: {what} file not found")
    if path.is_dir():
        raise SpecError(f"{path}: is a folder, not a {what} file")
    try:
        return tomllib.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError as err:
        raise SpecError(f"{path}: not a text file (byte {err.object[err.start]:#04x} is not UTF-8)") from None
    except tomllib.TOMLDecodeError as err:
        raise SpecError(f"{path}: not valid TOML: {err}") from None


def read_spec_dict(path: Path | str) -> dict[str, Any]:
    """A spec file as a dict, not yet validated."""
    return read_toml(path, "spec")


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
