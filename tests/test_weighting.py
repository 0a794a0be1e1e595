"""Weights and weighted rates (analysis.weighting) against R's survey package, by hand, and by property."""

from __future__ import annotations

import csv
import math
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis.weighting import (
    RakingNotConverged,
    WeightingError,
    breakdown,
    cross_cells,
    domain_shares,
    logit_interval,
    poststratify,
    rake,
    residualise,
    summarize,
    trim_and_rake,
    weighted_combination,
    weighted_share,
)
from tests.conftest import unavailable

STRATA = ("城关镇", "北山乡", "南湖街道")
SEXES = ("男", "女")
AGES = ("18-39", "40-59", "60+")
# Population by 乡镇 × 性别, and by 年龄段 (same total).
POPULATION = {
    ("城关镇", "男"): 41000,
    ("城关镇", "女"): 43000,
    ("北山乡", "男"): 9000,
    ("北山乡", "女"): 8500,
    ("南湖街道", "男"): 15500,
    ("南湖街道", "女"): 16000,
}
TOTAL = sum(POPULATION.values())
AGE_POPULATION = {"18-39": 0.38 * TOTAL, "40-59": 0.37 * TOTAL, "60+": 0.25 * TOTAL}
TIGHT = {"tolerance": 1e-13, "max_iterations": 10_000}


def sample(seed: int = 24) -> dict[str, np.ndarray]:
    """A designed sample: equal interviews per 乡镇 (so the small 乡 is oversampled), more women and older
    people reached, the small 乡 feeling less safe, and about one in ten answering 不知道."""
    rng = np.random.default_rng(seed)
    rows: dict[str, list] = {"stratum": [], "sex": [], "age": [], "y": [], "base": []}
    for stratum, n in zip(STRATA, (150, 140, 130), strict=True):
        for _ in range(n):
            sex = SEXES[int(rng.random() < 0.58)]
            age = AGES[rng.choice(3, p=[0.22, 0.36, 0.42])]
            safe = 0.62 if stratum == "北山乡" else 0.86
            safe -= 0.08 if age == "18-39" else 0.0
            rows["stratum"].append(stratum)
            rows["sex"].append(sex)
            rows["age"].append(age)
            rows["y"].append(int(rng.random() < safe))
            rows["base"].append(int(rng.random() > 0.1))
    data = {key: np.array(value) for key, value in rows.items()}
    data["y"] = data["y"] * data["base"]  # a don't-know answer is outside the base, y = 0 there
    # A second rated item, related to the first, with its own don't-know answers (its own base).
    other = np.random.default_rng(seed + 1)
    data["base2"] = (other.random(data["y"].size) > 0.15).astype(int)
    data["y2"] = np.where(other.random(data["y"].size) < 0.8, data["y"], 1 - data["y"]) * data["base2"]
    return data


R_SCRIPT = r"""
suppressMessages(library(survey))
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(file.path(args[1], "sample.csv"), stringsAsFactors = FALSE, encoding = "UTF-8")
pop_cell <- read.csv(file.path(args[1], "pop_cell.csv"), stringsAsFactors = FALSE, encoding = "UTF-8")
pop_stratum <- read.csv(file.path(args[1], "pop_stratum.csv"), stringsAsFactors = FALSE, encoding = "UTF-8")
pop_sex <- read.csv(file.path(args[1], "pop_sex.csv"), stringsAsFactors = FALSE, encoding = "UTF-8")
pop_age <- read.csv(file.path(args[1], "pop_age.csv"), stringsAsFactors = FALSE, encoding = "UTF-8")
bounds <- scan(file.path(args[1], "bounds.txt"), quiet = TRUE)
d$wc <- sum(pop_stratum$Freq) / nrow(d)
d$cell <- paste(d$stratum, d$sex, sep = "|")
pop_cell$cell <- paste(pop_cell$stratum, pop_cell$sex, sep = "|")
pop_cell <- pop_cell[, c("cell", "Freq")]
out <- list()
put <- function(key, value) out[[key]] <<- value
bounded_raking <- make.calfun(
  function(u, bounds) pmin(pmax(exp(u), bounds$lower), bounds$upper) - 1,
  function(u, bounds) ifelse(exp(u) < bounds$upper & exp(u) > bounds$lower, exp(u), 0),
  "bounded raking"
)
d0 <- suppressWarnings(svydesign(ids = ~1, data = d))
d0w <- svydesign(ids = ~1, weights = ~w0, data = d)
designs <- list(
  ps = postStratify(d0, ~cell, pop_cell),
  rake = rake(d0, list(~stratum, ~sex, ~age), list(pop_stratum, pop_sex, pop_age),
              control = list(maxit = 10000, epsilon = 1e-12)),
  rakew = rake(d0w, list(~stratum, ~sex, ~age), list(pop_stratum, pop_sex, pop_age),
               control = list(maxit = 10000, epsilon = 1e-12)),
  # Bounds are on g = w/d; base weights N/n keep grake from rescaling d (it does when all ratios exceed 20).
  # survey's own cal.raking keeps exp(u) as the derivative of clipped units, and its Newton steps then fail
  # to converge here; the same clipped-exp calibration with the derivative zero where clipped converges.
  trim = calibrate(svydesign(ids = ~1, weights = ~wc, data = d), list(~stratum, ~sex, ~age),
                   list(pop_stratum, pop_sex, pop_age), calfun = bounded_raking, bounds = bounds / d$wc[1],
                   epsilon = 1e-13, maxit = 1000)
)
for (name in names(designs)) {
  des <- designs[[name]]
  put(paste0(name, ".weights"), weights(des))
  r <- svyratio(~y, ~base, des)
  put(paste0(name, ".ratio"), c(coef(r), SE(r)))
  m <- svymean(~y, subset(des, base == 1))
  put(paste0(name, ".mean"), c(coef(m), SE(m)))
  dom <- svyratio(~y, ~base, subset(des, stratum == "北山乡"))
  put(paste0(name, ".domain"), c(coef(dom), SE(dom)))
  dm <- svymean(~y, subset(des, base == 1 & sex == "女"))
  put(paste0(name, ".domain_mean"), c(coef(dm), SE(dm)))
  by <- svyby(~y, ~stratum, des, svyratio, denominator = ~base)
  ses <- SE(by)
  for (k in seq_len(nrow(by))) put(paste0(name, ".by.", rownames(by)[k]), c(coef(by)[k], ses[k]))
  both <- svyratio(~y + y2, ~base + base2, des, covmat = TRUE)
  mean_of_rates <- svycontrast(both, c("y/base" = 0.25, "y2/base2" = 0.75))
  put(paste0(name, ".combination"), c(coef(mean_of_rates), SE(mean_of_rates)))
  p <- coef(r); se <- SE(r)
  put(paste0(name, ".ci"), plogis(qlogis(p) + c(-1, 1) * qnorm(0.975) * se / (p * (1 - p))))
}
con <- file(file.path(args[1], "out.csv"), open = "w", encoding = "UTF-8")
for (key in names(out)) {
  writeLines(paste(key, paste(sprintf("%.17g", as.numeric(out[[key]])), collapse = " "), sep = ","), con)
}
close(con)
"""


def write_csv(path: Path, header: list[str], rows) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


@pytest.fixture(scope="module")
def data() -> dict[str, np.ndarray]:
    return sample()


@pytest.fixture(scope="module")
def trimmed(data):
    return trim_and_rake(*three_margins(data), median_multiple=3, tolerance=1e-13, max_iterations=3000)


@pytest.fixture(scope="module")
def w0(data) -> np.ndarray:
    """Unequal base weights (e.g. inverse selection probabilities within households)."""
    return np.random.default_rng(7).uniform(1, 3, data["y"].size)


def three_margins(data):
    margins = {"乡镇": data["stratum"], "性别": data["sex"], "年龄段": data["age"]}
    stratum_population = {s: sum(v for (t, _), v in POPULATION.items() if t == s) for s in STRATA}
    sex_population = {s: sum(v for (_, t), v in POPULATION.items() if t == s) for s in SEXES}
    populations = {"乡镇": stratum_population, "性别": sex_population, "年龄段": AGE_POPULATION}
    return margins, populations


@pytest.fixture(scope="module")
def r_figures(data, w0, trimmed, tmp_path_factory) -> dict[str, np.ndarray]:
    """Run R's survey package once on the generated sample; skip (fail in CI) when R or survey is missing."""
    rscript = shutil.which("Rscript")
    if rscript is None:
        unavailable("Rscript not found: install Debian's r-cran-survey to compare the weights with R")
    check = subprocess.run([rscript, "-e", "library(survey)"], capture_output=True, text=True, timeout=120)
    if check.returncode != 0:
        unavailable("R's survey package is missing: install Debian's r-cran-survey")
    folder = tmp_path_factory.mktemp("r_survey")
    n = data["y"].size
    write_csv(
        folder / "sample.csv",
        ["stratum", "sex", "age", "y", "base", "y2", "base2", "w0"],
        [
            [data[key][i] for key in ("stratum", "sex", "age", "y", "base", "y2", "base2")] + [repr(float(w))]
            for i, w in zip(range(n), w0, strict=True)
        ],
    )
    write_csv(folder / "pop_cell.csv", ["stratum", "sex", "Freq"], [[s, x, v] for (s, x), v in POPULATION.items()])
    margins, populations = three_margins(data)
    for name, column in (("乡镇", "stratum"), ("性别", "sex"), ("年龄段", "age")):
        short = {"stratum": "pop_stratum", "sex": "pop_sex", "age": "pop_age"}[column]
        write_csv(
            folder / f"{short}.csv", [column, "Freq"], [[k, repr(float(v))] for k, v in populations[name].items()]
        )
    (folder / "bounds.txt").write_text(f"{trimmed.trimmed['lower']!r} {trimmed.trimmed['upper']!r}\n")
    (folder / "script.R").write_text(R_SCRIPT, encoding="utf-8")
    run = subprocess.run([rscript, str(folder / "script.R"), str(folder)], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    figures = {}
    for line in (folder / "out.csv").read_text(encoding="utf-8").splitlines():
        key, values = line.split(",", 1)
        figures[key] = np.array([float(value) for value in values.split()])
    return figures


def designs(data, w0, trimmed):
    margins, populations = three_margins(data)
    return {
        "ps": poststratify(cross_cells(data["stratum"], data["sex"]), POPULATION, name="乡镇 × 性别"),
        "rake": rake(margins, populations, **TIGHT),
        "rakew": rake(margins, populations, base_weights=w0, **TIGHT),
        "trim": trimmed,
    }


@pytest.mark.parametrize("name", ["ps", "rake", "rakew", "trim"])
def test_against_r(name, data, w0, trimmed, r_figures):
    weights = designs(data, w0, trimmed)[name]
    assert weights.converged
    np.testing.assert_allclose(weights.weights, r_figures[f"{name}.weights"], rtol=1e-9, atol=0)

    base = data["base"] == 1
    overall = weighted_share(weights, data["y"], base)
    p, se = r_figures[f"{name}.ratio"]
    assert overall.estimate == pytest.approx(p, rel=0, abs=1e-9)
    assert overall.standard_error == pytest.approx(se, rel=1e-6)
    np.testing.assert_allclose([overall.low, overall.high], r_figures[f"{name}.ci"], rtol=1e-6)
    p, se = r_figures[f"{name}.mean"]
    assert overall.estimate == pytest.approx(p, rel=0, abs=1e-9)
    assert overall.standard_error == pytest.approx(se, rel=1e-6)

    domain = weighted_share(weights, data["y"], base, data["stratum"] == "北山乡")
    p, se = r_figures[f"{name}.domain"]
    assert domain.estimate == pytest.approx(p, rel=0, abs=1e-9)
    assert domain.standard_error == pytest.approx(se, rel=1e-6)
    women = weighted_share(weights, data["y"], base, data["sex"] == "女")
    p, se = r_figures[f"{name}.domain_mean"]
    assert women.estimate == pytest.approx(p, rel=0, abs=1e-9)
    assert women.standard_error == pytest.approx(se, rel=1e-6)

    parts = [(data["y"], base), (data["y2"], data["base2"] == 1)]
    combination = weighted_combination(weights, parts, [0.25, 0.75])
    p, se = r_figures[f"{name}.combination"]
    assert combination.estimate == pytest.approx(p, rel=0, abs=1e-9)
    assert combination.standard_error == pytest.approx(se, rel=1e-6)

    codes = np.array([STRATA.index(s) for s in data["stratum"]])
    fast = domain_shares(weights, data["y"], base, codes, len(STRATA))  # every group at once, same figures
    for stratum, estimate in zip(STRATA, fast, strict=True):
        p, se = r_figures[f"{name}.by.{stratum}"]
        assert estimate.estimate == pytest.approx(p, rel=0, abs=1e-9)
        assert estimate.standard_error == pytest.approx(se, rel=1e-6)
        assert estimate.n == int((base & (codes == STRATA.index(stratum))).sum())

    by = breakdown(weights, data["y"], data["stratum"], base)
    assert set(by) == set(STRATA)
    for stratum, estimate in by.items():
        p, se = r_figures[f"{name}.by.{stratum}"]
        assert estimate.estimate == pytest.approx(p, rel=0, abs=1e-9)
        assert estimate.standard_error == pytest.approx(se, rel=1e-6)


def test_weighting_moves_the_county_rate(data):
    """The oversampled small 乡 feels less safe: weighting must pull the county rate up."""
    weights = poststratify(cross_cells(data["stratum"], data["sex"]), POPULATION)
    base = data["base"] == 1
    weighted = weighted_share(weights, data["y"], base).estimate
    assert weighted > data["y"][base].mean() + 0.02


# --- hand-computed cases -------------------------------------------------------------------------------------


def test_poststratify_by_hand():
    # Cell a: 2 respondents for 100 people, cell b: 1 for 50: every weight is 50.
    weights = poststratify(["a", "a", "b"], {"a": 100, "b": 50, "c": 0})
    np.testing.assert_allclose(weights.weights, [50, 50, 50])
    estimate = weighted_share(weights, [1, 0, 1])
    assert estimate.estimate == pytest.approx(2 / 3)
    # Influence w(y−p)/Σw = (1/9, −2/9, 1/9); minus the cell means of x/w times w: (1/6, −1/6, 0);
    # variance 3/2 · (1/36 + 1/36) = 1/12.
    assert estimate.standard_error == pytest.approx(math.sqrt(1 / 12), rel=1e-12)
    assert estimate.n == 3 and estimate.weighted_base == pytest.approx(150)
    assert estimate.n_effective == pytest.approx(3)


def test_rake_by_hand():
    # One respondent per cell of a 2×2 table: raking gives r_i·c_j/N (the sample's odds ratio, 1, is kept).
    weights = rake(
        {"A": ["a", "a", "b", "b"], "X": ["x", "y", "x", "y"]},
        {"A": {"a": 30, "b": 70}, "X": {"x": 40, "y": 60}},
    )
    np.testing.assert_allclose(weights.weights, [12, 18, 28, 42], rtol=1e-9)
    assert weights.converged and weights.iterations <= 3


def test_summary_by_hand():
    summary = summarize([1.0, 1.0, 2.0])
    assert (summary.minimum, summary.median, summary.maximum, summary.total) == (1, 1, 2, 4)
    # Mean 4/3, population variance 2/9, CV² = (2/9)/(16/9) = 1/8: deff 1.125 = n·Σw²/(Σw)² = 3·6/16.
    assert summary.design_effect == pytest.approx(1.125)
    assert summary.n_effective == pytest.approx(16 / 6)
    assert summarize([5.0] * 4).design_effect == pytest.approx(1)


def test_logit_interval():
    low, high = logit_interval(0.8, 0.02)
    z = 1.959963984540054
    assert low == pytest.approx(1 / (1 + math.exp(-(math.log(4) - z * 0.02 / 0.16))))
    assert high == pytest.approx(1 / (1 + math.exp(-(math.log(4) + z * 0.02 / 0.16))))
    assert logit_interval(1.0, 0.0) is None and logit_interval(0.0, 0.1) is None


def test_empty_domain():
    weights = poststratify(["a", "b"], {"a": 1, "b": 1})
    estimate = weighted_share(weights, [1, 0], domain=[False, False])
    assert estimate.estimate is None and estimate.n == 0


def test_raking_residuals_are_rs_loop(data):
    """residualise() does R's ten sweeps on category totals; R's literal loop over responses gives the same."""
    margins, populations = three_margins(data)
    weights = rake(margins, populations, max_iterations=3, require_convergence=False)
    x = np.random.default_rng(3).normal(size=weights.n) * weights.weights
    expected = x.copy()
    for _ in range(10):  # svyrecvar: x <- x - psw * apply(x / psw, 2, ave, margin)
        for margin in weights.margins:
            psw = margin.weights_after
            means = np.bincount(margin.codes, weights=expected / psw) / np.bincount(margin.codes)
            expected = expected - psw * means[margin.codes]
    np.testing.assert_allclose(residualise(x, weights), expected, rtol=1e-10, atol=1e-12 * np.abs(x).max())


# --- refusals ------------------------------------------------------------------------------------------------


def test_cell_missing_from_population():
    with pytest.raises(WeightingError, match="人口表中没有“c”这一类"):
        poststratify(["a", "c"], {"a": 10, "b": 5})


def test_cross_cell_named():
    with pytest.raises(WeightingError, match="城关镇 × 女"):
        poststratify(cross_cells(["城关镇", "城关镇"], ["男", "女"]), {("城关镇", "男"): 10})


def test_population_cell_without_respondents():
    with pytest.raises(WeightingError, match="“b” 有人口但没有回答"):
        poststratify(["a", "a"], {"a": 10, "b": 5})


def test_zero_population_with_respondents():
    with pytest.raises(WeightingError, match="人数为零，但有人回答"):
        poststratify(["a", "b"], {"a": 10, "b": 0})


@pytest.mark.parametrize("count", [-1, math.nan, math.inf, "many"])
def test_bad_counts(count):
    with pytest.raises(WeightingError):
        poststratify(["a", "b"], {"a": 10, "b": count})


def test_missing_category():
    with pytest.raises(WeightingError, match="缺少"):
        poststratify(["a", None], {"a": 10})


def test_margins_disagree():
    with pytest.raises(WeightingError, match="人口总数不一致"):
        rake({"A": ["a", "b"], "X": ["x", "y"]}, {"A": {"a": 1, "b": 1}, "X": {"x": 1, "y": 2}})


def test_not_converged(data):
    margins, populations = three_margins(data)
    with pytest.raises(RakingNotConverged, match="未收敛") as caught:
        rake(margins, populations, tolerance=1e-12, max_iterations=1)
    assert not caught.value.result.converged and caught.value.result.iterations == 1
    result = rake(margins, populations, tolerance=1e-12, max_iterations=2, require_convergence=False)
    assert not result.converged and "未收敛" in str(result.message) and result.iterations == 2


def test_trimming_keeps_bounds_and_margins(data, trimmed):
    margins, populations = three_margins(data)
    untrimmed = rake(margins, populations, **TIGHT)
    median = np.median(untrimmed.weights)
    assert untrimmed.weights.max() > 3 * median  # otherwise the test trims nothing
    assert trimmed.weights.max() == pytest.approx(3 * median, rel=1e-12)
    assert trimmed.weights.min() >= median / 3 * (1 - 1e-12)
    assert trimmed.trimmed["count"] >= 1 and trimmed.method == "bounded_rake"
    assert_margins(trimmed, margins, populations)


# --- properties ----------------------------------------------------------------------------------------------


def assert_margins(weights, margins, populations, rel=1e-8):
    for name, labels in margins.items():
        labels = np.asarray(labels)
        for category, count in populations[name].items():
            assert weights.weights[labels == category].sum() == pytest.approx(count, rel=rel, abs=1e-9)


@st.composite
def two_margin_samples(draw):
    """Samples where every cell of A × X has a respondent (so raking converges), with random populations."""
    ka = draw(st.integers(2, 4))
    kx = draw(st.integers(2, 3))
    extra = draw(st.lists(st.tuples(st.integers(0, ka - 1), st.integers(0, kx - 1)), max_size=30))
    cells = [(a, x) for a in range(ka) for x in range(kx)] + extra
    counts = st.floats(1, 1000, allow_nan=False, allow_infinity=False)
    pop_a = draw(st.lists(counts, min_size=ka, max_size=ka))
    pop_x = draw(st.lists(counts, min_size=kx, max_size=kx))
    pop_x = [value * sum(pop_a) / sum(pop_x) for value in pop_x]
    y = draw(st.lists(st.integers(0, 1), min_size=len(cells), max_size=len(cells)))
    return (
        {"A": [f"a{a}" for a, _ in cells], "X": [f"x{x}" for _, x in cells]},
        {"A": {f"a{i}": v for i, v in enumerate(pop_a)}, "X": {f"x{i}": v for i, v in enumerate(pop_x)}},
        np.array(y),
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(two_margin_samples())
def test_raking_reproduces_margins_and_total(case):
    margins, populations, _ = case
    weights = rake(margins, populations, tolerance=1e-11, max_iterations=100_000)
    assert_margins(weights, margins, populations)
    total = sum(populations["A"].values())
    assert weights.weights.sum() == pytest.approx(total, rel=1e-9)
    assert np.all(weights.weights > 0)


@settings(max_examples=60, deadline=None)
@given(two_margin_samples(), st.floats(0.5, 500))
def test_proportional_margins_give_unweighted_figures(case, scale):
    margins, _, y = case
    populations = {
        name: {category: scale * labels.count(category) for category in set(labels)} for name, labels in margins.items()
    }
    weights = rake(margins, populations)
    np.testing.assert_allclose(weights.weights, scale, rtol=1e-9)
    assert weighted_share(weights, y).estimate == pytest.approx(y.mean(), abs=1e-12)
    cells = cross_cells(margins["A"], margins["X"])
    populations = {cell: scale * cells.count(cell) for cell in set(cells)}
    weights = poststratify(cells, populations)
    np.testing.assert_allclose(weights.weights, scale, rtol=1e-12)
    assert weighted_share(weights, y).estimate == pytest.approx(y.mean(), abs=1e-12)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.sampled_from("abcd"), min_size=1, max_size=40),
    st.dictionaries(st.sampled_from("abcd"), st.floats(0.5, 1e6), min_size=4, max_size=4),
)
def test_poststratified_weights_sum_to_population(cells, population):
    population = {key: value for key, value in population.items() if key in cells}
    weights = poststratify(cells, population)
    assert weights.weights.sum() == pytest.approx(sum(population.values()), rel=1e-12)
    summary = summarize(weights)
    assert summary.design_effect >= 1 - 1e-12
    assert summary.n_effective == pytest.approx(len(cells) / summary.design_effect)
