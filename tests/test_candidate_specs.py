"""The candidate specs of the default's candidates table differ from the default only in what they are named for."""

from __future__ import annotations

from bayes_sauce.paths import DEFAULT_SPEC, MODELS_DIR
from bayes_sauce.spec.schema import read_spec_dict, spec_from_dict


def test_family_normal_is_the_default_with_normal_families():
    default, candidate = (read_spec_dict(p) for p in (DEFAULT_SPEC, MODELS_DIR / "family_normal.toml"))
    assert default["model"].pop("family_dist") == "skew_normal" and candidate["model"].pop("family_dist") == "normal"
    assert "family_skew" in default["priors"] and "family_skew" not in candidate["priors"]
    default["priors"].pop("family_skew")
    for key in ("name", "description"):
        candidate.pop(key), default.pop(key)
    assert candidate == default
    assert spec_from_dict(read_spec_dict(MODELS_DIR / "family_normal.toml")).name == "family_normal"
