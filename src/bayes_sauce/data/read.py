"""Read a models CSV (the authors' schema or the curated one) and check every input column.

Every message names the file and the rows by their line in the file (the header is line 1), the
same numbering everywhere, so a user can go straight to the offending line.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd

from bayes_sauce.data.lineage_tables import USER_COLUMNS
from bayes_sauce.data.schema import AUTHORS_COLUMNS, INPUT_COLUMNS, MAJOR_LABELS, OTHER_LABELS

# Optional columns a user may add to either schema (their lineage, overriding the derived one); kept when present.
OPTIONAL_COLUMNS = USER_COLUMNS
# Excel serial days accepted as release dates: whole days from 1990-01-01 to 2100-01-01 (a bare year such
# as 2024 would otherwise be read as a day in 1905).
EXCEL_ORIGIN = "1899-12-30"  # day 0 of Excel's (1900, Lotus-compatible) serial dates
EXCEL_SERIAL_RANGE = (32_874, 73_051)
DATE_FORMATS = "YYYY-MM, YYYY-MM-DD or a whole Excel serial day such as 45413 (the authors' file)"
SERIAL_PATTERN = re.compile(r"\d{5}")
MONTH_PATTERN = re.compile(r"\d{4}-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?")


LINE = "line"  # the index name of a frame whose index is the line of each row in its file


class DataValidationError(ValueError):
    """The input file breaks a rule; the message names the rows and columns."""


def file_lines(index: pd.Index, limit: int = 10) -> str:
    """Rows named by their line in the file, at most ``limit`` of them: the index itself when it holds the lines
    (``read_table``'s frames), else positions counted from line 2 (the header is line 1)."""
    lines = [str(i) if index.name == LINE else str(i + 2) for i in index[:limit]]
    more = f" and {len(index) - limit} more" if len(index) > limit else ""
    return ", ".join(lines) + more


def _decode(path: Path) -> str:
    """The file's text (UTF-8, with or without a byte-order mark); an undecodable byte is named by its line."""
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        raise DataValidationError(f"{path}: a gzip-compressed file; decompress it first")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = len(re.split(rb"\r\n|\r|\n", data[:err.start]))  # lines end as the CSV reader ends them
        raise DataValidationError(f"{path}: line {line} is not UTF-8 text (byte {data[err.start]:#04x}); save the "
                                  "file as UTF-8 CSV") from None


def _records(path: Path, text: str) -> tuple[list[str], list[int], list[list[str]]]:
    """(header, the line each record starts on, the records); blank lines are skipped, and a record whose field
    count differs from the header's, or broken quoting, is an error naming its line."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    header: list[str] | None = None
    lines, records = [], []
    while True:
        start = reader.line_num + 1
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as err:
            raise DataValidationError(f"{path}: line {start}: broken quoting ({err}); every quote that opens a field "
                                      "must close it") from None
        if not any(field.strip() for field in record):
            continue  # a blank line, or one of commas only
        if header is None:
            header = [name.strip() for name in record]
            if len(header) == 1 and (";" in header[0] or "\t" in header[0]):
                sep = "';'" if ";" in header[0] else "tabs"
                raise DataValidationError(f"{path}: the columns are separated by {sep}; save the file with commas")
            continue
        if len(record) != len(header):
            raise DataValidationError(f"{path}: line {start} has {len(record)} fields, the header (line 1) has "
                                      f"{len(header)}; a comma inside a value needs quotes around the value")
        lines.append(start)
        records.append(record)
    if header is None:
        raise DataValidationError(f"{path}: the file is empty (expected a header line and one row per model)")
    return header, lines, records


def read_table(path: Path | str) -> pd.DataFrame:
    """The CSV as text columns (empty fields missing), indexed by each row's line in the file; I/O and format
    problems become one clear error naming the file and the line."""
    path = Path(path)
    if not path.exists():
        raise DataValidationError(f"{path}: file not found")
    if path.is_dir():
        raise DataValidationError(f"{path}: is a folder, not a CSV file")
    header, lines, records = _records(path, _decode(path))
    named = [name for name in header if name]
    duplicated = sorted({name for name in named if named.count(name) > 1})
    if duplicated:
        raise DataValidationError(f"{path}: column(s) {duplicated} appear more than once in the header (line 1)")
    if not records:
        raise DataValidationError(f"{path}: the file has a header but no rows")
    keep = [i for i, name in enumerate(header) if name]
    frame = pd.DataFrame([[r[i] for i in keep] for r in records], columns=[header[i] for i in keep],
                         index=pd.Index(lines, name=LINE), dtype=object)
    return frame.mask(frame.apply(lambda column: column.str.strip() == "")).astype(object)


def read_input(path: Path | str) -> pd.DataFrame:
    """Read a CSV in the authors' schema or the curated schema into the input columns (text)."""
    path = Path(path)
    raw = read_table(path)
    optional = [c for c in OPTIONAL_COLUMNS if c in raw.columns]
    if set(AUTHORS_COLUMNS) & set(raw.columns):
        missing = [c for c in AUTHORS_COLUMNS if c not in raw.columns]
        if missing:
            raise DataValidationError(f"{path}: missing required column(s) {missing} of the authors' schema")
        return raw[[*AUTHORS_COLUMNS, *optional]].rename(columns=AUTHORS_COLUMNS)
    missing = [c for c in INPUT_COLUMNS if c not in raw.columns]
    if missing:
        raise DataValidationError(
            f"{path}: missing required column(s) {missing}; expected the authors' schema "
            f"({list(AUTHORS_COLUMNS)}) or the curated schema"
        )
    return raw[[*INPUT_COLUMNS, *optional]].copy()


def parse_numeric(frame: pd.DataFrame, column: str, *, required: bool, positive: bool, path: str) -> pd.Series:
    """A column as finite floats; fails naming the rows that are not numbers, empty, infinite or not positive."""
    text = frame[column]
    values = pd.to_numeric(text, errors="coerce")
    bad = values.isna() & text.notna()
    if bad.any():
        raise DataValidationError(
            f"{path}: column '{column}' is not numeric in line(s) {file_lines(frame.index[bad])} "
            f"(values {text[bad].head(3).tolist()})"
        )
    if required and values.isna().any():
        raise DataValidationError(f"{path}: column '{column}' is empty in line(s) {file_lines(frame.index[values.isna()])}")
    infinite = np.isinf(values)
    if infinite.any():
        raise DataValidationError(f"{path}: column '{column}' must be finite; line(s) {file_lines(frame.index[infinite])}"
                                  f" have {text[infinite].head(3).tolist()}")
    if positive and (values <= 0).any():
        bad = values <= 0
        raise DataValidationError(
            f"{path}: column '{column}' must be positive; line(s) {file_lines(frame.index[bad])} have "
            f"{values[bad].head(3).tolist()}"
        )
    return values


def parse_month(text: pd.Series, path: str) -> pd.Series:
    """Release dates in the documented formats (YYYY-MM, YYYY-MM-DD, Excel serial day) as monthly periods."""
    stripped = text.str.strip()
    serial = pd.to_numeric(stripped.where(stripped.fillna("").str.fullmatch(SERIAL_PATTERN)), errors="coerce")
    is_serial = serial.notna() & serial.between(*EXCEL_SERIAL_RANGE)
    is_iso = stripped.fillna("").str.fullmatch(MONTH_PATTERN)
    dates = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns]")
    dates[is_serial] = pd.to_datetime(serial[is_serial], unit="D", origin=EXCEL_ORIGIN)
    dates[is_iso] = pd.to_datetime(stripped[is_iso], errors="coerce", format="ISO8601")
    bad = dates.isna()
    if bad.any():
        raise DataValidationError(
            f"{path}: column 'release_month' has date(s) not in a known format in line(s) "
            f"{file_lines(text.index[bad])} (values {text[bad].head(3).tolist()}); use {DATE_FORMATS}"
        )
    return dates.dt.to_period("M")


def validate(frame: pd.DataFrame, path: str = "<data>") -> pd.DataFrame:
    """Type and range checks on the input columns; raise naming lines and columns on any breach."""
    out = pd.DataFrame(index=frame.index)
    for column in ("model_id", "developer_raw", "developer_label"):
        empty = frame[column].isna() | (frame[column].str.strip() == "")
        if empty.any():
            raise DataValidationError(f"{path}: column '{column}' is empty in line(s) {file_lines(frame.index[empty])}")
        out[column] = frame[column].str.strip()
    out["hf_id"] = frame["hf_id"]
    dup = out["model_id"].duplicated(keep=False)
    if dup.any():
        raise DataValidationError(
            f"{path}: duplicate model id(s) {sorted(out.loc[dup, 'model_id'].unique())[:5]} in line(s) "
            f"{file_lines(frame.index[dup])}"
        )
    out["params_b"] = parse_numeric(frame, "params_b", required=True, positive=True, path=path)
    out["tokens_total_b"] = parse_numeric(frame, "tokens_total_b", required=False, positive=True, path=path)
    out["tokens_base_b"] = parse_numeric(frame, "tokens_base_b", required=False, positive=True, path=path)
    no_tokens = out["tokens_total_b"].isna() & out["tokens_base_b"].isna()
    if no_tokens.any():
        raise DataValidationError(
            f"{path}: line(s) {file_lines(frame.index[no_tokens])} have neither 'tokens_total_b' nor 'tokens_base_b'"
        )
    flops = 6.0 * (out["params_b"] * 1e9) * (out["tokens_total_b"].fillna(out["tokens_base_b"]) * 1e9)
    unusable = ~(np.isfinite(flops) & (flops > 0))
    if unusable.any():
        raise DataValidationError(
            f"{path}: the training compute 6 N D of line(s) {file_lines(frame.index[unusable])} is beyond floating-point "
            f"range (params_b {out.loc[unusable, 'params_b'].head(3).tolist()}, in billions, times their tokens, in "
            "billions); check the units"
        )
    for score in ("mmlu_pro", "math_l5"):
        values = parse_numeric(frame, score, required=score == "mmlu_pro", positive=False, path=path)
        outside = (values < 0) | (values > 1)
        if outside.any():
            raise DataValidationError(
                f"{path}: column '{score}' must lie in [0, 1]; line(s) {file_lines(frame.index[outside])} "
                f"have {values[outside].head(3).tolist()}"
            )
        out[score] = values
    out["release_month"] = parse_month(frame["release_month"], path)
    known = set(MAJOR_LABELS) | OTHER_LABELS
    unknown = ~out["developer_label"].isin(known)
    if unknown.any():
        raise DataValidationError(
            f"{path}: unknown developer label(s) {sorted(out.loc[unknown, 'developer_label'].unique())} in column "
            f"'developer_label' (authors' 'Dummy for Top Company'), line(s) {file_lines(frame.index[unknown])}; "
            f"known labels: {sorted(known)}"
        )
    for column in frame.columns.intersection(pd.Index(OPTIONAL_COLUMNS)):
        out[column] = frame[column].str.strip().replace("", pd.NA)
    return out.reset_index(drop=True) if frame.index.name == LINE else out
