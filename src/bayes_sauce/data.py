"""Load, validate and derive the model-level dataset (one row per LLM).

Input is either a CSV in the authors' released schema (``dataset_for_github.csv``) or the curated
file shipped in ``data/models.csv``. Both go through the same validation and derivation, so every
derived column (compute, groups, periods) is computed here from the raw columns, never typed in.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np
import pandas as pd

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DATA_DIR = PROJECT_ROOT / "data"
CURATED_PATH = DATA_DIR / "models.csv"
ANNOTATIONS_PATH = DATA_DIR / "annotations.csv"

CHANCE_FLOOR = {"mmlu_pro": 0.1, "math_l5": 0.0}
N_QUESTIONS = {"mmlu_pro": 12_032, "math_l5": 1_324}

# Authors' column -> our name, for the columns we read. Their derived columns (normalised and
# logit scores, Ln/Log FLOPs, quarter, cohort) are ignored and recomputed.
AUTHORS_COLUMNS = {
    "Model": "model_id",
    "Hugging Face ID": "hf_id",
    "Model Developer (str)": "developer_raw",
    "Dummy for Top Company": "developer_label",
    "Parameters (Billions)": "params_b",
    "Total Dataset Tokens": "tokens_total_b",
    "Basemodel Dataset Tokens": "tokens_base_b",
    "Month of Model Release": "release_month",
    "MMLU Pro Raw Score": "mmlu_pro",
    "Raw MATH Level 5 Score": "math_l5",
}
INPUT_COLUMNS = list(AUTHORS_COLUMNS.values())

# The authors' labels for the ten major developers, mapped to canonical names.
MAJOR_LABELS = {
    "Deepseek": "DeepSeek",
    "DeepSeek": "DeepSeek",
    "Qwen": "Qwen",
    "Meta": "Meta",
    "Google": "Google",
    "Microsoft": "Microsoft",
    "OpenAI": "OpenAI",
    "Anthropic": "Anthropic",
    "X-AI": "xAI",
    "xAI": "xAI",
    "01-AI": "01-AI",
    "Nvidia": "Nvidia",
}
# Labels the paper folds into the size-binned "Other" groups.
OTHER_LABELS = {"Other, Small", "Other, Med", "Other, Large", "Other", "Mistral", "Tencent"}
MAJORS = sorted(set(MAJOR_LABELS.values()))
# Other developers are binned by their mean ln(6 N[B] D[B]) across their models in the file.
OTHER_BIN_EDGES = (12.0, 15.5)
OTHER_GROUPS = ("Other-Small", "Other-Med", "Other-Large")
GROUPS = (*MAJORS, *OTHER_GROUPS)
BASE_GROUP = "Other-Small"

# The paper's release cohorts (inclusive month ranges).
COHORTS = (
    ("2022q4-2023q3", "2022-10", "2023-09"),
    ("2023q4-2024q2", "2023-10", "2024-06"),
    ("2024q3-2025q1", "2024-07", "2025-03"),
)
PAPER_WINDOW = ("2022-10", "2025-03")
# The column holding each time granularity's period label.
PERIOD_COLUMN = {"cohort": "cohort", "quarter": "release_quarter", "month": "release_month"}

EXCEL_EPOCH = pd.Timestamp("1899-12-30")
NAME_MOE_PATTERN = r"(?i)moe|mixtral|jamba|deepseek-v[23]|-a\d+b\b"


class DataValidationError(ValueError):
    """The input file breaks a rule; the message names the rows and columns."""


@dataclass(frozen=True)
class Filters:
    """Which rows an analysis uses. Every row removed is reported with its reason."""

    window: tuple[str, str] | None = PAPER_WINDOW
    majors_only: bool = False
    leaderboard_only: bool = False
    no_size_estimates: bool = False
    total_tokens_only: bool = False

    @classmethod
    def names(cls) -> list[str]:
        return [f.name for f in fields(cls)]


@dataclass
class Dataset:
    """Rows kept for analysis, the rows dropped (with reasons) and where they came from."""

    models: pd.DataFrame
    excluded: pd.DataFrame = field(default_factory=lambda: _excluded_frame([], []))
    source: str = ""
    sha256: str = ""


def _excluded_frame(ids: list[str], reasons: list[str]) -> pd.DataFrame:
    return pd.DataFrame({"model_id": pd.Series(ids, dtype=str), "reason": pd.Series(reasons, dtype=str)})


def file_sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _rows(index: pd.Index, limit: int = 10) -> str:
    """Name offending rows by file line (header = line 1)."""
    lines = [str(i + 2) for i in index[:limit]]
    more = f" and {len(index) - limit} more" if len(index) > limit else ""
    return ", ".join(lines) + more


def read_input(path: Path | str | None = None) -> pd.DataFrame:
    """Read a CSV in the authors' schema or the curated schema into the input columns."""
    path = Path(path) if path is not None else CURATED_PATH
    if not path.exists():
        raise DataValidationError(f"{path}: file not found")
    raw = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    authors = set(AUTHORS_COLUMNS) & set(raw.columns)
    if authors:
        missing = [c for c in AUTHORS_COLUMNS if c not in raw.columns]
        if missing:
            raise DataValidationError(f"{path}: missing required column(s) {missing} of the authors' schema")
        frame = raw[list(AUTHORS_COLUMNS)].rename(columns=AUTHORS_COLUMNS)
    else:
        missing = [c for c in INPUT_COLUMNS if c not in raw.columns]
        if missing:
            raise DataValidationError(
                f"{path}: missing required column(s) {missing}; expected the authors' schema "
                f"({list(AUTHORS_COLUMNS)}) or the curated schema"
            )
        frame = raw[INPUT_COLUMNS].copy()
    return frame


def _parse_numeric(frame: pd.DataFrame, column: str, *, required: bool, positive: bool, path: str) -> pd.Series:
    text = frame[column]
    values = pd.to_numeric(text, errors="coerce")
    bad = values.isna() & text.notna()
    if bad.any():
        raise DataValidationError(
            f"{path}: column '{column}' is not numeric in row(s) {_rows(frame.index[bad])} "
            f"(values {text[bad].head(3).tolist()})"
        )
    if required and values.isna().any():
        raise DataValidationError(f"{path}: column '{column}' is empty in row(s) {_rows(frame.index[values.isna()])}")
    if positive and (values <= 0).any():
        bad = values <= 0
        raise DataValidationError(
            f"{path}: column '{column}' must be positive; row(s) {_rows(frame.index[bad])} have {values[bad].head(3).tolist()}"
        )
    return values


def _parse_month(text: pd.Series, path: str) -> pd.Series:
    """Excel serial dates (the authors' file) or ISO dates, floored to the first of the month."""
    numeric = pd.to_numeric(text, errors="coerce")
    as_serial = EXCEL_EPOCH + pd.to_timedelta(numeric, unit="D")
    as_iso = pd.to_datetime(text.where(numeric.isna()), errors="coerce", format="ISO8601")
    dates = as_serial.fillna(as_iso)
    bad = dates.isna()
    if bad.any():
        raise DataValidationError(
            f"{path}: column 'release_month' has unparsable date(s) in row(s) {_rows(text.index[bad])} "
            f"(values {text[bad].head(3).tolist()}); use an Excel serial day or YYYY-MM-DD"
        )
    return dates.dt.to_period("M")


def validate(frame: pd.DataFrame, path: str = "<data>") -> pd.DataFrame:
    """Type and range checks on the input columns; raise naming rows and columns on any breach."""
    out = pd.DataFrame(index=frame.index)
    for column in ("model_id", "developer_raw", "developer_label"):
        empty = frame[column].isna() | (frame[column].str.strip() == "")
        if empty.any():
            raise DataValidationError(f"{path}: column '{column}' is empty in row(s) {_rows(frame.index[empty])}")
        out[column] = frame[column].str.strip()
    out["hf_id"] = frame["hf_id"]
    dup = out["model_id"].duplicated(keep=False)
    if dup.any():
        raise DataValidationError(
            f"{path}: duplicate model id(s) {sorted(out.loc[dup, 'model_id'].unique())[:5]} in row(s) {_rows(frame.index[dup])}"
        )
    out["params_b"] = _parse_numeric(frame, "params_b", required=True, positive=True, path=path)
    out["tokens_total_b"] = _parse_numeric(frame, "tokens_total_b", required=False, positive=True, path=path)
    out["tokens_base_b"] = _parse_numeric(frame, "tokens_base_b", required=False, positive=True, path=path)
    no_tokens = out["tokens_total_b"].isna() & out["tokens_base_b"].isna()
    if no_tokens.any():
        raise DataValidationError(
            f"{path}: row(s) {_rows(frame.index[no_tokens])} have neither 'tokens_total_b' nor 'tokens_base_b'"
        )
    for score in ("mmlu_pro", "math_l5"):
        values = _parse_numeric(frame, score, required=score == "mmlu_pro", positive=False, path=path)
        outside = (values < 0) | (values > 1)
        if outside.any():
            raise DataValidationError(
                f"{path}: column '{score}' must lie in [0, 1]; row(s) {_rows(frame.index[outside])} "
                f"have {values[outside].head(3).tolist()}"
            )
        out[score] = values
    out["release_month"] = _parse_month(frame["release_month"], path)
    known = set(MAJOR_LABELS) | OTHER_LABELS
    unknown = ~out["developer_label"].isin(known)
    if unknown.any():
        raise DataValidationError(
            f"{path}: unknown developer label(s) {sorted(out.loc[unknown, 'developer_label'].unique())} in column "
            f"'developer_label' (authors' 'Dummy for Top Company'), row(s) {_rows(frame.index[unknown])}; "
            f"known labels: {sorted(known)}"
        )
    return out


def _cohort(month: pd.Series) -> pd.Series:
    labels = pd.Series(pd.NA, index=month.index, dtype="string")
    for label, start, end in COHORTS:
        inside = (month >= pd.Period(start, "M")) & (month <= pd.Period(end, "M"))
        labels[inside] = label
    return labels


def period_labels(month: pd.Series, time: str) -> pd.Series:
    """Each release month's period label for a time granularity (NA where no cohort covers the month)."""
    if time == "cohort":
        return _cohort(month)
    freq = {"quarter": "Q", "month": "M"}[time]
    return month.dt.asfreq(freq).astype(str).str.lower().astype("string")


def derive(valid: pd.DataFrame, annotations: pd.DataFrame | None = None) -> pd.DataFrame:
    """Add compute, developer group, periods, sources and flags to validated input columns."""
    df = valid.copy()
    df["display_name"] = df["model_id"].str.split("__").str[-1]
    df["tokens_inherited"] = df["tokens_total_b"].isna()
    df["tokens_b"] = df["tokens_total_b"].fillna(df["tokens_base_b"])
    df["flops"] = 6.0 * (df["params_b"] * 1e9) * (df["tokens_b"] * 1e9)
    df["log10_flops"] = np.log10(df["flops"])
    # The paper's unit for the size bins: ln(6 N[B] D[B]) = ln(FLOPs / 1e18).
    df["ln_flops_1e18"] = np.log(6.0 * df["params_b"] * df["tokens_b"])

    major = df["developer_label"].map(MAJOR_LABELS)
    dev_mean = df.groupby("developer_raw")["ln_flops_1e18"].transform("mean")
    other_bin = pd.cut(dev_mean, [-np.inf, *OTHER_BIN_EDGES, np.inf], labels=OTHER_GROUPS).astype(str)
    df["is_major"] = major.notna()
    df["developer_group"] = major.fillna(other_bin)
    # Canonical developer name: the major's name, otherwise the raw prefix.
    df["developer"] = major.fillna(df["developer_raw"])

    df["release_quarter"] = period_labels(df["release_month"], "quarter").astype(str)
    df["cohort"] = period_labels(df["release_month"], "cohort")
    df["release_month"] = df["release_month"].astype(str)
    df["is_leaderboard"] = df["hf_id"].notna()

    ann = annotations if annotations is not None else read_annotations()
    ann = ann.set_index("model_id")
    df["size_from_estimate"] = df["model_id"].map(ann["size_from_estimate"]).astype("boolean").fillna(False).astype(bool)
    oll_moe = df["model_id"].map(ann["oll_moe"]).astype("boolean")
    df["is_moe"] = (oll_moe.fillna(False) | df["model_id"].str.contains(NAME_MOE_PATTERN, regex=True)).astype(bool)
    for score, floor in CHANCE_FLOOR.items():
        df[f"{score}_norm"] = (df[score] - floor) / (1.0 - floor)
    return df[CURATED_COLUMNS]


CURATED_COLUMNS = [
    "model_id",
    "display_name",
    "hf_id",
    "developer_raw",
    "developer_label",
    "developer",
    "developer_group",
    "is_major",
    "release_month",
    "release_quarter",
    "cohort",
    "params_b",
    "tokens_total_b",
    "tokens_base_b",
    "tokens_b",
    "tokens_inherited",
    "flops",
    "log10_flops",
    "ln_flops_1e18",
    "mmlu_pro",
    "mmlu_pro_norm",
    "math_l5",
    "math_l5_norm",
    "is_leaderboard",
    "size_from_estimate",
    "is_moe",
]


def read_annotations(path: Path = ANNOTATIONS_PATH) -> pd.DataFrame:
    """Per-model facts that are not in the authors' file (outside size estimates, leaderboard MoE flag)."""
    ann = pd.read_csv(path, dtype={"model_id": str})
    return ann[["model_id", "size_from_estimate", "oll_moe"]]


def apply_filters(models: pd.DataFrame, filters: Filters) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Keep rows passing every filter; return (kept, excluded with the first failing reason)."""
    reasons = pd.Series(pd.NA, index=models.index, dtype="string")

    def drop(mask: pd.Series, reason: str) -> None:
        reasons[mask & reasons.isna()] = reason

    if filters.window is not None:
        start, end = (pd.Period(s, "M") for s in filters.window)
        month = pd.PeriodIndex(models["release_month"], freq="M")
        drop(pd.Series((month < start) | (month > end), index=models.index),
             f"released outside the window {filters.window[0]}..{filters.window[1]}")
    if filters.majors_only:
        drop(~models["is_major"], "not one of the ten major developers (majors_only)")
    if filters.leaderboard_only:
        drop(~models["is_leaderboard"], "score not from the Open LLM Leaderboard (leaderboard_only)")
    if filters.no_size_estimates:
        drop(models["size_from_estimate"], "size is an outside estimate (no_size_estimates)")
    if filters.total_tokens_only:
        drop(models["tokens_inherited"], "tokens inherited from the base model (total_tokens_only)")
    dropped = reasons.notna()
    excluded = _excluded_frame(models.loc[dropped, "model_id"].tolist(), reasons[dropped].tolist())
    return models.loc[~dropped].reset_index(drop=True), excluded


def load(path: Path | str | None = None, filters: Filters = Filters()) -> Dataset:
    """Read, validate, derive and filter a dataset; the default is the shipped curated file."""
    source = Path(path) if path is not None else CURATED_PATH
    frame = read_input(source)
    models = derive(validate(frame, str(source)))
    kept, excluded = apply_filters(models, filters)
    return Dataset(models=kept, excluded=excluded, source=str(source), sha256=file_sha256(source))


def exclude_rows(dataset: Dataset, mask: pd.Series, reason: str) -> Dataset:
    """Drop rows an analysis cannot take, recording each with its reason."""
    dropped = dataset.models.loc[mask, "model_id"].tolist()
    excluded = pd.concat([dataset.excluded, _excluded_frame(dropped, [reason] * len(dropped))], ignore_index=True)
    return Dataset(models=dataset.models.loc[~mask].reset_index(drop=True), excluded=excluded,
                   source=dataset.source, sha256=dataset.sha256)


def exclude_for_analysis(dataset: Dataset, outcome: str, time: str, logit: bool) -> Dataset:
    """Drop (and list) rows without the outcome or a period, and, for a logit outcome, rows it cannot take."""
    floor = CHANCE_FLOOR[outcome]
    dataset = exclude_rows(dataset, dataset.models[outcome].isna(), f"no {outcome} score")
    dataset = exclude_rows(dataset, dataset.models[PERIOD_COLUMN[time]].isna(), f"no {time} defined for the release month")
    if logit:
        dataset = exclude_rows(dataset, dataset.models[outcome] <= floor,
                               f"{outcome} at or below the chance floor {floor}: logit undefined")
        dataset = exclude_rows(dataset, dataset.models[outcome] >= 1, f"{outcome} = 1: logit undefined")
    return dataset


def write_curated(raw_path: Path, out_path: Path = CURATED_PATH) -> pd.DataFrame:
    """Regenerate the shipped curated file from the authors' CSV."""
    models = derive(validate(read_input(raw_path), str(raw_path)))
    models.to_csv(out_path, index=False)
    return models
