"""Which fitted family a new model's base model is: a family id, a model id or a Hugging Face repo of the fit,
or any repo the lineage tables lead from to one of the fit's families.

A name is matched, ignoring case, to the fit's family ids, then to its rows (model id, its repo, the leaderboard
result id: a fitted fine-tune leads to its own family), then through the lineage tables exactly as a ``base_model``
column of a data file is (``data.lineage.derive_lineage``: a row naming the base, its family read back). A name the
fit excluded, a fitted model whose own base is unknown and whose family is itself alone (``family_source`` none: not
a base model), and a name that leads to no fitted family are refused with the reason and the closest names.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bayes_sauce.data.lineage import derive_lineage, repo_of
from bayes_sauce.model.new_rows import PredictionError

SUGGESTIONS = 5
NEW_FAMILY_HINT = "or pass --new-family to predict it as a fine-tune of a base model the fit never saw"
UNKNOWN, EXCLUDED, NOT_A_BASE = "unknown", "excluded", "not a base model"  # why a name leads to no fitted family
# What data.lineage.derive_lineage reads of a row.
LINEAGE_INPUT = ["model_id", "hf_id", "developer_raw", "developer", "developer_group", "params_b", "tokens_b",
                 "tokens_base_b", "tokens_inherited", "ln_flops_1e18", "mmlu_pro", "math_l5", "release_month"]


@dataclass(frozen=True)
class Base:
    """What a base-model name leads to: a fitted family (``family``, with how it was found), or why it cannot."""

    name: str
    family: str | None
    how: str = ""
    kind: str = ""  # UNKNOWN, EXCLUDED or NOT_A_BASE where the name leads to no fitted family
    problem: str = ""

    def refused(self, new_family: bool) -> bool:
        """Whether a row naming this base is refused: it leads to no fitted family, and the caller does not let it
        found a new one (an excluded base is refused whatever the caller allows: the fit dropped it for a reason)."""
        return self.family is None and (self.kind == EXCLUDED or not new_family)


def closest(name: str, candidates: list[str], n: int = SUGGESTIONS) -> list[str]:
    """Candidates like ``name``: difflib's closest (ignoring case), then those containing it."""
    lower = {c.lower(): c for c in candidates}
    found = [lower[m] for m in difflib.get_close_matches(name.lower(), list(lower), n=n, cutoff=0.5)]
    found += [c for c in candidates if name.lower() in c.lower()]
    return list(dict.fromkeys(found))[:n]


def _fold(name: str) -> str:
    """A name compared ignoring case and the repo/id spelling ('Qwen/Qwen2.5-7B' and 'Qwen__Qwen2.5-7B' agree)."""
    return repo_of(name.strip()).lower()


def _row_lookup(rows: pd.DataFrame) -> dict[str, tuple[int, str]]:
    """Folded name -> (row position, how it matched): model ids and their repos, then leaderboard result ids."""
    lookup = {}
    if "hf_id" in rows:
        lookup.update({str(h).strip().lower(): (i, "leaderboard id") for i, h in enumerate(rows["hf_id"]) if isinstance(h, str)})
    lookup.update({_fold(str(m)): (i, "model") for i, m in enumerate(rows["model_id"])})
    return lookup


def _through_lineage(names: list[str], rows: pd.DataFrame) -> list[str]:
    """The family a row whose ``base_model`` names each of ``names`` would get beside the fit's rows (the data
    layer's rule for a user's base_model column)."""
    ids = [f"bayes-sauce-predict-probe-{i}" for i in range(len(names))]
    probes = pd.DataFrame({"model_id": ids, "hf_id": None, "developer_raw": ids, "developer": ids,
                           "developer_group": "Other-Small", "params_b": np.nan, "tokens_b": np.nan,
                           "tokens_base_b": np.nan, "tokens_inherited": True, "ln_flops_1e18": np.nan,
                           "mmlu_pro": np.nan, "math_l5": np.nan, "release_month": rows["release_month"].max(),
                           "base_model": names})
    frame = pd.concat([rows[LINEAGE_INPUT].assign(base_model=None), probes], ignore_index=True)
    return derive_lineage(frame)["family"].iloc[len(rows):].astype(str).tolist()


def _excluded_reason(names: list[str], excluded: pd.DataFrame) -> str | None:
    """Why the fit excluded a model of one of these names (any spelling), None if it did not."""
    if excluded is None or not len(excluded) or "model_id" not in excluded:
        return None
    keys = {_fold(n) for n in names}
    hit = excluded[excluded["model_id"].astype(str).map(_fold).isin(keys)]
    if not len(hit):
        return None
    reason = str(hit.iloc[0]["reason"]) if "reason" in hit else ""
    return f"{hit.iloc[0]['model_id']}" + (f" ({reason})" if reason else "")


def resolve_bases(names: list[str], rows: pd.DataFrame, families: list[str], excluded: pd.DataFrame | None) -> dict:
    """Each distinct base-model name -> its ``Base``: a fitted family (``families``: the fit's family ids; ``rows``:
    its models), or why it leads to none."""
    by_fold = {_fold(f): f for f in families}
    lookup = _row_lookup(rows) if names else {}
    size = rows["family"].value_counts().to_dict()
    out: dict[str, Base] = {}
    pending = []
    for name in dict.fromkeys(n.strip() for n in names):
        position, how = lookup.get(_fold(name), lookup.get(name.lower(), (None, "")))
        row = rows.iloc[position] if position is not None else None
        if row is not None and str(row.get("family_source", "")) == "none" and size.get(row["family"], 0) == 1:
            out[name] = Base(name, None, kind=NOT_A_BASE, problem=(
                f"{row['model_id']} is a model of the fit but not a base model: its own base is unknown (lineage "
                "none), so it is a family of one for want of one and its fine-tunes have none; name the model it "
                "was fine-tuned from"))
        elif _fold(name) in by_fold:
            out[name] = Base(name, by_fold[_fold(name)], "family")
        elif row is None:
            pending.append(name)
        else:
            out[name] = Base(name, str(row["family"]), f"{how} {row['model_id']}'s family")
    for name, family in zip(pending, _through_lineage(pending, rows) if pending else []):
        reason = _excluded_reason([name, family], excluded)
        if family in families:
            out[name] = Base(name, family, "lineage")
        elif reason:
            out[name] = Base(name, None, kind=EXCLUDED, problem=(
                f"the fit excluded {reason}; its fine-tunes cannot join a family the fit does not have"))
        else:
            led = f" (the lineage tables lead to {family}, not in the fit)" if _fold(family) != _fold(name) else ""
            matches = closest(name, families) or closest(name, rows["model_id"].astype(str).tolist())
            hint = f"closest: {', '.join(matches)}" if matches else "see the family column of the fit's models.csv"
            out[name] = Base(name, None, kind=UNKNOWN, problem=(
                f"no family of the fit ({len(families)} families) has the base model {name!r}{led}; {hint}"))
    return out
