"""End to end against R's survey package: a designed county sample stored through the app, weighted by the
questionnaire's own scheme (population tables entered as an evaluator would), and every weighted figure the
results give (each rate, the overall mean of rates, each 乡镇's rate) compared with R's on the same answers.

tests/test_weighting.py checks each formula against R; this checks the wiring: the bases built from the
don't-know rules, the tables joined to the options, the overall figure's combination and the breakdown's domains.
"""

from __future__ import annotations

import copy
import csv
import random
import shutil
import subprocess

import pytest

from survey.models import PopulationTable, WeightingScheme
from survey.platform.extensions import db
from survey.questionnaires import publishing
from survey.responses.capture import enter_response
from survey.results.reporting import questionnaire_results
from tests.conftest import unavailable
from tests.helpers import make_project

TOWNS = {"a": "城关镇", "b": "北山乡", "c": "南湖街道"}
SEXES = {"m": "男", "f": "女"}
AGES = {"y": "18-39", "m": "40-59", "o": "60+"}
SAFE = [{"key": "s", "text": "安全", "positive": True}, {"key": "n", "text": "不安全"},
        {"key": "d", "text": "说不清", "dont_know": True}]  # fmt: skip


def choice(key: str, text: str, options: dict, kind: str = "group") -> dict:
    return {"key": key, "type": kind, "text": text, "options": [{"key": k, "text": t} for k, t in options.items()]}


DEFINITION = {
    "format": "survey-questionnaire/1",
    "title": "县域群众安全感抽样调查",
    "settings": {"overall": {"method": "mean", "measure": "safety"}, "dont_know": "exclude"},
    "sections": [
        {
            "key": "s1",
            "title": "",
            "questions": [
                choice("town", "您居住的乡镇（街道）", TOWNS),
                choice("sex", "性别", SEXES),
                choice("age", "年龄段", AGES, kind="single_choice"),
                {"key": "q1", "type": "single_choice", "text": "您感觉安全吗？", "measure": "safety", "options": SAFE},
                {
                    "key": "q2",
                    "type": "single_choice",
                    "text": "夜间出行安全吗？",
                    "measure": "safety",
                    "options": SAFE,
                },
            ],
        }
    ],
}
TOWN_SEX = {
    ("a", "m"): 41000,
    ("a", "f"): 43000,
    ("b", "m"): 9000,
    ("b", "f"): 8500,
    ("c", "m"): 15500,
    ("c", "f"): 16000,
}
TOTAL = sum(TOWN_SEX.values())
AGE = {"y": 0.38 * TOTAL, "m": 0.37 * TOTAL, "o": 0.25 * TOTAL}


def answers(seed: int = 5) -> list[dict]:
    """Equal interviews per 乡镇, more women and older people reached, the small 乡 less safe."""
    rng = random.Random(seed)
    rows = []
    for town, n in (("a", 110), ("b", 100), ("c", 90)):
        for _ in range(n):
            age = rng.choices("ymo", (22, 36, 42))[0]
            safe = 0.62 if town == "b" else 0.86
            safe -= 0.08 if age == "y" else 0
            row = {"town": town, "sex": "f" if rng.random() < 0.58 else "m", "age": age}
            for key in ("q1", "q2"):
                roll = rng.random()
                row[key] = "d" if roll < 0.1 else ("s" if rng.random() < safe else "n")
            rows.append(row)
    return rows


R_SCRIPT = r"""
suppressMessages(library(survey))
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(file.path(args[1], "d.csv"), stringsAsFactors = FALSE)
for (k in c("y1", "b1", "y2", "b2")) d[[k]] <- as.numeric(d[[k]])
cell <- read.csv(file.path(args[1], "cell.csv"), stringsAsFactors = FALSE)
d$cell <- paste(d$town, d$sex)
cell$cell <- paste(cell$town, cell$sex)
town <- aggregate(Freq ~ town, cell, sum); sex <- aggregate(Freq ~ sex, cell, sum)
age <- read.csv(file.path(args[1], "age.csv"), stringsAsFactors = FALSE)
d0 <- suppressWarnings(svydesign(ids = ~1, data = d))
designs <- list(ps = postStratify(d0, ~cell, cell[, c("cell", "Freq")]),
                rake = rake(d0, list(~town, ~sex, ~age), list(town, sex, age),
                            control = list(maxit = 1000, epsilon = 1e-12)))
out <- c()
for (name in names(designs)) {
  des <- designs[[name]]
  both <- svyratio(~y1 + y2, ~b1 + b2, des, covmat = TRUE)
  for (k in 1:2) {
    r <- svyratio(as.formula(paste0("~y", k)), as.formula(paste0("~b", k)), des)
    out <- rbind(out, c(name, paste0("q", k), "", coef(r), SE(r)))
    by <- svyby(as.formula(paste0("~y", k)), ~town, des, svyratio, denominator = as.formula(paste0("~b", k)))
    for (i in seq_len(nrow(by))) out <- rbind(out, c(name, paste0("q", k), rownames(by)[i], coef(by)[i], SE(by)[i]))
  }
  overall <- svycontrast(both, c("y1/b1" = 0.5, "y2/b2" = 0.5))
  out <- rbind(out, c(name, "overall", "", coef(overall), SE(overall)))
}
write.table(out, file.path(args[1], "out.csv"), sep = ",", row.names = FALSE, col.names = FALSE, quote = FALSE)
"""


@pytest.fixture(scope="module")
def r_figures(tmp_path_factory) -> dict[tuple[str, str, str], tuple[float, float]]:
    rscript = shutil.which("Rscript")
    if rscript is None:
        unavailable("Rscript not found: install Debian's r-cran-survey to compare the weights with R")
    folder = tmp_path_factory.mktemp("county")
    with (folder / "d.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["town", "sex", "age", "y1", "b1", "y2", "b2"])
        for row in answers():
            parts = []
            for key in ("q1", "q2"):
                parts += [int(row[key] == "s"), int(row[key] != "d")]
            writer.writerow([row["town"], row["sex"], row["age"], *parts])
    with (folder / "cell.csv").open("w", newline="") as handle:
        csv.writer(handle).writerows([["town", "sex", "Freq"], *[[t, s, n] for (t, s), n in TOWN_SEX.items()]])
    with (folder / "age.csv").open("w", newline="") as handle:
        csv.writer(handle).writerows([["age", "Freq"], *[[a, repr(n)] for a, n in AGE.items()]])
    (folder / "s.R").write_text(R_SCRIPT, encoding="utf-8")
    run = subprocess.run([rscript, str(folder / "s.R"), str(folder)], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    figures = {}
    for line in (folder / "out.csv").read_text().splitlines():
        design, figure, town, value, se = line.split(",")
        figures[(design, figure, town)] = (float(value), float(se))
    return figures


def county(evaluator, method: str):
    questionnaire = publishing.import_questionnaire(make_project(evaluator), copy.deepcopy(DEFINITION))
    publishing.publish(questionnaire)
    for number, row in enumerate(answers()):
        enter_response(questionnaire, row, f"county-{number}")
    if method == "ps":
        cells = [{"options": [t, s], "count": float(n)} for (t, s), n in TOWN_SEX.items()]
        tables = [("乡镇 × 性别", ["town", "sex"], cells)]
    else:
        town, sex = {}, {}
        for (t, s), n in TOWN_SEX.items():
            town[t] = town.get(t, 0) + n
            sex[s] = sex.get(s, 0) + n
        tables = [
            (name, [key], [{"options": [k], "count": float(v)} for k, v in counts.items()])
            for name, key, counts in (("乡镇", "town", town), ("性别", "sex", sex), ("年龄", "age", AGE))
        ]
    for name, keys, cells in tables:
        db.session.add(PopulationTable(questionnaire=questionnaire, name=name, question_keys=keys, cells=cells))
    db.session.add(
        WeightingScheme(
            questionnaire=questionnaire,
            method="poststratify" if method == "ps" else "rake",
            table_names=[name for name, _, _ in tables],
            tolerance=1e-13,
            max_iterations=1000,
        )
    )
    db.session.commit()
    return questionnaire


@pytest.mark.parametrize("method", ["ps", "rake"])
def test_weighted_results_match_r(evaluator, r_figures, method):
    results = questionnaire_results(county(evaluator, method))
    weighted = results.weighted
    assert weighted is not None, results.weighting_error
    compared = 0
    for (design, figure, town), (value, se) in r_figures.items():
        if design != method:
            continue
        if figure == "overall":
            estimate = weighted.overall
        elif town:
            breakdown = next(b for b in weighted.breakdowns if b.group_key == "town")
            estimate = next(row for row in breakdown.rows if row.key == town).rates[figure]
        else:
            estimate = weighted.rates[figure]
        assert estimate.estimate == pytest.approx(value, rel=0, abs=1e-9), (figure, town)
        assert estimate.standard_error == pytest.approx(se, rel=1e-6), (figure, town)
        compared += 1
    assert compared == 9  # two rates, each in three 乡镇, and the overall mean of the rates
