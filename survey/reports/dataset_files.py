"""The coded response table (``analysis.datasets.coded_table``) as files: SPSS .sav, Stata .dta, a CSV of codes.

pyreadstat writes to a path, so each file passes through a private temporary file and comes back as bytes.
"""

from __future__ import annotations

import os
import tempfile

import pandas as pd

from survey.platform.csv_files import to_csv_bytes

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


def write_sav(frame: pd.DataFrame, variable_labels: dict, value_labels: dict, measures: dict) -> bytes:
    """The table as an SPSS .sav file (UTF-8), with variable and value labels and measure levels."""
    import pyreadstat

    return _written(
        lambda path: pyreadstat.write_sav(
            frame,
            path,
            column_labels=variable_labels,
            variable_value_labels=value_labels,
            variable_measure=measures,
        ),
        ".sav",
    )


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
