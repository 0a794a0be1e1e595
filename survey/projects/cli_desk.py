"""The desk's everyday actions as ``flask`` commands, for scripts: projects, questionnaires, channels, unit
codes and response imports (docs/cli.md).

Each command that changes data names the evaluator it acts as (``--as USERNAME``), is refused unless that
account is active and, for a project's data, an owner or editor of the project (viewers read only, as on
the desk), calls the same domain function as the desk's view and is written to the audit trail under the
desk action's code with ``"source": "cli"``. Listing commands help a script find ids. ``--json`` prints one
JSON document on stdout (on failure too: ``{"ok": false, "error": …}``), and every failure exits non-zero.
"""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from pathlib import Path

import click

from forms.response import answers_reader
from survey.collection import fieldwork, import_checking, import_mapping, import_reading
from survey.models import Project, ProjectMember, Questionnaire, User
from survey.platform.extensions import db
from survey.projects.command_support import (
    Refused,
    acting_user,
    as_option,
    echo_json,
    echo_table,
    json_option,
    link,
    named,
    problems_lines,
    project_for,
    questionnaire_for,
    readable_questionnaire,
    recorded,
    role_of,
)
from survey.questionnaires import publishing
from survey.questionnaires.definition import normalize_definition
from survey.questionnaires.library import template_info, template_keys
from survey.questionnaires.portable import export_json, parse_definition
from survey.questionnaires.problems import DefinitionError
from survey.questionnaires.versioning import draft_changes


def init_app(app) -> None:
    """Register the command groups on ``app``."""
    for group in (project_group, questionnaire_group, channel_group, unit_group, responses_group):
        app.cli.add_command(group)


# --- projects -----------------------------------------------------------------------------------------


@click.group("project")
def project_group() -> None:
    """Create and list evaluation projects (评价项目)."""


def _budget(_ctx, _param, value: str | None) -> Decimal | None:
    if value is None:
        return None
    try:
        budget = Decimal(value)
    except InvalidOperation:
        raise click.BadParameter("a number of yuan, e.g. 4443000.00") from None
    if budget < 0 or not budget.is_finite():
        raise click.BadParameter("the budget cannot be negative")
    return budget.quantize(Decimal("0.01"))


@project_group.command("create")
@click.argument("name")
@as_option
@click.option("--region", default="", help="地区")
@click.option("--year", type=click.IntRange(2000, 2100), help="评价年度")
@click.option("--evaluated-unit", default="", help="被评价单位")
@click.option("--budget", callback=_budget, help="预算金额（元）")
@click.option("--evaluating-org", default="", help="评价机构")
@json_option
def project_create(name: str, username: str, as_json: bool, **fields) -> None:
    """Create a project with the acting evaluator as its owner (负责人)."""
    user = acting_user(username)
    name = name.strip()
    if not name or len(name) > 200:
        raise Refused("the project name must be 1 to 200 characters")
    if len(fields["region"]) > 100 or max(len(fields[k]) for k in ("evaluated_unit", "evaluating_org")) > 200:
        raise Refused("region is at most 100 characters, the unit and organisation names at most 200")
    project = publishing.create_project(user, name=name, **fields)
    recorded("project.create", user, project.id, f"{project.name} (#{project.id})")
    if as_json:
        echo_json({"ok": True, "project": project_dict(project, user)})
    else:
        click.echo(f"created project {project.id}: {project.name}")


def project_dict(project: Project, user: User | None = None) -> dict:
    data = {
        "id": project.id,
        "name": project.name,
        "region": project.region,
        "year": project.year,
        "evaluated_unit": project.evaluated_unit,
        "budget": None if project.budget is None else str(project.budget),
        "evaluating_org": project.evaluating_org,
        "questionnaires": [q.id for q in project.questionnaires],
    }
    if user is not None:
        data["role"] = role_of(user, project.id)
    return data


@project_group.command("list")
@click.option("--as", "username", metavar="USERNAME", help="Only this evaluator's projects, with their role.")
@json_option
def project_list(username: str | None, as_json: bool) -> None:
    """Every project (or one evaluator's), oldest first, with the ids of its questionnaires."""
    query = db.select(Project).order_by(Project.id)
    user = acting_user(username) if username else None
    if user is not None:
        query = query.join(ProjectMember).where(ProjectMember.user_id == user.id)
    projects = [project_dict(p, user) for p in db.session.execute(query).scalars()]
    if as_json:
        echo_json({"ok": True, "projects": projects})
        return
    for p in projects:
        role = f"  [{p['role']}]" if user else ""
        click.echo(f"{p['id']:>5}  {p['name']}  questionnaires: {p['questionnaires'] or '-'}{role}")


# --- questionnaires -----------------------------------------------------------------------------------


@click.group("questionnaire")
def questionnaire_group() -> None:
    """Create, publish, close, list and move questionnaires (JSON; XLSForm on import)."""


def questionnaire_dict(questionnaire: Questionnaire) -> dict:
    version = questionnaire.current_version
    return {
        "id": questionnaire.id,
        "project_id": questionnaire.project_id,
        "title": questionnaire.title,
        "status": questionnaire.status,
        "template": questionnaire.template_key,
        "version": version.number if version else None,
        "responses": questionnaire.accepted_count,
        "token": questionnaire.public_token,
        "link": link(f"/s/{questionnaire.public_token}"),
    }


@questionnaire_group.command("templates")
@json_option
def questionnaire_templates(as_json: bool) -> None:
    """The template library: key, title and what each is for, general ones first."""
    rows = [{"key": key, **template_info(key)} for key in template_keys()]
    if as_json:
        echo_json({"ok": True, "templates": rows})
        return
    for row in rows:
        click.echo(f"{row['key']:<24} {row['title']}")
        click.echo(f"{'':<24} {row['description']}")


@questionnaire_group.command("list")
@click.argument("project_id", type=int)
@json_option
def questionnaire_list(project_id: int, as_json: bool) -> None:
    """A project's questionnaires with status, published version, responses and link."""
    project = db.session.get(Project, project_id)
    if project is None:
        raise Refused(f"no project with id {project_id}")
    rows = [questionnaire_dict(q) for q in project.questionnaires]
    if as_json:
        echo_json({"ok": True, "questionnaires": rows})
        return
    for q in rows:
        version = f"v{q['version']}" if q["version"] else "-"
        click.echo(f"{q['id']:>5}  {q['status']:<9} {version:<4} {q['responses']:>6}  {q['title']}  {q['link']}")


@questionnaire_group.command("create")
@click.argument("project_id", type=int)
@as_option
@click.option("--template", "template_key", help="A library template key (see `questionnaire templates`).")
@click.option("--file", "path", type=click.Path(exists=True, dir_okay=False), help="A JSON or XLSForm file instead.")
@click.option("--title", help="Title instead of the template's or the file's.")
@click.option("--publish", "and_publish", is_flag=True, help="Publish it at once.")
@json_option
def questionnaire_create(
    project_id: int,
    username: str,
    template_key: str | None,
    path: str | None,
    title: str | None,
    and_publish: bool,
    as_json: bool,
) -> None:
    """Create a draft questionnaire from a template or a file; a bad file changes nothing."""
    user = acting_user(username)
    project = project_for(user, project_id)
    if (template_key is None) == (path is None):
        raise Refused("give either --template KEY or --file PATH")
    if title is not None and not 0 < len(title.strip()) <= 200:
        raise Refused("the title must be 1 to 200 characters")
    if template_key is not None:
        if template_key not in template_keys():
            raise Refused(f"no template {template_key!r}; known: {', '.join(template_keys())}")
        questionnaire = publishing.create_questionnaire(project, template_key, title and title.strip())
        recorded("questionnaire.create", user, project.id, named(questionnaire), {"template": template_key})
    else:
        questionnaire = _import_file(project, path, title)
        recorded("questionnaire.import", user, project.id, named(questionnaire), {"file": Path(path).name})
    if and_publish:
        _publish(user, questionnaire, confirm_breaking=False)
    if as_json:
        echo_json({"ok": True, "questionnaire": questionnaire_dict(questionnaire)})
    else:
        click.echo(f"created questionnaire {questionnaire.id}: {questionnaire.title} ({questionnaire.status})")
        if questionnaire.status == "published":
            click.echo(f"link: {link(f'/s/{questionnaire.public_token}')}")


def _import_file(project: Project, path: str, title: str | None = None) -> Questionnaire:
    """A draft from a JSON or XLSForm file (survey.questionnaires.portable, as the desk's import); problems refuse it
    whole."""
    try:
        definition = parse_definition(Path(path).read_bytes(), path)
    except DefinitionError as error:
        lines = problems_lines(error.problems)
        for line in lines:
            click.echo(line, err=True)
        raise Refused(f"{len(lines)} problem(s) in {path}; nothing was imported", problems=lines) from None
    if title:
        definition["title"] = title.strip()
    return publishing.import_questionnaire(project, definition)


@questionnaire_group.command("import")
@click.argument("project_id", type=int)
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@as_option
@json_option
def import_command(project_id: int, path: str, username: str, as_json: bool) -> None:
    """Create a draft questionnaire in a project from a JSON or XLSForm file; a bad file changes nothing."""
    user = acting_user(username)
    project = project_for(user, project_id)
    questionnaire = _import_file(project, path)
    recorded("questionnaire.import", user, project.id, named(questionnaire), {"file": Path(path).name})
    if as_json:
        echo_json({"ok": True, "questionnaire": questionnaire_dict(questionnaire)})
    else:
        click.echo(f"imported questionnaire {questionnaire.id}: {questionnaire.title}")


@questionnaire_group.command("export")
@click.argument("questionnaire_id", type=int)
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), help="File to write (default: stdout).")
def export_command(questionnaire_id: int, output: str | None) -> None:
    """Write a questionnaire's definition (its draft) in the portable JSON format."""
    questionnaire = readable_questionnaire(questionnaire_id)
    text = export_json(questionnaire.definition)
    if output:
        Path(output).write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}")
    else:
        click.echo(text, nl=False)


def _publish(user: User, questionnaire: Questionnaire, confirm_breaking: bool):
    """Publish as the desk does: changes that break collected answers need ``--confirm-breaking``."""
    breaking = [str(change.message) for change in draft_changes(questionnaire) if change.breaking]
    if breaking and not confirm_breaking:
        for line in breaking:
            click.echo(line, err=True)
        raise Refused("this version would affect collected answers; re-run with --confirm-breaking", changes=breaking)
    try:
        version = publishing.publish(questionnaire)
    except DefinitionError as error:
        db.session.rollback()
        lines = problems_lines(error.problems)
        for line in lines:
            click.echo(line, err=True)
        raise Refused(f"{len(lines)} problem(s); not published", problems=lines) from None
    recorded("questionnaire.publish", user, questionnaire.project_id, named(questionnaire), {"version": version.number})
    return version


@questionnaire_group.command("publish")
@click.argument("questionnaire_id", type=int)
@as_option
@click.option("--confirm-breaking", is_flag=True, help="Publish even though collected answers are affected.")
@json_option
def questionnaire_publish(questionnaire_id: int, username: str, confirm_breaking: bool, as_json: bool) -> None:
    """Publish the draft (a new version only if it changed) and open the questionnaire for answers."""
    user = acting_user(username)
    questionnaire = questionnaire_for(user, questionnaire_id)
    version = _publish(user, questionnaire, confirm_breaking)
    if as_json:
        echo_json({"ok": True, "questionnaire": questionnaire_dict(questionnaire)})
    else:
        click.echo(f"published questionnaire {questionnaire.id} (version {version.number}): {questionnaire.title}")
        click.echo(f"link: {link(f'/s/{questionnaire.public_token}')}")


@questionnaire_group.command("close")
@click.argument("questionnaire_id", type=int)
@as_option
@json_option
def questionnaire_close(questionnaire_id: int, username: str, as_json: bool) -> None:
    """Stop accepting answers (the links then say the questionnaire is closed)."""
    user = acting_user(username)
    questionnaire = questionnaire_for(user, questionnaire_id)
    if questionnaire.status != "published":
        raise Refused(f"questionnaire {questionnaire.id} is {questionnaire.status}, not published")
    publishing.close(questionnaire)
    recorded("questionnaire.close", user, questionnaire.project_id, named(questionnaire))
    if as_json:
        echo_json({"ok": True, "questionnaire": questionnaire_dict(questionnaire)})
    else:
        click.echo(f"closed questionnaire {questionnaire.id}: {questionnaire.title}")


# --- channels and unit codes ----------------------------------------------------------------------------


@click.group("channel")
def channel_group() -> None:
    """采集点: add (one, or a CSV/XLSX list) and list a questionnaire's channels."""


def channel_dict(channel) -> dict:
    return {
        "id": channel.id,
        "code": channel.code,
        "name": channel.name,
        "target": channel.target,
        "quota": channel.quota,
        "issued": channel.issued,
        "responses": channel.accepted_count,
        "token": channel.token,
        "link": link(f"/s/{channel.token}") if fieldwork.has_public_link(channel) else None,  # paper: keyed in
    }


def _list_file(path: str) -> list[fieldwork.ListEntry]:
    try:
        return fieldwork.read_list(Path(path).read_bytes())
    except fieldwork.FieldworkError as error:
        for line in error.problems:
            click.echo(line, err=True)
        raise Refused(f"{path}: {len(error.problems)} problem(s); nothing was added", problems=error.problems) from None


@channel_group.command("add")
@click.argument("questionnaire_id", type=int)
@click.argument("name", required=False)
@as_option
@click.option("--target", type=int, help="目标份数")
@click.option("--quota", type=int, help="配额: stop collecting at this many")
@click.option("--issued", type=int, help="发放份数 (paper rounds)")
@click.option("--file", "path", type=click.Path(exists=True, dir_okay=False), help="A CSV/XLSX list instead of NAME.")
@json_option
def channel_add(questionnaire_id: int, name: str | None, username: str, path: str | None, as_json: bool, **counts):
    """Add one channel, or every row of a list (columns 名称, 目标份数, 配额, 发放份数); all or none."""
    user = acting_user(username)
    questionnaire = questionnaire_for(user, questionnaire_id)
    if (name is None) == (path is None):
        raise Refused("give either a NAME or --file LIST")
    entries = _list_file(path) if path else [fieldwork.ListEntry(0, name, counts)]
    try:
        channels = fieldwork.add_channels(questionnaire, entries)
    except fieldwork.FieldworkError as error:
        raise Refused("; ".join(error.problems), problems=error.problems) from None
    detail = {"channels": [c.code for c in channels]} | ({"file": Path(path).name} if path else {})
    recorded("channel.add", user, questionnaire.project_id, named(questionnaire), detail)
    if as_json:
        echo_json({"ok": True, "channels": [channel_dict(c) for c in channels]})
        return
    for channel in channels:
        click.echo(f"added channel {channel.code} (id {channel.id}): {channel.name}  {link(f'/s/{channel.token}')}")


@channel_group.command("list")
@click.argument("questionnaire_id", type=int)
@json_option
def channel_list(questionnaire_id: int, as_json: bool) -> None:
    """A questionnaire's channels with their codes, links, targets and responses."""
    rows = [channel_dict(c) for c in readable_questionnaire(questionnaire_id).channels]
    if as_json:
        echo_json({"ok": True, "channels": rows})
        return
    columns = ("id", "code", "responses", "target", "name", "link")
    echo_table(columns, [[c[key] if c[key] is not None else "-" for key in columns] for c in rows])


@click.group("unit")
def unit_group() -> None:
    """服务对象单位码: add (names, or a CSV/XLSX list) and list a questionnaire's unit codes."""


def unit_dict(unit) -> dict:
    return {
        "id": unit.id,
        "name": unit.unit_name,
        "code": unit.code,
        "uses": unit.max_uses,
        "used": unit.used,
        "link": link(f"/u/{unit.code}"),
    }


@unit_group.command("add")
@click.argument("questionnaire_id", type=int)
@click.argument("names", nargs=-1)
@as_option
@click.option("--uses", type=int, default=1, show_default=True, help="How many answers each unit's link takes.")
@click.option("--file", "path", type=click.Path(exists=True, dir_okay=False), help="A CSV/XLSX list of unit names.")
@json_option
def unit_add(questionnaire_id: int, names: tuple[str, ...], username: str, uses: int, path: str | None, as_json: bool):
    """Give each unit its own link; names already listed are skipped. A list's 可填份数 column overrides --uses."""
    user = acting_user(username)
    questionnaire = questionnaire_for(user, questionnaire_id)
    if bool(names) == bool(path):
        raise Refused("give either unit NAMES or --file LIST")
    entries = _list_file(path) if path else [fieldwork.ListEntry(0, n, {}) for n in names]
    try:
        added = fieldwork.add_unit_list(questionnaire, entries, uses)
    except fieldwork.FieldworkError as error:
        raise Refused("; ".join(error.problems), problems=error.problems) from None
    detail = {"units": len(added)} | ({"file": Path(path).name} if path else {})
    recorded("unit.add", user, questionnaire.project_id, named(questionnaire), detail)
    if as_json:
        echo_json({"ok": True, "units": [unit_dict(u) for u in added]})
        return
    for unit in added:
        click.echo(f"added unit {unit.unit_name}  {link(f'/u/{unit.code}')}")
    click.echo(f"added {len(added)} unit(s)")


@unit_group.command("list")
@click.argument("questionnaire_id", type=int)
@json_option
def unit_list(questionnaire_id: int, as_json: bool) -> None:
    """A questionnaire's unit codes with their links and how often each was used."""
    rows = [unit_dict(u) for u in readable_questionnaire(questionnaire_id).unit_codes]
    if as_json:
        echo_json({"ok": True, "units": rows})
        return
    columns = ("id", "used", "uses", "name", "link")
    echo_table(columns, [[u[key] if u[key] is not None else "-" for key in columns] for u in rows])


# --- importing responses --------------------------------------------------------------------------------


@click.group("responses")
def responses_group() -> None:
    """Import responses from a file (问卷星 XLSX/CSV or this service's CSV)."""


@responses_group.command("import")
@click.argument("questionnaire_id", type=int)
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@as_option
@click.option("--mapping", "mapping_path", type=click.Path(exists=True, dir_okay=False), help="A saved mapping.")
@click.option("--save-mapping", type=click.Path(dir_okay=False), help="Write the mapping used to this file.")
@click.option("--channel", help="Record every row under this channel code instead of the mapping's choice.")
@click.option("--dry-run", is_flag=True, help="Check every row and report; store nothing.")
@json_option
def responses_import(
    questionnaire_id: int,
    path: str,
    username: str,
    mapping_path: str | None,
    save_mapping: str | None,
    channel: str | None,
    dry_run: bool,
    as_json: bool,
) -> None:
    """Check every row, then store them all or none (the desk's import, survey/collection/import_*.py).

    Without --mapping the columns are guessed as on the desk's mapping screen; --save-mapping writes
    that guess (or the mapping used) so it can be corrected and passed back with --mapping.
    """
    user = acting_user(username)
    questionnaire = questionnaire_for(user, questionnaire_id)
    if questionnaire.current_version is None:
        raise Refused("the questionnaire is not published yet; publish it before importing answers")
    try:
        table = import_reading.read_table(Path(path).read_bytes())
    except import_reading.FileProblem as error:
        raise Refused(f"{path}: {error.message}") from None
    definition = normalize_definition(questionnaire.current_version.definition)
    plan, plan_problems, unmatched = _plan(questionnaire, table, definition, mapping_path, channel)
    if save_mapping:
        text = json.dumps(import_mapping.plan_to_saved(plan, table), ensure_ascii=False, indent=2)
        Path(save_mapping).write_text(text + "\n", encoding="utf-8")
    if plan_problems:
        report = import_checking.Report(total=len(table.rows), general=plan_problems)
    elif dry_run:
        report = import_checking.check_import(
            questionnaire, table, plan, import_mapping.app_timezone(), reader=answers_reader
        )
    else:
        before = questionnaire.accepted_count
        report = import_checking.run_import(
            questionnaire, table, plan, user.id, import_mapping.app_timezone(), reader=answers_reader
        )
        if report.ok:
            db.session.refresh(questionnaire)
            counts = {"before": before, "after": questionnaire.accepted_count}
            detail = {"file": Path(path).name, "sha256": table.sha256, "rows": report.total, "responses": counts}
            recorded("import.run", user, questionnaire.project_id, named(questionnaire), detail)
    outcome = _import_outcome(table, plan, definition, report, dry_run, unmatched)
    if as_json:
        echo_json(outcome)
    else:
        _print_outcome(outcome)
    if not report.ok:
        raise click.exceptions.Exit(1)


def _plan(questionnaire, table, definition, mapping_path, channel):
    """The saved mapping, or the desk's guess; ``--channel`` replaces the channel choice."""
    choices = [value for value, _label in import_mapping.channel_choices(questionnaire)]
    if mapping_path:
        try:
            saved = json.loads(Path(mapping_path).read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as error:
            raise Refused(f"{mapping_path}: not a JSON mapping file ({error})") from None
        plan, problems, unmatched = import_mapping.plan_from_saved(saved, table, definition, choices)
    else:
        plan, problems, unmatched = import_mapping.default_plan(table, definition), [], []
    if channel is not None:
        if channel not in choices:
            raise Refused(f"no channel {channel!r}; choose one of: {', '.join(choices)}")
        plan.channel = channel
    return plan, problems, unmatched


def _import_outcome(table, plan, definition, report, dry_run: bool, unmatched: list[str]) -> dict:
    """Everything a script needs to decide: the mapping used, every problem by row and column, the counts."""
    labels = {value: str(label) for value, label in import_mapping.target_choices(definition)}
    return {
        "ok": report.ok,
        "dry_run": dry_run,
        "rows": report.total,
        "valid_rows": len(report.records),
        "bad_rows": report.bad_rows,
        "imported": report.imported,
        "channel": plan.channel,
        "columns": [
            {"column": i + 1, "header": header, "target": target, "label": labels.get(target, target)}
            for i, (header, target) in enumerate(zip(table.headers, plan.mapping, strict=True))
        ],
        "unmatched_columns": unmatched,
        "general": report.general,
        "notes": report.notes,
        "problems": [
            {
                "row": p.row,
                "column": None if p.column is None else p.column + 1,
                "header": p.header,
                "message": p.message,
            }
            for p in report.problems
        ],
    }


def _print_outcome(outcome: dict) -> None:
    """The mapping, then every problem, then one summary line; a file refused as a whole (already imported,
    not published, a mapping that cannot work) prints only why: "0 of 8 row(s) have problems" under it read
    as if the rows were fine."""
    if not outcome["ok"] and not outcome["bad_rows"]:
        for message in outcome["general"]:
            click.echo(f"error: {message}", err=True)
        return
    for column in outcome["columns"]:
        click.echo(f"column {column['column']:>3} {column['header'][:40]!s:<40} -> {column['label']}")
    for header in outcome["unmatched_columns"]:
        click.echo(f"warning: column {header!r} is not in the mapping and was ignored", err=True)
    for message in outcome["general"]:
        click.echo(f"error: {message}", err=True)
    for message in outcome["notes"]:
        click.echo(f"note: {message}", err=True)
    for p in outcome["problems"]:
        where = f"row {p['row']}" + (f", column {p['column']} ({p['header']})" if p["column"] else f", {p['header']}")
        click.echo(f"error: {where}: {p['message']}", err=True)
    if not outcome["ok"]:
        click.echo(f"{outcome['bad_rows']} of {outcome['rows']} row(s) have problems; nothing was imported", err=True)
    elif outcome["dry_run"]:
        click.echo(f"dry run: all {outcome['rows']} row(s) can be imported; nothing was stored")
    else:
        click.echo(f"imported {outcome['imported']} response(s)")
