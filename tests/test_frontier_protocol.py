"""Frontier shares with self-reported scores at face value and on the leaderboard scale (less the protocol offset):
known answers on hand-built components, then fits made of prior draws (no sampling) on a subsample of the shipped
rows that holds the paper's named models, whose frontier end-points are self-reported."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from bayes_sauce.data.dataset import Dataset
from bayes_sauce.data.load import load
from bayes_sauce.data.paper_numbers import load_paper_numbers
from bayes_sauce.fit.fit import Fit
from bayes_sauce.intervals import SAMPLE_DIMS
from bayes_sauce.paths import DEFAULT_SPEC
from bayes_sauce.predictive.prior import sample_prior
from bayes_sauce.quantities import decompose, headline, posterior
from bayes_sauce.quantities.headline import FRONTIER_PAIRS, LEADERBOARD_SCALE, PAPER_MODELS
from bayes_sauce.quantities.keys import MODEL, PAPER, Key
from bayes_sauce.reporting.differences import Comparison, protocol_note
from bayes_sauce.reporting.tables import frontier_pairs_table
from bayes_sauce.spec.schema import merge, read_spec_dict, spec_from_dict

# pyfixest 0.60 calls pandas methods that pandas 3.1 deprecates; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore::pandas.errors.Pandas4Warning")
DRAWS = 40


def test_leaderboard_scale_on_known_components():
    """Model A (leaderboard) -> B (self-reported, offset 0.5): the gain 2.0 at face value is 1.5 on the leaderboard
    scale, so compute's 0.9 is 45% of the one and 60% of the other, in either view's layout; a zero offset changes
    nothing."""
    models = ["A", "B"]

    def comps(**parts: list[float]) -> xr.Dataset:
        return xr.Dataset({k: ("model", v) for k, v in parts.items()}, coords={"model": models}).assign(beta=1.0)

    protocol = xr.DataArray([0.0, 0.5], dims="model", coords={"model": models})
    model_view = comps(compute=[0.1, 1.0], family=[0.0, 0.6], protocol=[0.0, 0.5], evaluation_noise=[0.0, 0.0])
    paper_view = comps(compute=[0.1, 1.0], time=[0.0, 0.3], model_effect=[0.0, 0.8])  # the residual holds the offset
    for layout in (model_view, paper_view):
        face = decompose.change_shares(layout, "A", "B")
        board = decompose.change_shares(headline.leaderboard_scale(layout, protocol), "A", "B")
        assert float(face.sel(component="compute")) == pytest.approx(0.45)
        assert float(board.sel(component="compute")) == pytest.approx(0.6)
        np.testing.assert_allclose(board.sum("component"), 1.0)
        assert "protocol" not in board["component"].values
    zero = decompose.change_shares(headline.leaderboard_scale(paper_view, 0 * protocol), "A", "B")
    np.testing.assert_allclose(zero, decompose.change_shares(paper_view, "A", "B"))


def _spec(**model):
    return spec_from_dict(merge(read_spec_dict(DEFAULT_SPEC), {"model": model}), str(DEFAULT_SPEC))


@pytest.fixture(scope="module")
def rows() -> pd.DataFrame:
    """The paper's named models and the first five models of each developer group, from the shipped file."""
    models = load().models
    named = models["model_id"].isin(PAPER_MODELS.values())
    return models[named | models.groupby("developer_group").cumcount().lt(5)].reset_index(drop=True)


@pytest.fixture(scope="module")
def fit(rows) -> Fit:
    assert _spec().model.protocol_offset  # the default reads self-reported scores with an offset
    return sample_prior(_spec(), Dataset(models=rows), draws=DRAWS, seed=11)


def _by_id(fit: Fit) -> dict[str, headline.Quantity]:
    return {q.id: q for q in posterior.quantities(fit)}


def _note(fit: Fit, found: dict[str, headline.Quantity]) -> str:
    table = posterior.summarise(list(found.values()), load_paper_numbers("ols"), 0.9)
    return protocol_note(Comparison({"headline": table}, fit, None))[0]


def test_leaderboard_shares_take_the_offset_out_of_the_gain(fit, rows):
    """Compute's share on the leaderboard scale is its part of the face-value gain less the end-point's protocol
    offset (the model's own variable, draw by draw): larger than at face value wherever compute and the leaderboard
    gain are positive, as the offset is; the same in both views; the note gives both and says what differs."""
    found = _by_id(fit)
    offset = fit.posterior["protocol_offset"]
    assert bool((offset > 0).all())
    own = rows.set_index("model_id")["is_leaderboard"].astype(bool)
    for start, end in FRONTIER_PAIRS:
        assert own[PAPER_MODELS[start]] and not own[PAPER_MODELS[end]]  # leaderboard -> self-reported
        compute = {}
        for view in (PAPER, MODEL):
            face = found[Key("frontier_share", view, "compute", pair=(start, end)).id].value
            board = found[Key("frontier_share", view, "compute", pair=(start, end), variant=LEADERBOARD_SCALE).id].value
            comps = posterior.components(fit)
            diff = (comps["compute"].sel(model=PAPER_MODELS[end]) - comps["compute"].sel(model=PAPER_MODELS[start]))
            np.testing.assert_allclose(diff / board, diff / face - offset, rtol=1e-8)  # gain less the offset
            positive = (diff > 0) & (diff / board > 0)
            assert int(positive.sum()) >= DRAWS // 4  # enough draws to test the sign on
            assert bool((board > face).where(positive, True).all())
            compute[view] = board
        np.testing.assert_allclose(compute[PAPER], compute[MODEL], rtol=1e-8)
    table = frontier_pairs_table(list(found.values()), posterior.summarise(list(found.values()),
                                                                         load_paper_numbers("ols"), 0.9))
    pair = table[(table["view"] == PAPER) & (table["pair"] == " -> ".join(FRONTIER_PAIRS[0]))]
    assert set(pair["scores"]) == {"face value", "leaderboard scale"}
    assert pair.loc[pair["scores"] == "leaderboard scale", "paper"].isna().all()  # the paper read face values only
    note = _note(fit, found)
    assert "at face value" in note and "on the leaderboard scale" in note and "DeepSeek-V3" in note
    assert set(headline.KEY_QUANTITIES) & {q for q in found if q.endswith(LEADERBOARD_SCALE)}


def _one_set(found: dict[str, headline.Quantity]) -> None:
    assert any(q.key.kind == "frontier_share" for q in found.values())
    assert not any(q.key.variant == LEADERBOARD_SCALE for q in found.values())


def test_zero_offset_gives_one_set(fit):
    """The same draws with every protocol offset at 0: the self-reported end-points read the same on both scales, so
    the shares are given once, equal to what the leaderboard scale would give."""
    post = fit.posterior
    tree = fit.tree.copy()
    tree["posterior"] = xr.DataTree(post.assign(protocol_offset=xr.zeros_like(post["protocol_offset"])))
    zero = Fit(spec=fit.spec, rows=fit.rows, excluded=fit.excluded, tree=tree, diagnostics=fit.diagnostics)
    found = _by_id(zero)
    _one_set(found)
    comps = posterior.components(zero)
    assert float(abs(comps["protocol"]).max()) == 0.0
    start, end = (PAPER_MODELS[m] for m in FRONTIER_PAIRS[0])
    face = found[Key("frontier_share", PAPER, "compute", pair=FRONTIER_PAIRS[0]).id].value
    board = decompose.change_shares(headline.leaderboard_scale(comps, comps["protocol"]), start, end).sel(
        component="compute", drop=True)
    assert set(SAMPLE_DIMS) <= set(face.dims)
    np.testing.assert_allclose(face, board.transpose(*face.dims), rtol=1e-8)


@pytest.mark.parametrize("case", ["offset_off", "no_self_reported"])
def test_one_set_without_an_offset_or_self_reported_rows(rows, case):
    """Without the offset in the model, or without a self-reported row, only the face-value shares; the note says
    why."""
    if case == "offset_off":
        fit = sample_prior(_spec(protocol_offset=False), Dataset(models=rows), draws=DRAWS, seed=12)
        why = "model.protocol_offset off"
    else:
        board = rows[rows["is_leaderboard"].astype(bool)].reset_index(drop=True)
        fit = sample_prior(_spec(), Dataset(models=board), draws=DRAWS, seed=12)
        why = "no fitted model's score is self-reported"
    found = _by_id(fit)
    _one_set(found)
    note = _note(fit, found)
    assert "given once" in note and why in note
