"""The audit log of a project, on the desk and as CSV: every member (viewers too) may read it.

Rows are shown newest first with the state of the whole chain (``survey.audit.trail.verify_chain``), so a
tampered row shows on every project's page, not only on the project it belonged to.
"""

from __future__ import annotations

import json

from flask import Blueprint, Response, render_template, request
from flask_babel import gettext as _
from flask_login import login_required

from survey.accounts.access import member_project
from survey.audit.trail import action_label, verify_chain
from survey.models import AuditEvent
from survey.platform.csv_files import table_csv
from survey.platform.extensions import db
from survey.platform.localtime import DISPLAY_TIME, local_text, time_label

bp = Blueprint("audit", __name__, url_prefix="/desk/projects/<int:project_id>")
PER_PAGE = 50


@bp.before_request
@login_required
def require_login():
    """Every audit page needs a signed-in evaluator; membership is checked per route."""


def _events(project_id: int):
    return db.select(AuditEvent).where(AuditEvent.project_id == project_id).order_by(AuditEvent.id.desc())


def _who(event: AuditEvent) -> str:
    return event.username or _("系统")


def describe_detail(detail: dict) -> str:
    """The detail in one short line: URL arguments, fields touched, counts (never typed text)."""
    parts = []
    for key, value in (detail.get("args") or {}).items():
        parts.append(f"{key}={value}")
    for key, value in (detail.get("values") or {}).items():
        parts.append(f"{key}={value}")
    if detail.get("fields"):
        parts.append(_("字段：%(f)s", f="、".join(detail["fields"][:12])))
    if "deleted" in detail:
        parts.append(_("删除 %(n)s 份答卷", n=detail["deleted"]))
    if "rule" in detail and "count" in detail:  # survey.collection.review.exclude_by_rule
        parts.append(_("按规则排除 %(n)s 份答卷", n=detail["count"]))
    if detail.get("responses"):
        parts.append(_("答卷 %(a)s → %(b)s", a=detail["responses"].get("before"), b=detail["responses"].get("after")))
    for upload in detail.get("files") or []:
        parts.append(_("文件：%(name)s", name=upload.get("name", "")))
    if detail.get("file"):  # a file named on the command line
        parts.append(_("文件：%(name)s", name=detail["file"]))
    if detail.get("source") == "cli":  # survey.projects.cli_desk: done with a flask command, not on the desk
        parts.insert(0, _("命令行"))
    return "；".join(str(p) for p in parts)


@bp.get("/audit")
def project_log(project_id: int):
    """One page of the project's entries, newest first, with the chain's state."""
    project = member_project(project_id)
    number = request.args.get("page", 1, type=int)
    page = db.paginate(_events(project.id), page=number, per_page=PER_PAGE, error_out=False)
    return render_template(
        "audit/log.html",
        project=project,
        page=page,
        chain=verify_chain(),
        action_label=action_label,
        describe_detail=describe_detail,
        who=_who,
        time_format=DISPLAY_TIME,
        title=_("审计日志：%(name)s", name=project.name),
    )


def log_rows(project_id: int) -> tuple[list[dict], list[str]]:
    """Every entry of the project, oldest first, as CSV rows with their hashes (so anyone can re-check them)."""
    columns = [_("序号"), time_label(_("时间")), _("时间（UTC）"), _("操作人"), _("操作代码"), _("操作"),
               _("对象"), _("详情"), _("上一条哈希"), _("本条哈希")]  # fmt: skip
    query = db.select(AuditEvent).where(AuditEvent.project_id == project_id).order_by(AuditEvent.id)
    rows = [
        dict(
            zip(
                columns,
                [
                    event.id,
                    local_text(event.created_at),
                    event.created_at.isoformat(timespec="microseconds"),
                    _who(event),
                    event.action,
                    action_label(event.action),
                    event.target,
                    json.dumps(event.detail, ensure_ascii=False, sort_keys=True),
                    event.prev_hash,
                    event.hash,
                ],
                strict=True,
            )
        )
        for event in db.session.execute(query).scalars()
    ]
    return rows, columns


@bp.get("/audit.csv")
def export(project_id: int):
    """The project's whole log as UTF-8 CSV with a byte-order mark (opens in Excel and WPS)."""
    project = member_project(project_id)
    rows, columns = log_rows(project.id)
    return Response(
        table_csv(rows, columns),
        mimetype="text/csv; charset=utf-8",
        headers={"Content-Disposition": f"attachment; filename=audit-project-{project.id}.csv"},
    )
