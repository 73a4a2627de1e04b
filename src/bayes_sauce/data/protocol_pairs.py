"""Same-model pairs of MMLU-Pro scores under two protocols: the developer's own (or another officially reported
one: often chain-of-thought, zero-shot, a generated answer) and the Open LLM Leaderboard v2 harness (five-shot,
the log-likelihood of the answer letters). Their difference on the logit scale measures what a self-reported
score adds over the harness, the protocol offset the 11 self-reported rows of ``models.csv`` carry.

Built by ``make data`` from the reported sources in ``shared/data_raw`` and the hand-checked matches of their
rows to exact leaderboard repos (``data/protocol_matches.csv``); the package reads only the shipped table.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from bayes_sauce.data.raw_sources import (
    AUTHORS_FILE,
    AUTHORS_VERSION,
    NO_LICENCE,
    OLL_FILE,
    OLL_LICENCE,
    OLL_VERSION,
    PUBLIC,
)
from bayes_sauce.paths import DATA_DIR
from bayes_sauce.scale import scale_of

MATCHES_PATH = DATA_DIR / "protocol_matches.csv"
PAIRS_PATH = DATA_DIR / "protocol_pairs.csv"
KINDS = ("instruct", "base")
# Two reports of one model further apart than this (accuracy) are not both right: the pair is excluded.
DISAGREE = 0.01
# A report this close to the leaderboard's normalised score, (raw - 0.1) / 0.9, restates the leaderboard on its
# displayed scale (model cards copy it): not another protocol. (Closeness to the raw score is no sign of this: base
# models' five-shot reports often agree with the harness.)
RESTATED = 0.002


@dataclass(frozen=True)
class ReportedSource:
    """One file of officially reported scores: where its rows, scores, settings and dates are, and its origin."""

    path: Path  # relative to the raw folder
    row: str  # the column identifying a row
    score: str
    setting: str | None
    date: str
    percent: str  # "always" (0-100), "never" (0-1), or "mixed" (a value above 1 is a percentage)
    version: str
    licence: str


REPORTED = (
    ReportedSource(PUBLIC / "yiyuanli_open_metadata.csv", "model_name", "MMLU-Pro", "MMLU-Pro__setting",
                   "release_date", "mixed",
                   "yiyuanli939/LLM-Benchmark-Reported-Data@b445e7f55264309df0781c9478ffc1cb91a7f89a "
                   "data/open_metadata.csv",
                   NO_LICENCE),
    ReportedSource(PUBLIC / "yiyuanli_flagship_metadata.csv", "model_name", "MMLU-Pro", "MMLU-Pro__setting",
                   "release_date", "mixed",
                   "yiyuanli939/LLM-Benchmark-Reported-Data@b445e7f55264309df0781c9478ffc1cb91a7f89a data/metadata.csv",
                   NO_LICENCE),
    ReportedSource(PUBLIC / "llmstats_models_flat_derived.csv", "model_id", "mmlu_pro", "mmlu_pro_method",
                   "release_date", "never",
                   "JonathanChavezTamales/llm-leaderboard@24a9ccf7402306f0c3e237213538e4537d64ecc2 "
                   "data/organizations/*/models/*/{model,benchmarks}.json (LLM-Stats.com), flattened",
                   "CC BY 4.0"),
    ReportedSource(PUBLIC / "lifearchitect_models_table_2025-02_causal-eval.csv", "Model", "MMLU\n-Pro", None,
                   "Announced\n▼", "always",
                   "hlzhang109/causal-eval@6800b3967affffe0785c984a2c05fdece6939606 data/models_table.csv "
                   "(LifeArchitect.ai Models Table)",
                   "none stated (attribution to LifeArchitect.ai)"),
)

PAIR_COLUMNS = [
    "repo", "kind", "model_id", "reported_mmlu_pro", "reported_setting", "reported_source", "reported_row",
    "reported_date", "reported_version", "reported_licence", "other_reports", "harness_mmlu_pro",
    "harness_source", "harness_row", "harness_version", "harness_licence", "logit_reported", "logit_harness",
    "logit_offset", "excluded",
]


def read_matches(path: Path = MATCHES_PATH) -> pd.DataFrame:
    """The hand-checked matches ``source, row, repo, kind, note``: a row with a repo is that leaderboard model's
    report; one without is a report considered and dropped, its note saying why."""
    matches = pd.read_csv(path, dtype=str, keep_default_na=False)
    matched = matches["repo"] != ""
    bad = (matched & ~matches["kind"].isin(KINDS)) | (matches["note"] == "")
    if bad.any():
        raise ValueError(f"{path}: row(s) {(matches.index[bad] + 2).tolist()} need a note, and a kind "
                         f"({' or '.join(KINDS)}) where they name a repo")
    dup = matches.duplicated(["source", "row"], keep=False)
    if dup.any():
        raise ValueError(f"{path}: rows listed twice: {matches.loc[dup, ['source', 'row']].values.tolist()}")
    return matches


def read_reported(raw_dir: Path, models: pd.DataFrame) -> pd.DataFrame:
    """Every officially reported MMLU-Pro score as accuracy in [0, 1]: ``source, row, score, setting, date,
    version, licence``; the authors' self-reported rows (``models.csv`` rows not from the leaderboard) included."""
    parts = []
    for src in REPORTED:
        raw = pd.read_csv(raw_dir / src.path, dtype=str, keep_default_na=False)
        raw = raw[raw[src.score].str.strip() != ""]
        score = raw[src.score].astype(float)
        if src.percent == "always":
            score = score / 100
        elif src.percent == "mixed":
            score = score.where(score <= 1, score / 100)
        parts.append(pd.DataFrame({
            "source": src.path.name, "row": raw[src.row], "score": score,
            "setting": raw[src.setting] if src.setting else "", "date": raw[src.date],
            "version": src.version, "licence": src.licence}))
    own = models[~models["is_leaderboard"].astype(bool)]
    parts.append(pd.DataFrame({
        "source": AUTHORS_FILE.name, "row": own["model_id"], "score": own["mmlu_pro"].astype(float),
        "setting": "self-reported (the authors' file gives no setting)", "date": own["release_month"].astype(str),
        "version": AUTHORS_VERSION, "licence": NO_LICENCE}))
    reported = pd.concat(parts, ignore_index=True)
    dup = reported.duplicated(["source", "row"], keep=False)
    if dup.any():
        raise ValueError(f"reported sources: rows not unique by name: "
                         f"{reported.loc[dup, ['source', 'row']].values.tolist()}")
    return reported


def read_harness(raw_dir: Path, models: pd.DataFrame) -> pd.DataFrame:
    """One leaderboard harness score per repo (lower-case ``key``): the leaderboard row of ``models.csv`` (the score
    the analysis fits), else the leaderboard snapshot's row in bfloat16, else its first result id."""
    oll = pd.read_csv(raw_dir / OLL_FILE, usecols=["eval_name", "Model", "Precision", "MMLU-PRO Raw"])
    oll = pd.DataFrame({
        "repo": oll["Model"].str.extract(r'href="https://huggingface\.co/([^"]+)"')[0], "row": oll["eval_name"],
        "score": oll["MMLU-PRO Raw"].astype(float), "source": OLL_FILE.name, "version": OLL_VERSION,
        "licence": OLL_LICENCE, "rank": (oll["Precision"] != "bfloat16").astype(int) + 1})
    board = models[models["is_leaderboard"].astype(bool)]
    ours = pd.DataFrame({
        "repo": board["model_id"].str.replace("__", "/", n=1), "row": board["hf_id"],
        "score": board["mmlu_pro"].astype(float), "source": AUTHORS_FILE.name, "version": AUTHORS_VERSION,
        "licence": NO_LICENCE, "rank": 0})
    harness = pd.concat([ours, oll], ignore_index=True).assign(key=lambda h: h["repo"].str.lower())
    return harness.sort_values(["key", "rank", "row"]).drop_duplicates("key").drop(columns="rank")


def pair_table(reported: pd.DataFrame, harness: pd.DataFrame, matches: pd.DataFrame,
               models: pd.DataFrame) -> pd.DataFrame:
    """One row per matched repo: its first report (in the order of ``matches``), the others listed, its harness
    score, both logits of the normalised score and their difference (reported minus harness); ``excluded`` says
    why a pair is not a measurement (reports that disagree, or a report restating the leaderboard's score)."""
    scale = scale_of("mmlu_pro")
    matched = matches[matches["repo"] != ""].reset_index(names="order")
    joined = matched.merge(reported, on=["source", "row"], how="left", validate="one_to_one")
    missing = joined["score"].isna()
    if missing.any():
        raise ValueError(f"{MATCHES_PATH.name}: no MMLU-Pro score in the source for "
                         f"{joined.loc[missing, ['source', 'row']].values.tolist()}")
    joined["key"] = joined["repo"].str.lower()
    absent = ~joined["key"].isin(set(harness["key"]))
    if absent.any():
        raise ValueError(f"{MATCHES_PATH.name}: repo(s) not on the leaderboard: "
                         f"{sorted(set(joined.loc[absent, 'repo']))}")
    kinds = joined.groupby("key")["kind"].nunique()
    if (kinds > 1).any():
        raise ValueError(f"{MATCHES_PATH.name}: repo(s) given two kinds: {kinds.index[kinds > 1].tolist()}")
    joined = joined.sort_values("order")
    first = joined.drop_duplicates("key").set_index("key")
    others = joined[joined.duplicated("key")].groupby("key").apply(
        lambda g: "; ".join(f"{s}:{r}={v:.4f}" for s, r, v in zip(g["source"], g["row"], g["score"])),
        include_groups=False)
    spread = joined.groupby("key")["score"].agg(lambda s: s.max() - s.min())
    h = harness.set_index("key").loc[first.index]
    ids = pd.Series(models["model_id"].to_numpy(), index=models["model_id"].str.replace("__", "/", n=1).str.lower())
    out = pd.DataFrame({
        "repo": first["repo"], "kind": first["kind"],
        "model_id": ids[~ids.index.duplicated()].reindex(first.index).fillna(""),
        "reported_mmlu_pro": first["score"], "reported_setting": first["setting"],
        "reported_source": first["source"], "reported_row": first["row"], "reported_date": first["date"],
        "reported_version": first["version"], "reported_licence": first["licence"],
        "other_reports": others.reindex(first.index).fillna(""),
        "harness_mmlu_pro": h["score"], "harness_source": h["source"], "harness_row": h["row"],
        "harness_version": h["version"], "harness_licence": h["licence"]})
    out["logit_reported"] = scale.to_logit(out["reported_mmlu_pro"])
    out["logit_harness"] = scale.to_logit(out["harness_mmlu_pro"])
    out["logit_offset"] = out["logit_reported"] - out["logit_harness"]
    restated = abs(out["reported_mmlu_pro"] - scale.normalised(out["harness_mmlu_pro"])) < RESTATED
    out["excluded"] = ""
    out.loc[restated, "excluded"] = "the report is the leaderboard's normalised score, restated"
    out.loc[spread.reindex(first.index) > DISAGREE, "excluded"] = (
        f"reports of this model disagree by more than {DISAGREE:.0%} accuracy")
    return out[PAIR_COLUMNS].sort_values(["kind", "repo"], key=lambda c: c.str.lower()).reset_index(drop=True)


def build_protocol_pairs(raw_dir: Path, models: pd.DataFrame, matches_path: Path = MATCHES_PATH) -> pd.DataFrame:
    """The protocol pairs table from the raw sources, the curated ``models`` and the hand-checked matches."""
    return pair_table(read_reported(raw_dir, models), read_harness(raw_dir, models), read_matches(matches_path), models)


def read_protocol_pairs(path: Path = PAIRS_PATH) -> pd.DataFrame:
    """The shipped protocol pairs (see ``pair_table``)."""
    return pd.read_csv(path, dtype={c: str for c in PAIR_COLUMNS if "mmlu_pro" not in c and "logit" not in c},
                       keep_default_na=False)
