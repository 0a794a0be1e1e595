"""Indicator tables on the desk (指标评分表, 附件1): start from a template or another project, edit, score, print.

Every change is validated with ``analysis.indicators.validate_table`` before it is saved: errors refuse
the change (422, nothing saved, every message shown), warnings (e.g. a total other than 100) are shown
but allowed. Linked leaves take their value from the project's questionnaires (``survey.indicators.links``)
each time the table is shown, so their scores follow the responses.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from analysis.indicators import DEFAULT_GRADES, FORMAT, KEY, TableProblem, iter_nodes, rule_wording, validate_table
from analysis.numbers import whole_number
from analysis.scoring import N_, RULES, D, Wording
from forms.indicators import NodeEditor, Problem, json_number
from survey.accounts.access import member_project, projects_of_current_user
from survey.indicators.links import current_score, link_of
from survey.indicators.sheet import sheet, table_of
from survey.indicators.table_files import IndicatorFormatError, check_stored_size, dump_xlsx, dump_yaml, load_table
from survey.models import IndicatorTable, Project
from survey.platform.extensions import db
from survey.results.presenting import say

bp = Blueprint("indicators", __name__, url_prefix="/desk/projects/<int:project_id>/indicators")
LIBRARY = Path(__file__).resolve().parents[2] / "analysis" / "indicator_library"
LEVEL_NAMES = {1: "一级指标", 2: "二级指标", 3: "三级指标"}


@bp.before_request
@login_required
def require_login():
    """Every indicator route needs a signed-in evaluator; membership is checked per route."""


# ---------------------------------------------------------------- helpers


def library_templates() -> dict[str, dict]:
    """The indicator-table templates on disk, by file stem (unreadable files are skipped)."""
    templates = {}
    for path in sorted(LIBRARY.glob("*.json")) if LIBRARY.is_dir() else []:
        try:
            table = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(table, dict):
            templates[path.stem] = table
    return templates


def table_or_404(project: Project) -> IndicatorTable:
    table = table_of(project)
    if table is None:
        abort(404)
    return table


def find_node(definition: dict, key: str) -> tuple[dict, list[dict], int]:
    """The node with ``key``, its ancestors (outermost first) and its level; 404 when there is none."""

    def walk(nodes, ancestors):
        for node in nodes:
            if isinstance(node, dict) and node.get("key") == key:
                return node, ancestors
            found = walk(node.get("children") or [], [*ancestors, node]) if isinstance(node, dict) else None
            if found:
                return found
        return None

    found = walk(definition.get("indicators") or [], [])
    if found is None:
        abort(404)
    return found[0], found[1], len(found[1]) + 1


def save(project: Project, definition: dict, row: IndicatorTable | None = None):
    """Validate and save; on errors return the problems (nothing saved), else ``None``.

    The stored JSON is bounded (``MAX_STORED_BYTES``) whichever way the table grew: an import, a copy,
    or node after node added on the desk, since every project page reads it.
    """
    try:
        check_stored_size(definition)
    except IndicatorFormatError as error:
        db.session.rollback()
        return [TableProblem(where, wording) for where, wording in error.problems]
    problems = validate_table(definition)
    errors = [p for p in problems if not p.warning]
    if errors:
        db.session.rollback()
        return errors
    row = row or table_of(project)
    if row is None:
        db.session.add(IndicatorTable(project_id=project.id, definition=definition))
    else:
        row.definition = definition
    db.session.commit()
    for warning in (p for p in problems if p.warning):
        flash(say(warning.wording), "warning")
    return None


def adjust_ancestors(ancestors: list[dict], difference) -> None:
    """Keep every parent equal to the sum of its children after a change of ``difference`` points."""
    for node in ancestors:
        node["points"] = json_number(str(D(node["points"]) + difference))


def new_key(definition: dict, parent: dict | None) -> str:
    used = {node.get("key") for node, _path, _level in iter_nodes(definition.get("indicators") or [])}
    if parent is None:
        candidates = [chr(c) for c in range(ord("a"), ord("z") + 1)] + [f"i{n}" for n in range(1, 1000)]
    else:
        candidates = [f"{parent['key']}{n}" for n in range(1, 1000)] + [f"{parent['key']}_{n}" for n in range(1, 1000)]
    return next(c for c in candidates if c not in used and KEY.match(c))


# ---------------------------------------------------------------- pages


@bp.get("/")
def overview(project_id: int):
    """The project's table in the 附件1 layout, or the ways to start one."""
    project = member_project(project_id)
    row = table_of(project)
    if row is None:
        others = [p for p in projects_of_current_user() if p.id != project.id and table_of(p) is not None]
        return render_template(
            "indicators/start.html",
            project=project,
            templates=library_templates(),
            others=others,
            title=_("指标评分表"),
        )
    template = "indicators/print.html" if request.args.get("print") else "indicators/overview.html"
    return render_template(template, project=project, title=_("指标评分表"), **sheet(project, row.definition))


@bp.get("/print")
def print_view(project_id: int):
    """The 附件1 table alone, for printing."""
    project = member_project(project_id)
    row = table_or_404(project)
    return render_template(
        "indicators/print.html", project=project, title=_("指标评分表"), **sheet(project, row.definition)
    )


@bp.post("/start")
def start(project_id: int):
    """Start the table from a library template or a copy of another project's table."""
    project = member_project(project_id)
    if table_of(project) is not None:
        flash(_("这个项目已经有指标评分表。"), "error")
        return redirect(url_for("indicators.overview", project_id=project.id))
    source = request.form.get("source", "")
    definition = None
    if source.startswith("template:"):
        definition = library_templates().get(source.removeprefix("template:"))
    elif source.startswith("project:") and whole_number(source.removeprefix("project:")) is not None:
        other_id = whole_number(source.removeprefix("project:"))
        if any(p.id == other_id for p in projects_of_current_user()):
            other = table_of(db.session.get(Project, other_id))
            definition = copy.deepcopy(other.definition) if other else None
            if definition:
                _unlink(definition)
    if definition is None:
        flash(_("请选择一个模板或一个项目。"), "error")
        return redirect(url_for("indicators.overview", project_id=project.id))
    definition = {"format": FORMAT, **copy.deepcopy(definition)}
    errors = save(project, definition)
    if errors:
        return _refused(project, errors, "indicators/start.html", templates=library_templates(), others=[])
    flash(_("已建立指标评分表。"), "success")
    return redirect(url_for("indicators.overview", project_id=project.id))


def _unlink(definition: dict) -> None:
    """Links of a copied table point at the other project's questionnaires: keep the leaf, drop the link."""
    for node, _path, _level in iter_nodes(definition.get("indicators") or []):
        if link_of(node) is not None:
            node["input"] = {}


def _refused(project: Project, errors, template: str, *, words_from: dict | None = None, **context):
    """The page again with every problem (422); paths of the table become words (“立项依据”的分值)."""
    db.session.rollback()
    refused = []
    for problem in errors:
        if isinstance(problem, Problem):
            refused.append((problem.where, say_any(problem.message)))
        else:
            refused.append((path_words(words_from, problem.path), say(problem.wording)))
    return (
        render_template(template, project=project, refused=refused, **{"title": _("指标评分表"), **context}),
        422,
    )


def say_any(message) -> str:
    """A message from a rule (a wording), WTForms (a lazy string) or plain text, in the desk's language."""
    return say(message) if isinstance(message, Wording) else str(message)


PATH_PART = re.compile(r"^indicators(?:\[\d+\](?:\.children(?=\[))?)*")
FIELD_WORDS = {
    "points": N_("分值"),
    "name": N_("指标名称"),
    "key": N_("指标编号"),
    "children": N_("下级指标"),
    "rule": N_("评分规则"),
    "rule.params": N_("评分规则的参数"),
    "input": N_("取值"),
}


def path_words(definition: dict | None, path: str) -> str:
    """A validation path (``indicators[0].children[1].points``) as words: “立项依据充分性”的分值."""
    match = PATH_PART.match(path)
    if definition is None or not match or match.group(0) == "indicators":
        return path
    node: dict | None = None
    nodes = definition.get("indicators") or []
    for index in re.findall(r"\[(\d+)\]", match.group(0)):
        if node is not None:
            nodes = node.get("children") or []
        node = nodes[int(index)] if int(index) < len(nodes) and isinstance(nodes[int(index)], dict) else None
        if node is None:
            return path
    rest = path[match.end() :].lstrip(".")
    name = str(node.get("name") or node.get("key") or "")
    if rest in FIELD_WORDS:
        return _("“%(name)s”的%(field)s", name=name, field=_(FIELD_WORDS[rest]))
    return _("“%(name)s”", name=name)


@bp.route("/nodes/<key>", methods=["GET", "POST"])
def edit_node(project_id: int, key: str):
    """Rename a node and change its points; for a leaf also its rule (its own fields), standard and input.

    Buttons other than 保存 only show the page again: with another rule's fields, another questionnaire's
    questions, or a blank row more (the way to do it with JavaScript off; the script does it in place).
    """
    project = member_project(project_id)
    row = table_or_404(project)
    definition = copy.deepcopy(row.definition)
    node, ancestors, level = find_node(definition, key)
    editor = NodeEditor(project, node, request.form if request.method == "POST" else None)
    words = rule_wording(node) if editor.is_leaf else None
    context = {"node": node, "level": level, "editor": editor, "say_any": say_any, "rules": RULES,
               "rule_words": say(words) if words else ""}  # fmt: skip
    page_title = node.get("name")
    if request.method == "GET" or _only_redraw(editor):
        return render_template("indicators/node.html", project=project, title=page_title, **context)
    problems = editor.apply(node, ancestors, adjust_ancestors)
    if problems:
        return _refused(project, problems, "indicators/node.html", words_from=definition, **context)
    errors = save(project, definition, row)
    if errors:
        return _refused(project, errors, "indicators/node.html", words_from=definition, **context)
    flash(_("已保存“%(name)s”。", name=node["name"]), "success")
    return redirect(url_for("indicators.overview", project_id=project.id))


def _only_redraw(editor: NodeEditor) -> bool:
    """A press of “按所选规则填写”, “列出这份问卷的题目” or “添加一行”: show the page again, save nothing."""
    if request.form.get("add_row"):
        editor.add_row(request.form["add_row"])
        return True
    return bool(request.form.get("choose_rule") or request.form.get("choose_questionnaire"))


@dataclass(frozen=True)
class FormProblem:
    path: str
    wording: Wording


@bp.route("/add", methods=["GET", "POST"])
def add_node(project_id: int):
    """Add a node: a 一级 without ``parent``, else a child of ``parent`` (at most three levels)."""
    project = member_project(project_id)
    row = table_or_404(project)
    definition = copy.deepcopy(row.definition)
    parent_key = request.values.get("parent", "")
    parent, ancestors, level = find_node(definition, parent_key) if parent_key else (None, [], 0)
    if level >= 3:
        abort(404)
    context = {"parent": parent, "level": level + 1, "form": request.form if request.method == "POST" else None}
    if request.method == "GET":
        return render_template("indicators/add.html", project=project, title=_("添加指标"), **context)
    try:
        points = json_number(request.form.get("points", ""))
    except ValueError:
        return _refused(
            project, [FormProblem("points", Wording("分值必须是数字。", {}))], "indicators/add.html", **context
        )
    node = {
        "key": new_key(definition, parent),
        "name": request.form.get("name", "").strip(),
        "points": points,
        "rule": {"type": "judgement"},
    }
    if parent is None:
        definition.setdefault("indicators", []).append(node)
    else:
        if not parent.get("children"):
            parent.pop("rule", None)
            parent.pop("input", None)
            parent.pop("standard", None)
            parent["children"] = []
            difference = D(points) - D(parent["points"])
        else:
            difference = D(points)
        parent["children"].append(node)
        if request.form.get("adjust_parents"):
            adjust_ancestors([*ancestors, parent], difference)
    errors = save(project, definition, row)
    if errors:
        return _refused(project, errors, "indicators/add.html", **context)
    flash(_("已添加“%(name)s”。", name=node["name"]), "success")
    return redirect(url_for("indicators.overview", project_id=project.id))


@bp.post("/nodes/<key>/delete")
def delete_node(project_id: int, key: str):
    """Delete a node and everything under it; with ``adjust_parents`` the parents lose its points."""
    project = member_project(project_id)
    row = table_or_404(project)
    definition = copy.deepcopy(row.definition)
    node, ancestors, _level = find_node(definition, key)
    siblings = ancestors[-1]["children"] if ancestors else definition["indicators"]
    siblings.remove(node)
    if request.form.get("adjust_parents"):
        adjust_ancestors(ancestors, -D(node["points"]))
    if ancestors and not siblings:
        errors = [FormProblem(key, Wording("不能删除最后一个下级指标：请改为删除上级指标。", {}))]
    else:
        errors = save(project, definition, row)
    if errors:
        return _refused(project, errors, "indicators/overview.html", **sheet(project, row.definition))
    flash(_("已删除“%(name)s”。", name=node["name"]), "success")
    return redirect(url_for("indicators.overview", project_id=project.id))


@bp.route("/grades", methods=["GET", "POST"])
def grades(project_id: int):
    """Edit the grade bands (one per line: name and lowest total) and the decimals of leaf scores."""
    project = member_project(project_id)
    row = table_or_404(project)
    definition = copy.deepcopy(row.definition)
    bands = definition.get("grades") or DEFAULT_GRADES
    context = {
        "bands_text": "\n".join(f"{b.get('grade')} {b.get('min')}" for b in bands),
        "decimals": definition.get("decimals", 2),
        "form": request.form if request.method == "POST" else None,
    }
    if request.method == "GET":
        return render_template("indicators/grades.html", project=project, title=_("等级与小数位"), **context)
    mistakes, parsed = [], []
    for line in request.form.get("grades", "").splitlines():
        parts = line.replace("≥", " ").split()
        if not parts:
            continue
        try:
            parsed.append({"grade": " ".join(parts[:-1]), "min": json_number(parts[-1])})
        except ValueError:
            mistakes.append(FormProblem("grades", Wording("“%(value)s”应写成“等级名 最低分”。", {"value": line})))
    decimals = request.form.get("decimals", "").strip()
    if whole_number(decimals, 4) is not None:
        definition["decimals"] = whole_number(decimals, 4)
    else:
        mistakes.append(FormProblem("decimals", Wording("小数位须是 0 到 4 的整数。", {})))
    definition["grades"] = parsed
    if mistakes:
        return _refused(project, mistakes, "indicators/grades.html", **context)
    errors = save(project, definition, row)
    if errors:
        return _refused(project, errors, "indicators/grades.html", **context)
    flash(_("等级与小数位已保存。"), "success")
    return redirect(url_for("indicators.overview", project_id=project.id))


def _download(project: Project, data: bytes, extension: str, mimetype: str) -> Response:
    name = f"指标评分表-{project.name}.{extension}"
    disposition = f"attachment; filename=indicators.{extension}; filename*=UTF-8''{quote(name)}"
    return Response(data, mimetype=mimetype, headers={"Content-Disposition": disposition})


@bp.get("/export.yaml")
def export_yaml(project_id: int):
    """The project's table as YAML (docs/indicator-format.md)."""
    project = member_project(project_id)
    row = table_or_404(project)
    return _download(project, dump_yaml(row.definition).encode("utf-8"), "yaml", "application/yaml")


@bp.get("/export.xlsx")
def export_xlsx(project_id: int):
    """The project's table as an Excel sheet in the 附件1 layout, with the current scores (linked values too)."""
    project = member_project(project_id)
    row = table_or_404(project)
    definition = row.definition
    result = current_score(project, definition)
    xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return _download(project, dump_xlsx(definition, result), "xlsx", xlsx)


@bp.route("/import", methods=["GET", "POST"])
def import_table(project_id: int):
    """Replace the project's table with an uploaded .json/.yaml/.xlsx file, after validating it."""
    project = member_project(project_id)
    context = {"has_table": table_of(project) is not None}
    if request.method == "GET":
        return render_template("indicators/import.html", project=project, title=_("导入指标评分表"), **context)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        problems = [FormProblem("file", Wording(N_("请选择要导入的文件。"), {}))]
        return _refused(project, problems, "indicators/import.html", **context)
    try:
        definition = load_table(upload.read(), upload.filename)
    except IndicatorFormatError as error:
        problems = [FormProblem(where, wording) for where, wording in error.problems]
        return _refused(project, problems, "indicators/import.html", **context)
    definition = {"format": FORMAT, **definition}
    errors = save(project, definition)
    if errors:
        return _refused(project, errors, "indicators/import.html", **context)
    flash(_("已导入指标评分表。"), "success")
    return redirect(url_for("indicators.overview", project_id=project.id))


@bp.context_processor
def _helpers():
    return {"level_names": LEVEL_NAMES}
