"""``flask weighting …``: population tables, the weighting scheme and the sample plan from the command line, the same
checks and records as the desk's 抽样设计与加权 page (``survey/weighting/``). ``docs/cli.md`` lists the commands.
"""

from __future__ import annotations

from pathlib import Path

import click

from analysis.design import DesignError
from analysis.numbers import finite_data
from survey.collection.import_reading import FileProblem, read_table
from survey.projects.command_support import (
    Refused,
    acting_user,
    echo_json,
    json_option,
    named,
    questionnaire_for,
    recorded,
)
from survey.projects.command_support import readable_questionnaire as readable
from survey.results.presenting import weighting_problem
from survey.results.reporting import questionnaire_results
from survey.results.results_json import weighting_dict
from survey.weighting.plan import design_problem, make_plan, plan_view, save_plan
from survey.weighting.population import check_table, save_table, weighting_questions
from survey.weighting.scheme import save_scheme


def init_app(app) -> None:
    app.cli.add_command(weighting_group)


@click.group("weighting")
def weighting_group() -> None:
    """Population tables, the weighting scheme and the sample plan (抽样设计与加权)."""


def _questions(questionnaire, keys: str) -> list[dict]:
    by_key = {q["key"]: q for q in weighting_questions(questionnaire)}
    chosen = [key.strip() for key in keys.split(",") if key.strip()]
    unknown = [key for key in chosen if key not in by_key]
    if not chosen or unknown:
        raise Refused(
            f"questions must be among: {', '.join(by_key)}" + (f" (unknown: {', '.join(unknown)})" if unknown else "")
        )
    return [by_key[key] for key in chosen]


@weighting_group.command("table")
@click.argument("questionnaire_id", type=int)
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--name", required=True, help="The table's name (a table of the same name is replaced).")
@click.option("--questions", required=True, help="Question keys in the file's column order, comma-separated.")
@click.option("--source", default="", help="Where the counts come from (e.g. 第七次全国人口普查).")
@click.option("--as", "username", required=True, metavar="USERNAME", help="An owner or editor of the project.")
@json_option
def table_command(questionnaire_id: int, path: str, name: str, questions: str, source: str, username: str, as_json):
    """Check a population table (XLSX, XLS or CSV) whole and store it only if nothing is wrong."""
    user = acting_user(username)
    questionnaire = questionnaire_for(user, questionnaire_id)
    chosen = _questions(questionnaire, questions)
    try:
        table = read_table(Path(path).read_bytes())
    except FileProblem as error:
        raise Refused(f"{path}: {error.message}") from None
    check = check_table(questionnaire, name.strip(), chosen, table)
    if not check.ok:
        raise Refused("the table was not stored:\n" + "\n".join(str(p) for p in check.problems),
                      problems=[str(p) for p in check.problems])  # fmt: skip
    save_table(questionnaire, name.strip(), source.strip(), chosen, check.cells)
    recorded("weighting.table", user, questionnaire.project_id, named(questionnaire), {"name": name.strip()})
    if as_json:
        echo_json({"ok": True, "name": name.strip(), "cells": len(check.cells)})
    else:
        click.echo(f"stored population table {name.strip()!r}: {len(check.cells)} categories")


@weighting_group.command("scheme")
@click.argument("questionnaire_id", type=int)
@click.option("--method", type=click.Choice(["poststratify", "rake"]), required=True)
@click.option("--tables", required=True, help="Population table names, comma-separated (raking order).")
@click.option("--tolerance", type=click.FloatRange(1e-12, 0.01), default=1e-6, show_default=True)
@click.option("--max-iterations", type=click.IntRange(1, 10_000), default=100, show_default=True)
@click.option("--trim", type=click.Choice(["none", "bounds", "median"]), default="none", show_default=True)
@click.option("--trim-low", type=click.FloatRange(0), help="Lowest weight (with --trim bounds).")
@click.option("--trim-high", type=click.FloatRange(0, min_open=True), help="Highest weight (with --trim bounds).")
@click.option("--trim-multiple", type=click.FloatRange(1.01, 100), help="Times the median (with --trim median).")
@click.option("--disable", is_flag=True, help="Store the scheme but keep the figures unweighted.")
@click.option("--as", "username", required=True, metavar="USERNAME", help="An owner or editor of the project.")
@json_option
def scheme_command(questionnaire_id: int, tables: str, disable: bool, username: str, as_json: bool, **settings):
    """Weight the questionnaire's valid responses to its population tables (every figure, every file)."""
    user = acting_user(username)
    questionnaire = questionnaire_for(user, questionnaire_id)
    names = [name.strip() for name in tables.split(",") if name.strip()]
    known = {t.name for t in questionnaire.population_tables}
    if not names or any(name not in known for name in names):
        raise Refused(f"tables must be among: {', '.join(sorted(known)) or '(none yet)'}")
    if settings["method"] == "poststratify" and len(names) != 1:
        raise Refused("post-stratification takes one table (cross-classified if need be); use --method rake")
    if settings["trim"] == "bounds" and (
        settings["trim_high"] is None or (settings["trim_low"] or 0) >= settings["trim_high"]
    ):
        raise Refused("--trim bounds needs --trim-high above --trim-low")
    if settings["trim"] == "median" and settings["trim_multiple"] is None:
        raise Refused("--trim median needs --trim-multiple")
    save_scheme(questionnaire, names, enabled=not disable, **settings)
    recorded("weighting.scheme", user, questionnaire.project_id, named(questionnaire), {"method": settings["method"]})
    _show(questionnaire, as_json)


@weighting_group.command("plan")
@click.argument("questionnaire_id", type=int)
@click.option("--stratum", required=True, help="The stratum question's key (or __channel for the channels).")
@click.option("--table", "table_name", required=True, help="The population table the strata's sizes come from.")
@click.option("--method", type=click.Choice(["proportional", "equal", "neyman"]), default="proportional")
@click.option("--total", type=click.IntRange(1), required=True)
@click.option("--minimum", type=click.IntRange(0), default=0)
@click.option("--maximum", type=click.IntRange(1))
@click.option("--expected", type=click.FloatRange(0, 1), help="Expected rate for Neyman and the margins (0.5).")
@click.option("--quotas", is_flag=True, help="With channel strata, also set each channel's quota.")
@click.option("--as", "username", required=True, metavar="USERNAME", help="An owner or editor of the project.")
@json_option
def plan_command(questionnaire_id: int, stratum: str, table_name: str, username: str, as_json: bool, **options):
    """Allocate the sample to strata and store the plan (channel strata: their targets, and quotas if asked)."""
    user = acting_user(username)
    questionnaire = questionnaire_for(user, questionnaire_id)
    table = next((t for t in questionnaire.population_tables if t.name == table_name), None)
    if table is None or stratum not in table.question_keys:
        raise Refused(f"no population table {table_name!r} counting {stratum!r}")
    try:
        design = make_plan(
            table, stratum, options["method"], options["total"], options["minimum"], options["maximum"],
            options["expected"],
        )  # fmt: skip
    except DesignError as error:
        raise Refused(design_problem(error)) from None
    save_plan(questionnaire, table, stratum, design, options["expected"], options["quotas"])
    recorded("weighting.plan", user, questionnaire.project_id, named(questionnaire), {"total": design.total})
    if as_json:
        echo_json({"ok": True, "allocation": design.allocation, "margins": design.margins,
                   "overall_margin": design.overall_margin})  # fmt: skip
    else:
        for stratum_key, n in design.allocation.items():
            click.echo(f"{stratum_key}\t{n}")


@weighting_group.command("show")
@click.argument("questionnaire_id", type=int)
@json_option
def show_command(questionnaire_id: int, as_json: bool) -> None:
    """The tables, the scheme, the weights' summary and the plan's coverage on today's valid responses."""
    _show(readable(questionnaire_id), as_json)


def _show(questionnaire, as_json: bool) -> None:
    results = questionnaire_results(questionnaire)
    plan, plan_problem = plan_view(questionnaire, results)
    data = {
        "tables": [
            {"name": t.name, "source": t.source, "questions": t.question_keys, "cells": t.cells}
            for t in questionnaire.population_tables
        ],  # fmt: skip
        "weighting": weighting_dict(results.weighted) if results.weighted else None,
        "weighting_problem": weighting_problem(results.weighting_error),
        "plan": None
        if plan is None
        else {"allocation": plan.plan.allocation, "overall_margin": plan.plan.overall_margin},
        "plan_problem": plan_problem,
    }
    if as_json:
        echo_json(finite_data(data))
        return
    click.echo(f"{len(data['tables'])} population table(s): {', '.join(t['name'] for t in data['tables']) or '-'}")
    if data["weighting"]:
        click.echo(data["weighting"]["sentence"])
    elif data["weighting_problem"]:
        click.echo(f"not weighted: {data['weighting_problem']}")
