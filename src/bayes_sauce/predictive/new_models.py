"""New models to predict, as users give them: validate, find a base model's family, compute FLOPs, map release
dates to fitted periods, and say where a prediction extrapolates.

Inputs (one row per model, from the command line or a CSV; any other column is refused): ``model`` (a name),
``base_model`` (a Hugging Face repo, family id or model id of the fit: the model is a fine-tune of it), ``params_b``
and ``tokens_b`` (billions; C = 6 N D) or ``flops``, ``developer`` (for a fine-tune: its fine-tuner), optional
``developer_group`` (one of the paper's 13 groups; used only for a developer the fit never saw), ``release_month``
(YYYY-MM, YYYY-MM-DD or an Excel serial day, as in a data file), optional ``is_closed`` (true/false).

A fine-tune of a fitted family takes the family's level, base developer, compute and period: its parameters and
tokens default to its base's and its date does not enter. A base the fit does not have is refused with the closest
names, or, with ``new_family``, founds a new family, around the line of the fitted developer of the base's
organisation where there is one. The output rows are ``predict``'s inputs; the tables summarise draws by their
median and equal-tailed interval.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from bayes_sauce.data.lineage import repo_of
from bayes_sauce.data.read import DATE_FORMATS, LINE, DataValidationError, file_lines, parse_month
from bayes_sauce.fit.fit import Fit
from bayes_sauce.intervals import interval_frame
from bayes_sauce.model.new_rows import PredictionError
from bayes_sauce.periods import MONTHS_PER_PERIOD, cohort_last_month, period_labels, steps_outside
from bayes_sauce.predictive.base_models import EXCLUDED, NEW_FAMILY_HINT, resolve_bases

INPUT_COLUMNS = ("model", "base_model", "params_b", "tokens_b", "flops", "developer", "developer_group",
                 "release_month", "is_closed")
TRUE, FALSE = ("true", "1", "yes"), ("false", "0", "no")
KNOWN, NEW, LINE_ONLY = "known family", "new family", "developer line"  # how a row is predicted


def where(index: pd.Index, mask: np.ndarray | pd.Series) -> str:
    """The rows a message is about: their lines in the user's CSV (as every data message names them), else
    "the model" for the one given on the command line."""
    mask = np.asarray(mask, dtype=bool)
    if index.name == LINE:
        return f"line(s) {file_lines(index[mask])}"
    return "the model" if len(index) == 1 else f"row(s) {np.flatnonzero(mask)[:5].tolist()}"


def _text(column: pd.Series) -> pd.Series:
    """A text column stripped, with empty cells as None (object dtype: missing values stay None)."""
    return pd.Series([str(v).strip() or None if v is not None and not pd.isna(v) else None for v in column],
                     index=column.index, dtype=object)


def check_columns(frame: pd.DataFrame, source: str, with_compute: bool = True) -> None:
    """Refuse columns predict does not read (nothing is dropped unseen) and name the columns it needs."""
    unknown = [str(c) for c in frame.columns if c not in INPUT_COLUMNS]
    if unknown:
        raise PredictionError(f"{source}: unknown column(s) {unknown}; predict reads {list(INPUT_COLUMNS)}")
    has_base = "base_model" in frame and frame["base_model"].notna().any()
    needed = ["developer"] + ([] if has_base else ["release_month"])
    if with_compute and not has_base and "flops" not in frame:
        needed += ["params_b", "tokens_b"]
    missing = [c for c in needed if c not in frame]
    if missing:
        compute = " (or flops instead of params_b and tokens_b)" if {"params_b", "tokens_b"} & set(missing) else ""
        raise PredictionError(f"{source}: missing column(s) {missing}{compute}; a fine-tune of a fitted family "
                              "(column base_model) needs only developer")


def _positive(frame: pd.DataFrame, column: str) -> pd.Series:
    values = pd.to_numeric(frame[column], errors="coerce")
    bad = frame[column].notna() & ~(values > 0)
    if bad.any():
        raise PredictionError(f"{where(frame.index, bad)}: {column} must be a positive number, got "
                              f"{frame.loc[bad, column].head(3).tolist()}")
    infinite = np.isinf(values)
    if infinite.any():
        raise PredictionError(f"{where(frame.index, infinite)}: {column} must be finite, got "
                              f"{frame.loc[infinite, column].head(3).tolist()}")
    return values


def log10_compute(frame: pd.DataFrame, inherited: pd.DataFrame | None = None) -> pd.Series:
    """log10 training FLOPs: ``flops`` where given, else 6 * params * tokens (both in billions).

    ``inherited`` holds, per row, its base's ``params_b``, ``tokens_b`` and ``log10_flops`` (missing where it has
    none): a row giving one of params and tokens takes the other from its base, a row giving neither its base's
    compute (a pruned or upscaled fine-tune gives its own size)."""
    flops = _positive(frame, "flops")
    params, tokens = _positive(frame, "params_b"), _positive(frame, "tokens_b")
    if inherited is not None:
        one = params.notna() ^ tokens.notna()
        params = params.where(params.notna() | ~one, inherited["params_b"])
        tokens = tokens.where(tokens.notna() | ~one, inherited["tokens_b"])
    with np.errstate(over="ignore"):
        log10 = np.log10(flops.fillna(6.0 * params * 1e9 * tokens * 1e9))
    overflow = np.isinf(log10)
    if overflow.any():
        raise PredictionError(f"{where(frame.index, overflow)}: training compute 6 x params x tokens overflows "
                              f"({frame.loc[overflow, 'params_b'].head(3).tolist()} B parameters, "
                              f"{frame.loc[overflow, 'tokens_b'].head(3).tolist()} B tokens)")
    if inherited is not None:
        log10 = log10.fillna(inherited["log10_flops"])
    missing = log10.isna()
    if missing.any():
        raise PredictionError(f"{where(frame.index, missing)}: give both params_b and tokens_b (billions), or flops")
    return log10


def release_months(frame: pd.DataFrame, required: np.ndarray) -> pd.Series:
    """Release dates as monthly periods, read as a data file's are (a bare year is refused); NaT where a row
    gives none and needs none."""
    text = frame["release_month"].astype("string").str.strip().replace("", pd.NA)
    missing = text.isna().to_numpy() & required
    if missing.any():
        raise PredictionError(f"{where(frame.index, missing)}: release_month is empty; a model that is not a "
                              "fine-tune of a fitted family needs its release date")
    months = pd.Series(pd.NaT, index=frame.index, dtype="period[M]")
    given = text.notna()
    try:
        months[given] = parse_month(text[given], "")
    except DataValidationError:
        bad = given & text.map(lambda t: not _is_month(t), na_action="ignore").fillna(False).astype(bool)
        raise PredictionError(f"{where(frame.index, bad)}: release_month must be a date ({DATE_FORMATS}), got "
                              f"{text[bad].head(3).tolist()}") from None
    return months


def _is_month(text: str) -> bool:
    try:
        parse_month(pd.Series([text]), "")
    except DataValidationError:
        return False
    return True


def closed_flags(frame: pd.DataFrame) -> pd.Series:
    """``is_closed`` as booleans: true/1/yes or false/0/no (any case), empty for false; anything else is refused."""
    text = frame["is_closed"].astype("string").str.strip().str.lower().replace("", pd.NA)
    bad = text.notna() & ~text.isin([*TRUE, *FALSE])
    if bad.any():
        raise PredictionError(f"{where(frame.index, bad)}: is_closed must be true or false, got "
                              f"{frame.loc[bad, 'is_closed'].head(3).tolist()}")
    return text.isin(TRUE).fillna(False).astype(bool)


def periods(months: pd.Series, fit: Fit, extend_last_cohort: bool) -> pd.Series:
    """Each month's period label in the fit's time granularity (months that are NaT stay missing).

    Every month has a cohort (``periods``: the paper's, and later ones of nine months after 2025q1), but
    cohort offsets are estimated only for the cohorts the fit had: a month in another one is an error,
    unless it is after the last fitted cohort and ``extend_last_cohort`` (the last cohort's effect is
    assumed to persist). Random-walk periods are returned as they are; ``predict`` extrapolates them or refuses.
    """
    time = fit.spec.data.time
    dated = months.notna().to_numpy()
    labels = pd.Series(pd.NA, index=months.index, dtype="string")
    if dated.any():
        labels[dated] = period_labels(months[dated], time)
    fitted = fit.design.coords["period"]
    if time != "cohort":
        return labels
    later = dated & (months > cohort_last_month(fitted[-1])).fillna(False).to_numpy()
    if later.any() and extend_last_cohort:
        labels[later] = fitted[-1]
    outside = dated & (~labels.isin(fitted)).fillna(True).to_numpy()
    if outside.any():
        first = int(np.flatnonzero(outside)[0])
        hint = (" Pass --extend-last-cohort to assume the last fitted cohort's effect persists, or predict from a "
                "fit with a random walk over quarters (models/quarter_rw.toml), which extrapolates up to a year."
                if later[outside].any() else "")
        raise PredictionError(f"{where(months.index, outside)}: release month {months.iloc[first]} is in cohort "
                              f"{period_labels(months.iloc[[first]], time).iloc[0]}, which the fit never saw (its "
                              f"cohorts: {', '.join(fitted)}); the cohort model cannot extrapolate cohort offsets to "
                              f"a cohort it never saw.{hint}")
    return labels


def canonical_developers(names: pd.Series, fit: Fit) -> pd.Series:
    """Developer names matched to the fit's spelling (base developers and fine-tuners), ignoring case; unseen names
    are kept as given."""
    known = [*fit.design.coords["developer"], *fit.rows["developer"].astype(str).unique()]
    fitted = {str(d).lower(): str(d) for d in known}
    cleaned = names.astype("string").str.strip()
    empty = (cleaned.isna() | (cleaned == "")).to_numpy()
    if empty.any():
        raise PredictionError(f"{where(names.index, empty)}: developer is empty")
    return cleaned.map(lambda d: fitted.get(d.lower(), d)).astype(str)


def _base_defaults(fit: Fit) -> pd.DataFrame:
    """Per fitted family: its compute (the model's), and the parameters and tokens a fine-tune inherits (its
    root's, else its members' medians), its period and its base developer."""
    rows, design = fit.rows, fit.design
    families = design.coords.get("family") or sorted(rows["family"].astype(str).unique())
    members = rows.groupby("family")
    roots = rows[rows["is_root"].astype(bool)].drop_duplicates("family").set_index("family")
    out = pd.DataFrame(index=pd.Index(families, name="family"))
    for column in ("params_b", "tokens_b"):
        out[column] = roots[column].astype(float).reindex(families).fillna(members[column].median())
    fam = design.families
    if fam is not None:
        out["log10_flops"] = fam.x_c + design.c0
        out["period"] = np.asarray(design.coords["period"])[fam.period_idx]
        out["base_developer"] = np.asarray(design.coords["developer"])[fam.base_of_family]
    else:
        out["log10_flops"] = roots["log10_flops"].reindex(families).fillna(members["log10_flops"].mean())
    return out


def _founders(bases: pd.Series, fit: Fit) -> pd.Series:
    """For a base the fit does not have: the fitted base developer of its organisation ('Qwen/Qwen3-8B-Base' ->
    Qwen, through the fitted rows' Hugging Face organisations), else none."""
    first = fit.rows.drop_duplicates("developer_raw")
    by_org = dict(zip(first["developer_raw"].astype(str).str.lower(), first["developer"]))
    org = bases.map(lambda b: repo_of(b).split("/")[0].lower() if "/" in repo_of(b) else None, na_action="ignore")
    founder = org.map(by_org, na_action="ignore")
    return founder.where(founder.isin(set(fit.design.coords["developer"])))


def extrapolation_notes(rows: pd.DataFrame, fit: Fit, months: pd.Series) -> pd.Series:
    """Per row, where its prediction extrapolates past the data ("" where it does not): compute outside the fitted
    range, a release month after the last fitted period (an extended cohort, or random-walk steps)."""
    notes = pd.Series("", index=rows.index, dtype=object)
    low, high = fit.rows["log10_flops"].min(), fit.rows["log10_flops"].max()
    x = rows["log10_flops"]
    for mask, text in ((x > high, lambda v: f"compute {v - high:.1f} decades above the fit's largest (1e{high:.1f} FLOPs)"),
                       (x < low, lambda v: f"compute {low - v:.1f} decades below the fit's smallest (1e{low:.1f} FLOPs)")):
        notes[mask] = [text(v) for v in x[mask]]
    fitted = fit.design.coords["period"]
    dated = rows["predicted_as"].ne(KNOWN) & months.notna()
    time = fit.spec.data.time
    if time == "cohort":
        last = cohort_last_month(fitted[-1])
        after = dated & (months > last).fillna(False)
        steps = [f"released {(m - last).n} month(s) after the fit's last cohort ({fitted[-1]}), whose effect is "
                 "assumed to persist" for m in months[after]]
    else:
        after = dated & rows["period"].map(lambda p: steps_outside(str(p), fitted, time) != 0, na_action="ignore").fillna(False)
        steps = [f"period {p} is {abs(steps_outside(str(p), fitted, time)) * MONTHS_PER_PERIOD[time]} month(s) outside "
                 f"the fitted {fitted[0]}..{fitted[-1]}: the random walk is extrapolated" for p in rows.loc[after, "period"]]
    notes[after] = [f"{n}; {s}" if n else s for n, s in zip(notes[after], steps)]
    return notes


def new_model_rows(frame: pd.DataFrame, fit: Fit, extend_last_cohort: bool = False, with_compute: bool = True,
                   new_family: bool = False, source: str = "the input") -> pd.DataFrame:
    """Validated user rows -> ``predict``'s inputs (plus name, base model, how each is predicted and where it
    extrapolates).

    ``with_compute=False`` is for the inverse question, where the compute is what is asked for; ``new_family``
    lets a base the fit does not have found a new family instead of being refused.
    """
    check_columns(frame, source, with_compute)
    frame = frame.reindex(columns=list(INPUT_COLUMNS))  # the index stays: messages name a CSV's lines by it
    base_name = _text(frame["base_model"])
    if not with_compute and base_name.notna().any():
        raise PredictionError(f"{where(frame.index, base_name.notna())}: the compute a score needs is asked of a "
                              "new pretraining run; a fine-tune's compute is its base's (drop base_model or --target)")
    inherited = _base_defaults(fit)
    bases = resolve_bases(base_name.dropna().tolist(), fit.rows, inherited.index.tolist(), fit.excluded)
    family = pd.Series([bases[b].family if b is not None else None for b in base_name], index=frame.index, dtype=object)
    refused = np.array([b is not None and bases[b].refused(new_family) for b in base_name], dtype=bool)
    if refused.any():
        base = bases[base_name[refused].iloc[0]]
        raise PredictionError(f"{where(frame.index, refused)}: {base.problem}"
                              + (f"; {NEW_FAMILY_HINT}" if base.kind != EXCLUDED else ""))
    known = family.notna().to_numpy()
    families = fit.spec.model.structure == "families"
    defaults = inherited.reindex(family.fillna("").to_numpy()).set_axis(frame.index)
    months = release_months(frame, required=~known | (not families))
    log10_flops = log10_compute(frame, defaults) if with_compute else pd.Series(np.nan, index=frame.index)
    period = periods(months.where(~(known & families)), fit, extend_last_cohort) if (~known | (not families)).any() \
        else pd.Series(pd.NA, index=frame.index, dtype="string")
    developer = canonical_developers(frame["developer"], fit)
    founder = _founders(base_name.where(family.isna()), fit) if new_family else pd.Series(None, index=frame.index)
    if families:
        period = period.where(~known, defaults["period"])
        predicted_as = np.where(known, KNOWN, NEW)
        base_developer = defaults["base_developer"].where(known, founder)
        # A fine-tune (of a fitted family, or of a new base whose developer is not its own) adds its fine-tuner's
        # effect; a row without a base is a new pretraining run of its developer.
        finetune = known | (base_name.notna() & base_developer.notna() & (base_developer != developer)).to_numpy()
    else:
        predicted_as = np.full(len(frame), LINE_ONLY)
        base_developer = pd.Series(None, index=frame.index)
        finetune = np.zeros(len(frame), dtype=bool)
    # A developer of the fitted rows (a fine-tuner that pretrained no base, in the family structure) has its group.
    known_group = dict(zip(fit.rows["developer"].astype(str), fit.rows["developer_group"].astype(str)))
    group = pd.Series([known_group.get(d, g) for d, g in zip(developer, _text(frame["developer_group"]))],
                      index=frame.index, dtype=object)
    rows = pd.DataFrame({
        "model": [str(m) if m is not None else f"new-{i}" for i, m in enumerate(_text(frame["model"]))],
        "base_model": base_name,
        "predicted_as": predicted_as,
        "family": family if families else None,
        "base_developer": base_developer.astype(object).where(base_developer.notna(), None),
        "is_finetune": finetune,
        "developer": developer,
        "developer_group": group,
        "release_month": months.astype(str).where(months.notna(), ""),
        "period": period.astype(object),
        "log10_flops": log10_flops,
        "is_closed": closed_flags(frame),
    }, index=frame.index)
    rows["extrapolation"] = extrapolation_notes(rows, fit, months) if with_compute else ""
    return rows.reset_index(drop=True)


IDENTITY_COLUMNS = ["model", "base_model", "predicted_as", "family", "base_developer", "developer", "developer_group",
                    "release_month", "period"]


def _identity(rows: pd.DataFrame) -> pd.DataFrame:
    return rows[[c for c in IDENTITY_COLUMNS if c in rows]].astype(object).fillna("").reset_index(drop=True)


def prediction_table(rows: pd.DataFrame, draws: xr.Dataset, prob: float) -> pd.DataFrame:
    """One row per new model: inputs, how it was predicted, whether its developer (and fine-tuner) was fitted, the
    chance it is a damaged fine-tune or a failed evaluation, the predicted score's interval and any extrapolation."""
    extra = {"developer_seen": draws["developer_seen"].values, "log10_flops": rows["log10_flops"].to_numpy()}
    if "finetuner_effect" in draws:
        extra["finetuner_effect"] = draws["finetuner_effect"].values
    for name in ("p_damaged", "p_failure"):
        if name in draws:
            extra[name] = draws[name].mean(("chain", "draw")).values
    return pd.concat([_identity(rows), pd.DataFrame(extra),
                      interval_frame(draws["score"], prob, "score_").reset_index(drop=True),
                      rows[["extrapolation"]].reset_index(drop=True)], axis=1)


def compute_table(rows: pd.DataFrame, needed: xr.Dataset, prob: float, target: float) -> pd.DataFrame:
    """One row per question: log10 FLOPs for the developer's median model and for a new model to reach ``target``."""
    return pd.concat([_identity(rows),
                      pd.DataFrame({"developer_seen": needed["developer_seen"].values, "target_score": target}),
                      interval_frame(needed["median_model"], prob, "log10_flops_median_model_").reset_index(drop=True),
                      interval_frame(needed["new_model"], prob, "log10_flops_new_model_").reset_index(drop=True)],
                     axis=1)
