"""Spec files: the shipped ones parse, and every kind of mistake names the file and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from bayes_sauce.paths import MODELS_DIR
from bayes_sauce.spec.priors import Prior
from bayes_sauce.spec.schema import SpecError, load_spec, merge, read_spec_dict, spec_from_dict

SHIPPED = sorted(MODELS_DIR.glob("*.toml"))


@pytest.mark.parametrize("path", SHIPPED, ids=[p.name for p in SHIPPED])
def test_shipped_specs_parse(path):
    spec = load_spec(path)
    assert spec.name
    if spec.kind == "bayes":
        assert spec.model is not None and spec.priors is not None and spec.sampling is not None


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    "text, key, message",
    [
        ('name="x"\nkind="bayes"\n[model]\nlikelihod="binomial"\n', "model.likelihod", "unknown key"),
        ('name="x"\nkind="bayes"\n[model]\nlikelihood="poisson"\n', "model.likelihood", "binomial"),
        ('name="x"\nkind="bayes"\n[sampling]\ndraws="many"\n', "sampling.draws", "integer"),
        ('name="x"\nkind="bayes"\n[priors]\nbeta={dist="Normal", mu=0, sigma=-1}\n', "priors.beta", "positive ['sigma']"),
        ('name="x"\nkind="bayes"\n[priors]\nbeta={dist="Normal", mu=0}\n', "priors.beta", "missing ['sigma']"),
        ('name="x"\nkind="bayes"\n[priors]\nsigma_model={dist="Normal", mu=0, sigma=1}\n', "priors", "positive-support"),
        ('name="x"\nkind="bayes"\n[priors]\nbeta={dist="Cauchy", alpha=0, beta=1}\n', "priors.beta.dist", "Normal"),
        ('name="x"\nkind="bayes"\n[data.filters]\nwindow=["2022-10", "March"]\n', "data.filters.window", "YYYY-MM"),
        ('name="x"\nkind="ols"\n[model]\nmundlak=false\n', "<root>", "kind = 'ols'"),
        ('kind="bayes"\n', "name", "Field required"),
    ],
    ids=["unknown-key", "bad-choice", "wrong-type", "negative-scale", "missing-param", "scale-support",
         "unknown-family", "bad-month", "section-kind", "missing-name"],
)
def test_invalid_specs_name_file_and_key(tmp_path, text, key, message):
    path = _write(tmp_path, text)
    with pytest.raises(SpecError) as err:
        load_spec(path)
    assert f"{path}: key '{key}'" in str(err.value)
    assert message in str(err.value)


def test_not_toml_and_missing_file(tmp_path):
    with pytest.raises(SpecError, match="not valid TOML"):
        load_spec(_write(tmp_path, "name = \n"))
    with pytest.raises(SpecError, match="spec file not found"):
        load_spec(tmp_path / "nope.toml")


def test_bayes_defaults_filled_and_overrides_merge():
    base = read_spec_dict(MODELS_DIR / "hierarchical.toml")
    spec = spec_from_dict(merge(base, {"model": {"mundlak": False}, "priors": {"beta": {"sigma": 1.0}}}))
    assert spec.model.mundlak is False
    assert spec.model.likelihood == "marginal" and spec.model.failures == "mixture"  # untouched keys survive
    assert spec.priors.beta.sigma == 1.0 and spec.priors.beta.mu == 0.5


def test_prior_scaling_and_text():
    assert Prior(dist="HalfNormal", sigma=1.0).scaled(2).sigma == 2.0
    assert Prior(dist="Exponential", lam=2.0).scaled(2).lam == 1.0
    assert str(Prior(dist="Normal", mu=0.5, sigma=0.5)) == "Normal(mu=0.5, sigma=0.5)"
