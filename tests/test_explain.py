"""`bayes-sauce explain`: one model's score taken apart, on conftest's small real fit (``run_dir``).

The decomposition is checked against the model's own eta (mu + family + model effect, evaluated through the PyMC
model; in the family structure that is the observed logit)
and the median-developer score against the posterior's developer effects, not against this code's own sums.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bayes_sauce.cli.main import main
from bayes_sauce.fit.fit import Fit
from bayes_sauce.intervals import median_interval
from bayes_sauce.quantities.explain import UnknownModelError, explain, relatives_of, resolve
from bayes_sauce.quantities.headline import PAPER_MODELS

pytestmark = pytest.mark.filterwarnings("ignore::pandas.errors.Pandas4Warning")
MODEL = PAPER_MODELS["DeepSeek-V3"]


@pytest.fixture(scope="module")
def fit(run_dir) -> Fit:
    return Fit.load(run_dir[0] / "hierarchical")


def _summary(values, prob):
    s = median_interval(values, prob)
    return [float(s.sel(quantile=k)) for k in ("median", "lo", "hi")]


def test_parts_match_the_models_eta_and_the_median_developer(fit):
    e = explain(fit, MODEL)
    parts = e.parts.set_index("part")
    assert e.components == ["compute", "time", "developer", "family", "protocol", "model_effect"]
    assert list(parts.index[:len(e.components) + 2]) == ["level", *e.components, "eta"]
    post = fit.posterior
    values = fit.evaluate(["mu", "model_effect", "component__family", "component__protocol"])
    eta = (values["mu"] + values["component__family"] + values["component__protocol"]
           + values["model_effect"]).sel(model=MODEL)
    # Model effects are integrated out: eta is the observed logit (of the score as a count of correct answers).
    observed = fit.design.families.logit[list(fit.rows["model_id"]).index(MODEL)]
    np.testing.assert_allclose(eta, observed, rtol=1e-9)
    np.testing.assert_allclose(eta, fit.design.scale.to_logit(fit.rows.set_index("model_id").loc[
        MODEL, fit.design.scale.outcome]), rtol=1e-3)
    np.testing.assert_allclose(parts.loc["eta", ["median", "lo", "hi"]].astype(float), _summary(eta, fit.prob),
                               rtol=1e-6)  # draws stored in float32: sums in another order
    scale = fit.design.scale
    np.testing.assert_allclose(parts.loc["score", "median"], _summary(scale.accuracy(eta), fit.prob)[0], rtol=1e-6)
    developer = fit.rows.set_index("model_id").loc[MODEL, "developer"]
    effect = post["developer_effect"]
    # In the family structure a model's developer component is its base developer's effect.
    base = post["developer"].values[fit.design.developer_idx[list(fit.rows["model_id"]).index(MODEL)]]
    swapped = scale.accuracy(eta - effect.sel(developer=base) + effect.median("developer"))
    np.testing.assert_allclose(parts.loc["score_with_median_developer", ["median", "lo", "hi"]].astype(float),
                               _summary(swapped, fit.prob), rtol=1e-6)
    assert parts.loc["developer", "compute_equivalent"] > 0 and np.isnan(parts.loc["compute", "compute_equivalent"])


def test_relatives_are_the_family_else_the_developer_else_the_nearest_compute():
    models = pd.DataFrame({"model_id": list("abcde"), "family": ["f", "f", "g", None, "h"],
                           "developer": ["x", "y", "x", "x", "z"], "log10_flops": [22.0, 23.0, 21.0, 22.4, 25.0]})
    assert relatives_of(models, "a")[0]["model_id"].tolist() == ["b"]
    same_developer, relation = relatives_of(models, "c")
    assert relation == "developer" and same_developer["model_id"].tolist() == ["a", "d"]  # nearest compute first
    nearest, relation = relatives_of(models, "e", n=2)
    assert relation == "compute" and nearest["model_id"].tolist() == ["b", "d"]


def test_unknown_model_is_refused_with_close_matches(fit):
    with pytest.raises(UnknownModelError, match="did you mean Deepseek-V3"):
        resolve("deepseek-v3", fit.rows)
    with pytest.raises(UnknownModelError, match="see the model_id column"):
        resolve("zzzz-no-such-thing-qqqq", fit.rows)


def test_explain_command_writes_the_figure_and_prints_csv(run_dir, capsys):
    fit_dir = run_dir[0] / "hierarchical"
    assert main(["explain", MODEL, str(fit_dir), "--allow-failed"]) == 0
    out = capsys.readouterr().out
    assert "Latent logit = level + components" in out and "With the median developer's effect" in out
    assert out.rstrip().splitlines()[-1].startswith(f"Wrote {fit_dir / 'explain'}/: {MODEL}.png")
    for name in (f"{MODEL}.png", f"{MODEL}.csv", f"{MODEL}_parts.csv", f"{MODEL}_relatives.csv"):
        assert (fit_dir / "explain" / name).exists(), name
    assert main(["explain", MODEL, str(fit_dir), "--allow-failed", "--csv"]) == 0
    captured = capsys.readouterr()
    assert captured.out.splitlines()[0] == "part,kind,median,lo,hi,unit,compute_equivalent"
    assert "Wrote" in captured.err and "Wrote" not in captured.out
    assert main(["explain", "llama-2-70b-hf", str(fit_dir)]) == 2
    assert "did you mean meta-llama__Llama-2-70b-hf" in capsys.readouterr().err
