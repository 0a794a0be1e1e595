"""Weighting speed: raking a million responses, and the weighted full results beside the unweighted ones.

Prints figures; asserts nothing about time. Usage:

    python bench/weighting.py                     # 1,000,000 responses
    python bench/weighting.py --responses 200000

1. Raking alone (``analysis.weighting.rake``) on three margins of a million synthetic respondents (20 乡镇 with
   equal interviews each, sex, 5 age bands, each reached unequally), tolerance 1e-10, timed in this process:
   the goal is ≤ 2 s. The weighted share with its linearised SE on the raked design is timed too.
2. The full results of ``bench/analysis.py``'s 20-question questionnaire at the same size in SQLite (everything
   the results page shows, one breakdown, the JSON), unweighted and then weighted (raking to the population of
   its 5 areas and 4 age bands: every rate, index, option share, dimension, the overall figure and the
   breakdown's cells weighted with SEs), each step in a fresh process, alternating, best of ``--rounds``:
   the goal is weighted ≤ 1.5 × unweighted.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

STEP = r"""
import json, resource, sys, time
sys.path.insert(0, {root!r})
db_path, qid, enabled = {db!r}, {qid}, {enabled}
from tests.conftest import make_config
from app import create_app
app = create_app(make_config("sqlite:///" + db_path))
with app.app_context():
    from survey.platform.extensions import db
    from survey.models import Questionnaire
    from survey.results.reporting import questionnaire_results
    from survey.results.results_json import results_dict
    q = db.session.get(Questionnaire, qid)
    q.weighting.enabled = enabled
    db.session.commit()
    t = time.perf_counter()
    results = questionnaire_results(q)
    data = results_dict(q, results, text_limit=200)
    seconds = time.perf_counter() - t
    weighted = data["weighted"]
    out = {{
        "seconds": seconds,
        "valid": results.valid,
        "overall": data["overall"]["percent"],
        "weighted_overall": weighted["overall"]["percent"] if weighted else None,
        "deff": weighted["summary"]["design_effect"] if weighted else None,
        "problem": data["weighting_problem"],
        "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }}
print(json.dumps(out))
"""


def synthetic_margins(n: int, seed: int = 7) -> tuple[dict, dict]:
    """Three margins of ``n`` respondents and population counts that disagree with the sample's mix."""
    rng = np.random.default_rng(seed)
    towns = np.repeat(np.arange(20), -(-n // 20))[:n]  # equal interviews per 乡镇
    sex = (rng.random(n) < 0.58).astype(np.int64)  # more women reached
    age = rng.choice(5, size=n, p=[0.10, 0.15, 0.20, 0.25, 0.30])  # older people easier to reach
    town_people = rng.integers(8_000, 120_000, size=20).astype(float)
    total = town_people.sum()
    populations = {
        "乡镇": {f"乡镇{i}": town_people[i] for i in range(20)},
        "性别": {"男": total * 0.51, "女": total * 0.49},
        "年龄段": {f"年龄{i}": total * share for i, share in enumerate([0.22, 0.24, 0.22, 0.18, 0.14])},
    }
    import pandas as pd

    margins = {
        "乡镇": pd.Categorical.from_codes(towns, categories=list(populations["乡镇"])),
        "性别": pd.Categorical.from_codes(sex, categories=list(populations["性别"])),
        "年龄段": pd.Categorical.from_codes(age, categories=list(populations["年龄段"])),
    }
    return margins, populations


def bench_raking(n: int) -> None:
    from analysis.weighting import rake, summarize, weighted_share

    margins, populations = synthetic_margins(n)
    rake(margins, populations, tolerance=1e-10, max_iterations=1000)  # warm-up: imports, first allocations
    best, result = float("inf"), None
    for _ in range(3):
        start = time.perf_counter()
        result = rake(margins, populations, tolerance=1e-10, max_iterations=1000)
        best = min(best, time.perf_counter() - start)
    summary = summarize(result)
    print(
        f"raking {n:,} responses on 3 margins (20 + 2 + 5 categories), tolerance 1e-10: {best:.2f} s "
        f"(best of 3), {result.iterations} passes, design effect {summary.design_effect:.2f}   (goal: <= 2 s)"
    )
    y = (np.random.default_rng(3).random(n) < 0.85).astype(float)
    start = time.perf_counter()
    estimate = weighted_share(result, y)
    print(
        f"one weighted rate with its linearised SE on the raked design: {time.perf_counter() - start:.2f} s "
        f"(p = {estimate.estimate:.4f}, SE = {estimate.standard_error:.5f})"
    )


def prepare_weighted(db_path: str, responses: int) -> int:
    """``bench/analysis.py``'s questionnaire and responses, with population tables for its areas and age bands
    and a raking scheme."""
    from bench.analysis import prepare
    from tests.conftest import make_config

    qid = prepare(db_path, responses)
    from app import create_app
    from survey.models import PopulationTable, Questionnaire, WeightingScheme
    from survey.platform.extensions import db

    app = create_app(make_config("sqlite:///" + db_path))
    with app.app_context():
        questionnaire = db.session.get(Questionnaire, qid)
        areas = {"a": 180_000, "b": 95_000, "c": 60_000, "d": 40_000, "e": 25_000}
        total = sum(areas.values())
        ages = {"a": 0.26 * total, "b": 0.28 * total, "c": 0.26 * total, "d": 0.20 * total}
        for name, key, counts in (("地区人口", "area", areas), ("年龄人口", "age", ages)):
            cells = [{"options": [option], "count": float(count)} for option, count in counts.items()]
            db.session.add(PopulationTable(questionnaire=questionnaire, name=name, question_keys=[key], cells=cells))
        db.session.add(
            WeightingScheme(questionnaire=questionnaire, method="rake", table_names=["地区人口", "年龄人口"])
        )
        db.session.commit()
        db.engine.dispose()
    return qid


def run_step(db_path: str, qid: int, enabled: bool) -> dict:
    from bench.common import run_fresh

    return run_fresh(STEP.format(root=str(ROOT), db=db_path, qid=qid, enabled=enabled))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--responses", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, python {sys.version.split()[0]}, load {os.getloadavg()[0]:.2f}")
    bench_raking(args.responses)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "weighted.sqlite")
        print(f"preparing {args.responses:,} responses (SQLite, WAL) with a raking scheme ...")
        qid = prepare_weighted(path, args.responses)
        plain, weighted = [], []
        for _ in range(args.rounds):
            plain.append(run_step(path, qid, False))
            weighted.append(run_step(path, qid, True))
        best_plain = min(plain, key=lambda r: r["seconds"])
        best_weighted = min(weighted, key=lambda r: r["seconds"])
        print(
            f"results unweighted: {best_plain['seconds']:.2f} s, peak {best_plain['peak_mib']:.0f} MiB "
            f"[valid {best_plain['valid']:,}, overall {best_plain['overall']}%]"
        )
        print(
            f"results weighted:   {best_weighted['seconds']:.2f} s, peak {best_weighted['peak_mib']:.0f} MiB "
            f"[weighted overall {best_weighted['weighted_overall']}%, design effect {best_weighted['deff']:.2f}"
            + (f", problem: {best_weighted['problem']}" if best_weighted["problem"] else "")
            + "]"
        )
        ratio = best_weighted["seconds"] / best_plain["seconds"]
        print(f"ratio weighted / unweighted: {ratio:.2f}   (goal: <= 1.5; best of {args.rounds} each, alternating)")


if __name__ == "__main__":
    main()
