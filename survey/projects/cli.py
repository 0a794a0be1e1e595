"""Command-line tools: ``flask create-user``, ``init-db``, ``demo``, ``results``, ``indicators``, ``purge-expired``;
the desk's actions (projects, questionnaires, channels, units, imports) are in ``survey.projects.cli_desk``."""

from __future__ import annotations

import json
from pathlib import Path

import click
from flask import Flask, current_app
from flask_babel import force_locale
from flask_migrate import upgrade
from werkzeug.serving import run_simple

from analysis.indicators import iter_nodes, score_table, validate_table
from survey.accounts.users import AccountError, create_user
from survey.audit import trail as audit
from survey.collection import import_mapping
from survey.indicators.scored import table_score_dict
from survey.indicators.table_files import IndicatorFormatError, dump, load_table
from survey.models import Questionnaire, utcnow
from survey.platform import cli_guard
from survey.platform.extensions import db
from survey.privacy import retention as privacy
from survey.projects import cli_desk, cli_weighting, demo
from survey.results.presenting import say
from survey.results.reporting import questionnaire_results
from survey.results.results_json import results_dict


def init_app(app: Flask) -> None:
    """Register the commands on ``app``."""
    app.cli.add_command(create_user_command)
    app.cli.add_command(init_db_command)
    app.cli.add_command(demo_command)
    app.cli.add_command(results_command)
    app.cli.add_command(indicators_group)
    app.cli.add_command(purge_expired_command)
    cli_desk.init_app(app)  # project, questionnaire, channel, unit, responses
    cli_weighting.init_app(app)  # weighting table, scheme, plan, show
    cli_guard.refuse_keyless_commands(app)  # last: built without a SECRET_KEY, only help and file commands work


@click.command("create-user")
@click.argument("username")
@click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    help="At least 10 characters, not all digits, not the username, not a common password.",
)
@click.option("--name", "display_name", default="", help="Name shown in the desk.")
@click.option("--admin", is_flag=True, help="Make the account an administrator.")
def create_user_command(username: str, password: str, display_name: str, admin: bool) -> None:
    """Create an evaluator account; the password policy applies here as on the admin page.

    Audited as the admin page's ``account.create``, by the system: this is how the first account is made.
    """
    try:
        user = create_user(username, password, display_name, admin)
    except AccountError as error:
        raise click.ClickException(str(error)) from error
    audit.record("account.create", None, user.username, {"source": "cli", "is_admin": admin})
    db.session.commit()
    click.echo(f"created user {user.username} (id {user.id})")


@click.command("init-db")
def init_db_command() -> None:
    """Create or upgrade the database schema (the same as ``flask db upgrade``)."""
    upgrade()
    click.echo(f"database ready: {current_app.config['SQLALCHEMY_DATABASE_URI'].split('@')[-1]}")


@click.command("demo")
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to serve on (0.0.0.0 for phones on the LAN).",
)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--no-serve", is_flag=True, help="Prepare the database and demo data, then exit.")
def demo_command(host: str, port: int, no_serve: bool) -> None:
    """Upgrade the database, add the demo project (once), print the links and serve."""
    upgrade()
    login = demo.ensure_demo()
    shown_host = "127.0.0.1" if host == "0.0.0.0" else host  # noqa: S104 - only chooses what to print
    base = current_app.config.get("PUBLIC_BASE_URL") or f"http://{shown_host}:{port}"
    click.echo(demo.describe(login, base))
    if not no_serve:
        # ``app.run`` is a no-op inside the ``flask`` command, so serve with Werkzeug directly.
        run_simple(host, port, current_app._get_current_object(), threaded=True)


@click.command("purge-expired")
def purge_expired_command() -> None:
    """Delete responses past their questionnaire's retention period (run daily; rules in survey/privacy/retention.py),
    and import uploads never mapped within a day (survey/collection/import_*.py)."""
    purged = privacy.purge_expired(utcnow())
    for item in purged:
        what = f"questionnaire {item.questionnaire_id} ({item.title})"
        click.echo(f"{what}: deleted {item.deleted} response(s) [{item.rule}]")
    click.echo(f"purged {sum(item.deleted for item in purged)} response(s) from {len(purged)} questionnaire(s)")
    click.echo(f"removed {import_mapping.purge_uploads(utcnow())} expired import upload(s)")


@click.command("results")
@click.argument("questionnaire_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print everything as JSON (schema: docs/analysis.md).")
def results_command(questionnaire_id: int, as_json: bool) -> None:
    """Print a questionnaire's results: the same figures as the results page."""
    questionnaire = db.session.get(Questionnaire, questionnaire_id)
    if questionnaire is None:
        raise click.ClickException(f"no questionnaire with id {questionnaire_id}")
    data = results_dict(questionnaire, questionnaire_results(questionnaire))
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    counts = data["counts"]
    click.echo(f"{data['questionnaire']['title']}")
    click.echo(
        f"issued {counts['issued']}  returned {counts['returned']}  valid {counts['valid']}  "
        f"excluded {counts['excluded']}"
    )
    weighted = (data["weighted"] or {}).get("rates", {})
    for question in data["questions"]:
        rate = question["rate"]
        if rate:
            line = f"{question['number']:>5}  {rate['name']} {rate['percent'] or '-'}%  n={rate['denominator']}"
            estimate = weighted.get(question["key"])
            if estimate and estimate["percent"]:
                line += f"  weighted {estimate['percent']}%  n_eff={estimate['n_effective']:.1f}"
            click.echo(line)
    if data["overall"]:
        click.echo(f"overall ({data['overall']['method']}): {data['overall']['percent'] or '-'}%")
    _echo_weighting_and_rounds(data)


def _echo_weighting_and_rounds(data: dict) -> None:
    """The weighting in words (or why there is none) and each rate's change since the previous round."""
    if data["weighted"]:
        click.echo(data["weighted"]["weighting"]["sentence"])
    elif data["weighting_problem"]:
        click.echo(f"not weighted: {data['weighting_problem']}")
    rounds = data["rounds"]
    if rounds:
        click.echo(" → ".join(rounds["labels"]))
        overall = rounds["overall"]
        change = overall and (overall["weighted_change"] or overall["change"])
        if change:
            click.echo(f"overall: {change['words']}")
        for rate in rounds["rates"]:
            change = rate["weighted_change"] or rate["change"]
            click.echo(f"{rate['number']:>5}  {rate['name']} {change['words'] if change else '-'}")


@click.group("indicators")
def indicators_group() -> None:
    """Check and score indicator tables (docs/indicator-format.md)."""


def _read_table(path: str) -> dict:
    """A table from a .json, .yaml/.yml or .xlsx file; every problem is printed with its location."""
    try:
        return load_table(Path(path).read_bytes(), path)
    except IndicatorFormatError as error:
        for where, wording in error.problems:
            with force_locale("zh_Hans_CN"):
                chinese = say(wording)
            with force_locale("en"):
                english = say(wording)
            click.echo(f"error: {where}: {chinese} / {english}", err=True)
        raise click.ClickException(f"{path}: {len(error.problems)} problem(s); nothing was done") from None


def _report_problems(table: dict) -> bool:
    """Print every problem (both languages); True if any is an error, not just a warning."""
    problems = validate_table(table)
    for problem in problems:
        with force_locale("zh_Hans_CN"):
            chinese = say(problem.wording)
        with force_locale("en"):
            english = say(problem.wording)
        kind = "warning" if problem.warning else "error"
        click.echo(f"{kind}: {problem.path}: {chinese} / {english}", err=True)
    return any(not p.warning for p in problems)


@indicators_group.command("check")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
def indicators_check(path: str) -> None:
    """Validate a table file; exit status 1 if it has errors (warnings alone pass)."""
    if _report_problems(_read_table(path)):
        raise click.ClickException("the table has errors")
    click.echo("ok")


@indicators_group.command("score")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print scores, total, grade and deductions as JSON.")
def indicators_score(path: str, as_json: bool) -> None:
    """Score a table file: every node's score, the total, the grade and the 扣分 list."""
    table = _read_table(path)
    if _report_problems(table):
        raise click.ClickException("the table has errors; nothing was scored")
    result = score_table(table)
    if as_json:
        click.echo(json.dumps(table_score_dict(table, result), ensure_ascii=False, indent=2))
        return
    for node, _path, level in iter_nodes(table["indicators"]):
        value = result.scores.get(node["key"])
        shown = "-" if value is None else str(value)
        click.echo(f"{'  ' * (level - 1)}{node['name']}  {node['points']}  {shown}")
    click.echo(f"total {result.total}  grade {result.grade}" + ("" if result.complete else "  (incomplete)"))
    for deduction in result.deductions:
        click.echo(f"-{deduction.lost}  {deduction.name}: {say(deduction.reason)}")


@indicators_group.command("export")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "-o", "--output", "output", required=True, type=click.Path(dir_okay=False), help="OUT.yaml, OUT.xlsx or OUT.json."
)
def indicators_export(path: str, output: str) -> None:
    """Convert a table file between JSON, YAML and Excel (附件1 layout, with the scores)."""
    table = _read_table(path)
    if not output.lower().endswith((".json", ".yaml", ".yml", ".xlsx")):
        raise click.ClickException("the output must end in .json, .yaml, .yml or .xlsx")
    score = score_table(table) if output.lower().endswith(".xlsx") else None
    Path(output).write_bytes(dump(table, output, score))
    click.echo(f"wrote {output}")
