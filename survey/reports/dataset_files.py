"""The coded response table (``analysis.datasets.coded_table``) as files: SPSS .sav, Stata .dta, a CSV of codes.

pyreadstat writes to a path, so each file passes through a private temporary file and comes back as bytes.
"""

from __future__ import annotations

import os
import tempfile

from analysis.lazy import lazy_module
from survey.platform.csv_files import to_csv_bytes

pd = lazy_module("pandas")

DTA_RELEASE = 14  # pyreadstat's "version" is the Stata release: 14 writes the .dta 118 format (UTF-8)
STATA_LARGEST = 8.988465674311579e307  # the largest double a .dta file holds (Stata reserves the rest for missing)


def _written(write, suffix: str) -> bytes:
    handle, path = tempfile.mkstemp(suffix=suffix)
    os.close(handle)
    try:
        write(path)
        with open(path, "rb") as file:
            return file.read()
    finally:
        os.unlink(path)


# An SPSS system file's header (the "$FL2" record) holds at this offset the dictionary index (1-based, counting
# variable records) of the case-weight variable, 0 for none: PSPP's documentation of the system file format.
SAV_WEIGHT_OFFSET = 4 + 60 + 4 + 4 + 4  # rec_type, prod_name, layout_code, nominal_case_size, compression


def write_sav(
    frame: pd.DataFrame, variable_labels: dict, value_labels: dict, measures: dict, weight: str | None = None
) -> bytes:
    """The table as an SPSS .sav file (UTF-8), with variable and value labels and measure levels.

    ``weight`` names the case-weight variable (SPSS's WEIGHT BY, on as the file opens). It must be the first
    column: its dictionary index is then 1 whatever the other variables' widths, and the header says so.
    pyreadstat writes no weight, so the header's field is set after writing.
    """
    import pyreadstat

    if weight is not None and frame.columns[0] != weight:
        raise ValueError("the weight variable must be the first column")
    data = _written(
        lambda path: pyreadstat.write_sav(
            frame,
            path,
            column_labels=variable_labels,
            variable_value_labels=value_labels,
            variable_measure=measures,
        ),
        ".sav",
    )
    return data if weight is None else _with_weight_index(data, 1)


def _with_weight_index(data: bytes, index: int) -> bytes:
    """The .sav bytes with the header's weight index set (little- or big-endian as the header's layout code)."""
    if data[:4] not in (b"$FL2", b"$FL3"):
        raise ValueError("not an SPSS system file")
    order = "little" if int.from_bytes(data[64:68], "little") in (2, 3) else "big"
    return data[:SAV_WEIGHT_OFFSET] + index.to_bytes(4, order) + data[SAV_WEIGHT_OFFSET + 4 :]


def write_dta(frame: pd.DataFrame, variable_labels: dict, value_labels: dict) -> bytes:
    """The table as a Stata 14+ .dta file (version 118, UTF-8), with variable and value labels.

    A number Stata cannot hold (beyond ±8.99e307: an answer stored before number answers were bounded) is
    written as missing; pyreadstat refused the whole file, a server error.
    """
    import pyreadstat

    frame = _within_stata(frame)
    return _written(
        lambda path: pyreadstat.write_dta(
            frame, path, column_labels=variable_labels, variable_value_labels=value_labels, version=DTA_RELEASE
        ),
        ".dta",
    )


def _within_stata(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with every number beyond what a .dta file holds (or infinite) made missing."""
    numeric = frame.select_dtypes("number").columns
    beyond = frame[numeric].abs() > STATA_LARGEST
    if not beyond.to_numpy().any():
        return frame
    frame = frame.copy()
    frame[numeric] = frame[numeric].mask(beyond)
    return frame


def codes_csv(frame: pd.DataFrame, value_labels: dict) -> bytes:
    """The table as a UTF-8-with-BOM CSV of codes: integers where value labels apply, dates as text."""
    frame = frame.copy()
    for name in value_labels:
        frame[name] = frame[name].astype("Int64")
    for name in ("id", "source_row"):  # whole numbers, never "12.0"; an empty source row stays empty
        frame[name] = frame[name].astype("Int64")
    for name in frame.columns[frame.dtypes == "datetime64[ns]"]:
        frame[name] = frame[name].dt.strftime("%Y-%m-%d %H:%M:%S")
    return to_csv_bytes(frame)
