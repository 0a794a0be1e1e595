"""The audit trail (审计日志): who changed or exported which data, when; hash-chained so tampering shows.

Recording is central, so no view has to remember it:

* ``AUDITED`` maps an endpoint to an action code; the Chinese label of each code is in ``ACTION_LABELS``.
  ``EXEMPT`` lists the POST endpoints that are deliberately not recorded (signing in and out, respondents),
  and ``tests/test_audit.py`` fails for any state-changing route that is in neither, so a new route cannot
  skip the trail by accident.
* An ``after_request`` hook records, for a signed-in evaluator (or an API token's evaluator) and a
  successful response (status < 400): every POST/PUT/PATCH/DELETE to a registered endpoint that wrote to
  the database (a refused form that changed nothing is not an action; entries with ``always`` are recorded
  regardless, e.g. an uploaded file kept on disk), and every GET of a registered download (``export``).
  The project and the target (questionnaire or project name) are looked up *before* the view runs, so a
  deletion still names what it deleted; a creation is named from the page its redirect leads to.
* ``record()`` is for code paths that need an explicit entry (deleting all responses, the retention purge,
  CLI imports). It joins the caller's transaction: the entry commits together with the change.

Transactions: views commit their own change, so an entry made by the hook is written right after it, in
its own transaction (an action whose entry failed to write is logged as an error; the change stays).
Entries made with ``record()`` commit in the same transaction as the change.

The chain is global (one for the whole table, in ``id`` order): ``hash = sha256(prev_hash + canonical JSON of
the row's fields)``. Appending must read the last hash and insert atomically, so ``_lock_chain`` serialises
writers: on PostgreSQL with a transaction-level advisory lock, on SQLite by taking the database write lock
(a no-op UPDATE) before reading. ``verify_chain()`` reports the first row whose content or link is wrong.
Deleting the *newest* rows cannot be seen from the chain alone; the log page and the CSV show the count and
the newest hash so they can be noted down elsewhere.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, current_app, g, has_request_context, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_sqlalchemy.session import Session as FlaskSession
from sqlalchemy import event, text
from werkzeug.exceptions import HTTPException

from survey.models import AuditEvent, Project, Questionnaire, User, utcnow
from survey.platform.extensions import db

GENESIS = "0" * 64  # prev_hash of the first row
PG_LOCK_KEY = 0x5355525645594155  # "SURVEYAU": the advisory lock that serialises appends on PostgreSQL
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
SECRET_WORDS = ("password", "passwd", "secret", "token", "csrf", "nonce", "captcha")
MAX_TEXT = 200


@dataclass(frozen=True)
class Audited:
    """How one endpoint is recorded.

    ``code`` may contain ``{arg}`` placeholders filled from the URL (``response.{action}``); ``export`` marks a
    GET download; ``always`` records a write even when the database did not change (files on disk);
    ``values`` names form fields whose *values* are safe and useful to keep (a role, a username) — for every
    other field only its name is kept, never free text, passwords or tokens.
    """

    code: str
    export: bool = False
    always: bool = False
    values: tuple[str, ...] = ()


def _x(code: str) -> Audited:
    return Audited(code, export=True)


AUDITED: dict[str, Audited] = {
    # projects and questionnaires
    "desk.new_project": Audited("project.create"),
    "desk.edit_project": Audited("project.edit"),
    "desk.new_questionnaire": Audited("questionnaire.create"),
    "builder_blank.blank": Audited("questionnaire.create"),
    "desk.import_definition": Audited("questionnaire.import"),
    "desk.publish": Audited("questionnaire.publish"),
    "desk.discard": Audited("questionnaire.discard"),
    "desk.close": Audited("questionnaire.close"),
    "desk.set_issued": Audited("questionnaire.issued"),
    "desk.set_population": Audited("questionnaire.population"),
    # the builder: every edit of the draft
    "builder.settings": Audited("questionnaire.edit"),
    "builder.new_section": Audited("questionnaire.edit"),
    "builder.edit_section": Audited("questionnaire.edit"),
    "builder.move_section": Audited("questionnaire.edit"),
    "builder.delete_section": Audited("questionnaire.edit"),
    "builder.add_question": Audited("questionnaire.edit"),
    "builder.edit_question": Audited("questionnaire.edit"),
    "builder.move_question": Audited("questionnaire.edit"),
    "builder.move_question_to_section": Audited("questionnaire.edit"),
    "builder.duplicate_question": Audited("questionnaire.edit"),
    "builder.delete_question": Audited("questionnaire.edit"),
    "builder.condition": Audited("questionnaire.edit"),
    "builder.clear_condition": Audited("questionnaire.edit"),
    "builder.renumber": Audited("questionnaire.edit"),
    "builder.clear_numbers": Audited("questionnaire.edit"),
    # collection
    "collection.settings": Audited("collection.settings"),
    "collection.channels": Audited("channel.add"),
    "collection.edit_channel": Audited("channel.edit"),
    "collection.delete_channel": Audited("channel.delete"),
    "collection.units": Audited("unit.add"),
    "collection.delete_unit": Audited("unit.delete"),
    "collection.paper": Audited("response.paper"),
    "collection.paper_issued": Audited("questionnaire.issued"),
    "collection.decide": Audited("response.{action}"),
    # the response browser (corrections, voids and exclusions by rule also write their own, fuller entries)
    "responses.void": Audited("response.{action}"),
    "responses.correct": Audited("response.correct"),
    "responses.confirm_exclusion": Audited("responses.exclude_by_rule"),
    # importing responses
    "imports.upload": Audited("import.upload", always=True),  # kept on disk until run or discarded
    "imports.discard": Audited("import.discard", always=True),
    "imports.run": Audited("import.run"),
    "imports.text_codes": Audited("import.upload", always=True),  # a 按选项文本 download kept with the upload
    # indicator tables and the report text
    "indicators.start": Audited("indicators.edit"),
    "indicators.add_node": Audited("indicators.edit"),
    "indicators.edit_node": Audited("indicators.edit"),
    "indicators.delete_node": Audited("indicators.edit"),
    "indicators.grades": Audited("indicators.edit"),
    "indicators.import_table": Audited("indicators.import"),
    "report_text.save": Audited("report_text.edit"),
    "report_text.reset": Audited("report_text.edit"),
    # designed samples and weighting
    "weighting.add_table": Audited("weighting.table", values=("name",)),
    "weighting.remove_table": Audited("weighting.table_delete"),
    "weighting.scheme": Audited("weighting.scheme", values=("method", "tables", "trim", "enabled")),
    "weighting.plan": Audited("weighting.plan", values=("stratum", "table", "method", "total")),
    "weighting.delete_plan": Audited("weighting.plan"),
    "rounds.save": Audited("rounds.link", values=("previous", "label", "previous_label")),
    "word.upload_template": Audited("word.template", always=True),
    "word.reset_template": Audited("word.template"),
    "word.questionnaire_docx": _x("export.report_docx"),
    "word.project_docx": _x("export.report_docx"),
    "rounds.delete": Audited("rounds.link"),
    # privacy
    "privacy.delete_responses": Audited("responses.delete_all"),
    # accounts, members and administration
    "api_tokens.create": Audited("api_token.create"),
    "api_tokens.revoke": Audited("api_token.revoke"),
    "auth.change_password": Audited("account.password"),
    "auth.logout_everywhere": Audited("account.logout_everywhere"),
    "members.manage": Audited("member.add", values=("username", "role")),
    "members.change_role": Audited("member.role", values=("role",)),
    "members.remove": Audited("member.remove"),
    "admin.users": Audited("account.create", values=("username", "is_admin")),
    "admin.act": Audited("account.{action}"),
    "admin.reset_password": Audited("account.reset_password"),
    # downloads: responses, results, reports, definitions (GET)
    "desk.export_csv": _x("export.responses_csv"),
    "desk.export_definition": _x("export.definition"),
    "datasets.responses_codes_csv": _x("export.responses_csv"),
    "datasets.responses_sav": _x("export.sav"),
    "datasets.responses_dta": _x("export.dta"),
    "workbook_views.results_xlsx": _x("export.workbook"),
    "workbook_views.project_workbook": _x("export.workbook"),
    "bundle.bundle_zip": _x("export.bundle"),
    "report_pdf.report": _x("export.report_pdf"),
    "report_pdf.paper_form": _x("export.paper_form"),
    "collection.units_csv": _x("export.units"),
    "collection.review_log": _x("export.review_log"),
    "indicators.export_xlsx": _x("export.indicators"),
    "indicators.export_yaml": _x("export.indicators"),
    "audit.export": _x("export.audit"),
    # the read API
    "api.projects": _x("api.read"),
    "api.results": _x("api.read"),
    "api.responses": _x("api.read"),
    "api.indicators": _x("api.read"),
}

# State-changing routes deliberately left out of the trail, with the reason (reviewed by tests/test_audit.py).
EXEMPT: dict[str, str] = {
    "auth.login": "signing in changes no survey data",
    "auth.logout": "signing out changes no survey data",
    "imports.check": "a dry run: validates the mapping, stores nothing",
}
# Whole blueprints without evaluators: respondents answer anonymously, so there is nobody to record.
EXEMPT_BLUEPRINTS: dict[str, str] = {"public": "respondent pages (answers are the data, not evaluator actions)"}
# GET downloads that are not data (QR images, posters) and so are not recorded.
EXEMPT_DOWNLOADS: dict[str, str] = {
    "desk.qr_code": "the questionnaire's link as an image",
    "collection.channel_qr": "a channel's link as an image",
    "posters.all_posters": "posters carry only links and QR codes",
    "posters.channel_poster": "posters carry only links and QR codes",
    "weighting.blank": "a blank population table: the questionnaire's group options and empty counts",
    "word.template_file": "the report template: headings and placeholders, no answers",
    "static": "static files",
}

ACTION_LABELS: dict[str, Any] = {
    "project.create": _l("新建项目"),
    "project.edit": _l("修改项目信息"),
    "questionnaire.create": _l("新建问卷"),
    "questionnaire.import": _l("导入问卷定义"),
    "questionnaire.publish": _l("发布问卷"),
    "questionnaire.discard": _l("撤销未发布的修改"),
    "questionnaire.close": _l("关闭问卷"),
    "questionnaire.issued": _l("修改发放份数"),
    "questionnaire.population": _l("修改总体规模"),
    "questionnaire.edit": _l("编辑问卷"),
    "collection.settings": _l("修改收集设置"),
    "channel.add": _l("添加采集点"),
    "channel.edit": _l("修改采集点"),
    "channel.delete": _l("删除采集点"),
    "unit.add": _l("添加服务对象单位"),
    "unit.delete": _l("删除服务对象单位"),
    "response.paper": _l("录入纸质问卷"),
    "response.exclude": _l("排除答卷"),
    "response.keep": _l("保留答卷"),
    "response.restore": _l("恢复答卷"),
    "response.correct": _l("更正录入的答卷"),
    "response.void": _l("作废录入的答卷"),
    "response.unvoid": _l("撤销作废"),
    "responses.exclude_by_rule": _l("按规则排除答卷"),
    "import.upload": _l("上传答卷文件"),
    "import.discard": _l("放弃导入"),
    "import.run": _l("导入答卷"),
    "indicators.edit": _l("编辑指标评分表"),
    "indicators.import": _l("导入指标评分表"),
    "report_text.edit": _l("修改报告文字"),
    "weighting.table": _l("保存人口表"),
    "weighting.table_delete": _l("删除人口表"),
    "weighting.scheme": _l("修改加权方案"),
    "weighting.plan": _l("修改抽样设计"),
    "rounds.link": _l("修改多轮比较"),
    "word.template": _l("修改 Word 报告模板"),
    "export.report_docx": _l("下载 Word 报告"),
    "responses.delete_all": _l("删除全部答卷"),
    "responses.purge": _l("按保存期限删除答卷"),
    "api_token.create": _l("创建 API 令牌"),
    "api_token.revoke": _l("撤销 API 令牌"),
    "account.password": _l("修改密码"),
    "account.logout_everywhere": _l("退出所有设备"),
    "account.create": _l("创建账户"),
    "account.deactivate": _l("停用账户"),
    "account.reactivate": _l("重新启用账户"),
    "account.unlock": _l("解除账户锁定"),
    "account.grant_admin": _l("授予管理员权限"),
    "account.revoke_admin": _l("取消管理员权限"),
    "account.reset_password": _l("重置账户密码"),
    "member.add": _l("添加项目成员"),
    "member.role": _l("修改成员角色"),
    "member.remove": _l("移除项目成员"),
    "export.responses_csv": _l("导出答卷 CSV"),
    "export.definition": _l("导出问卷定义"),
    "export.sav": _l("导出 SPSS 数据"),
    "export.dta": _l("导出 Stata 数据"),
    "export.workbook": _l("导出结果工作簿"),
    "export.bundle": _l("下载工作底稿包"),
    "export.report_pdf": _l("下载报告 PDF"),
    "export.paper_form": _l("下载纸质问卷 PDF"),
    "export.units": _l("导出单位链接"),
    "export.review_log": _l("导出排除记录"),
    "export.indicators": _l("导出指标评分表"),
    "export.audit": _l("导出审计日志"),
    "api.read": _l("通过 API 读取数据"),
}


def action_label(code: str) -> str:
    """The action in words for the log page; an unknown code (from an older release) is shown as is."""
    label = ACTION_LABELS.get(code)
    return str(label) if label is not None else code


# ---------------------------------------------------------------- the chain


def canonical(created_at: datetime, user_id, username: str, project_id, action: str, target: str, detail: dict) -> str:
    """The row's fields as one stable JSON text: sorted keys, no spaces, microsecond ISO time."""
    return json.dumps(
        {
            "created_at": created_at.isoformat(timespec="microseconds"),
            "user_id": user_id,
            "username": username,
            "project_id": project_id,
            "action": action,
            "target": target,
            "detail": detail,
        },
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )


def row_hash(prev_hash: str, content: str) -> str:
    """sha256(prev_hash + content): changing any earlier row changes every later hash."""
    return hashlib.sha256((prev_hash + content).encode("utf-8")).hexdigest()


def _event_hash(row) -> str:
    return row_hash(
        row.prev_hash,
        canonical(row.created_at, row.user_id, row.username, row.project_id, row.action, row.target, row.detail),
    )


def _lock_chain() -> None:
    """Make this transaction the only one appending until it ends, so two entries never share a parent."""
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_LOCK_KEY})
    elif dialect == "sqlite":
        # A write statement takes SQLite's single write lock (waiting up to busy_timeout) before we read.
        db.session.execute(text("UPDATE audit_event SET id = id WHERE 1 = 0"))


def _plain(value: Any) -> Any:
    """Detail values as JSON-safe plain data, strings cut short: the log is not a copy of the data."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, bool | int):
        return value
    return str(value)[:MAX_TEXT]


def record(
    action: str,
    project_id: int | None = None,
    target: str = "",
    detail: dict | None = None,
    user: User | None = None,
) -> AuditEvent:
    """Append one entry to the chain inside the caller's transaction (the caller commits).

    ``user`` defaults to the signed-in evaluator (or the API token's); ``None`` outside a request means
    the system (CLI, scheduled purge), shown as "系统".
    """
    actor = user if user is not None else _actor()
    _lock_chain()
    last = db.session.execute(db.select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)).scalar()
    entry = AuditEvent(
        created_at=utcnow(),
        user_id=actor.id if actor is not None else None,
        username=(actor.username if actor is not None else "")[:64],
        project_id=project_id,
        action=action[:64],
        target=(target or "")[:MAX_TEXT],
        detail=_plain(detail or {}),
        prev_hash=last or GENESIS,
    )
    entry.hash = _event_hash(entry)
    db.session.add(entry)
    db.session.flush()
    if has_request_context():
        g.audit_recorded = True
    return entry


@dataclass(frozen=True)
class ChainStatus:
    """Result of ``verify_chain``: intact, or the first broken row (its id and its 1-based position)."""

    intact: bool
    checked: int
    broken_id: int | None = None
    broken_position: int | None = None
    reason: str = ""  # "content": the row was edited; "link": a row before it was removed or rewritten
    head: str = GENESIS  # hash of the newest row: note it down to notice the newest rows being deleted


def _rows():
    """Every row in chain order, streamed in batches (the table grows for years); close the result after use."""
    query = db.select(
        AuditEvent.id,
        AuditEvent.created_at,
        AuditEvent.user_id,
        AuditEvent.username,
        AuditEvent.project_id,
        AuditEvent.action,
        AuditEvent.target,
        AuditEvent.detail,
        AuditEvent.prev_hash,
        AuditEvent.hash,
    ).order_by(AuditEvent.id)
    return db.session.execute(query.execution_options(yield_per=1000))


def verify_chain() -> ChainStatus:
    """Walk the whole chain in id order and stop at the first row that does not fit."""
    expected, position = GENESIS, 0
    result = _rows()
    try:
        for row in result:
            position += 1
            if row.prev_hash != expected:
                return ChainStatus(False, position, row.id, position, "link", expected)
            if _event_hash(row) != row.hash:
                return ChainStatus(False, position, row.id, position, "content", expected)
            expected = row.hash
    finally:
        result.close()  # a server-side cursor on PostgreSQL: release it even when stopping early
    return ChainStatus(True, position, head=expected)


# ---------------------------------------------------------------- the request hooks


def _actor() -> User | None:
    """The evaluator behind this request: a signed-in session, or the API token's owner."""
    if not has_request_context():
        return None
    if current_user and current_user.is_authenticated:
        return current_user._get_current_object()
    return g.get("api_user")


def audited_for(endpoint: str | None, method: str) -> Audited | None:
    """The registry entry that applies to this request, if any."""
    entry = AUDITED.get(endpoint or "")
    if entry is None:
        return None
    if method in WRITE_METHODS and not entry.export:
        return entry
    if method == "GET" and entry.export:
        return entry
    return None


def _subject(view_args: dict) -> tuple[int | None, str, int | None]:
    """(project id, target text, questionnaire id) named by the URL, read before the view changes them."""
    project_id, names, questionnaire_id = None, [], None
    if "questionnaire_id" in view_args:
        questionnaire = db.session.get(Questionnaire, view_args["questionnaire_id"])
        if questionnaire is not None:
            project_id, questionnaire_id = questionnaire.project_id, questionnaire.id
            names.append(f"{questionnaire.title} (#{questionnaire.id})")
    elif "project_id" in view_args:
        project = db.session.get(Project, view_args["project_id"])
        if project is not None:
            project_id = project.id
            names.append(f"{project.name} (#{project.id})")
    if "user_id" in view_args:  # members and accounts: name the person acted on
        user = db.session.get(User, view_args["user_id"])
        if user is not None:
            names.append(user.username)
    return project_id, " · ".join(names), questionnaire_id


def _redirect_args(location: str) -> dict:
    """The URL arguments of a local redirect target (``/desk/projects/7`` → ``{"project_id": 7}``)."""
    try:
        _endpoint, args = current_app.url_map.bind("localhost").match(urlsplit(location).path, method="GET")
    except HTTPException:
        return {}
    return args


def _secret(name: str) -> bool:
    return any(word in name.lower() for word in SECRET_WORDS)


def request_detail(entry: Audited) -> dict:
    """What was asked, without what was typed: URL arguments, form field names, chosen safe values, files."""
    args = {k: v for k, v in (request.view_args or {}).items() if not _secret(k)}
    detail: dict[str, Any] = {"method": request.method}
    if args:
        detail["args"] = args
    fields = sorted({k for k in request.form if not _secret(k)})
    if fields:
        detail["fields"] = fields
    values = {k: request.form.get(k, "")[:100] for k in entry.values if k in request.form and not _secret(k)}
    if values:
        detail["values"] = values
    query = {k: v[:100] for k, v in request.args.items() if not _secret(k) and k != "lang"}
    if query:
        detail["query"] = query
    files = [{"field": k, "name": (f.filename or "")[:100]} for k, f in request.files.items()]
    if files:
        detail["files"] = files
    return detail


def _remember_subject() -> None:
    """Before a registered view runs, note what it acts on (a deletion must still be able to name it)."""
    entry = audited_for(request.endpoint, request.method)
    if entry is None:
        return
    g.audit_pending = False
    project_id, target, questionnaire_id = _subject(request.view_args or {})
    count = _response_count(questionnaire_id)
    g.audit_subject = (project_id, target, questionnaire_id, count)


def _response_count(questionnaire_id: int | None) -> int | None:
    if questionnaire_id is None:
        return None
    query = db.select(Questionnaire.accepted_count).where(Questionnaire.id == questionnaire_id)
    return db.session.execute(query).scalar()


def _should_record(entry: Audited, response) -> bool:
    if response.status_code >= 400 or g.get("audit_recorded") or _actor() is None:
        return False
    return entry.export or entry.always or bool(g.get("audit_wrote") or g.get("audit_pending"))


def _record_request(response):
    """After a successful registered request, append its entry (own transaction; the view has committed)."""
    entry = audited_for(request.endpoint, request.method)
    if entry is None or not _should_record(entry, response):
        return response
    try:
        project_id, target, questionnaire_id, before = g.get("audit_subject", (None, "", None, None))
        if project_id is None and response.location:  # a creation: name what the redirect leads to
            project_id, target, questionnaire_id = _subject(_redirect_args(response.location))
        detail = request_detail(entry)
        after = _response_count(questionnaire_id)
        if before is not None and after is not None and after != before:
            detail["responses"] = {"before": before, "after": after}
        code = entry.code.format_map({k: str(v) for k, v in (request.view_args or {}).items()})
        record(code, project_id, target, detail)
        db.session.commit()
    except Exception:  # the change itself is already committed: say loudly that its entry is missing
        db.session.rollback()
        current_app.logger.exception("audit entry for %s could not be written", request.endpoint)
    return response


# Which requests wrote to the database: a flush with real changes, or an UPDATE/DELETE/INSERT statement,
# that was then committed. Entries of the audit table itself do not count.


def _note_flush(session, _context) -> None:
    if not has_request_context() or "audit_pending" not in g:
        return
    changed = [o for o in session.new | session.deleted if not isinstance(o, AuditEvent)]
    changed += [o for o in session.dirty if not isinstance(o, AuditEvent) and session.is_modified(o)]
    if changed:
        g.audit_pending = True


def _note_statement(state) -> None:
    if has_request_context() and "audit_pending" in g and (state.is_update or state.is_delete or state.is_insert):
        g.audit_pending = True


def _note_commit(_session) -> None:
    if has_request_context() and g.get("audit_pending"):
        g.audit_wrote = True
        g.audit_pending = False


def _note_rollback(_session) -> None:
    if has_request_context() and g.get("audit_pending"):
        g.audit_pending = False


def _listen() -> None:
    """Session events, once per process (they apply to every Flask-SQLAlchemy session)."""
    for name, function in (
        ("after_flush", _note_flush),
        ("do_orm_execute", _note_statement),
        ("after_commit", _note_commit),
        ("after_rollback", _note_rollback),
    ):
        if not event.contains(FlaskSession, name, function):
            event.listen(FlaskSession, name, function)


def unregistered_endpoints(app: Flask) -> list[str]:
    """State-changing endpoints that are neither recorded nor exempt (must be empty: see tests/test_audit.py)."""
    missing = set()
    for rule in app.url_map.iter_rules():
        if not (rule.methods or set()) & WRITE_METHODS:
            continue
        endpoint = rule.endpoint
        blueprint = endpoint.rpartition(".")[0]
        if endpoint in AUDITED or endpoint in EXEMPT or blueprint in EXEMPT_BLUEPRINTS:
            continue
        missing.add(endpoint)
    return sorted(missing)


def init_app(app: Flask) -> None:
    """Install the hooks that record registered requests."""
    _listen()
    app.before_request(_remember_subject)
    app.after_request(_record_request)
