"""The read API (``/api/v1``): results, responses and indicator tables as JSON, documented in ``docs/openapi.yaml``.

Authentication is ``Authorization: Bearer <token>`` only, with a per-evaluator token made on
``/desk/api-tokens/``; session cookies are ignored, so the blueprint needs no CSRF protection. A token
sees what its evaluator sees: projects they are not a member of are 404, as on the desk.
"""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, g, jsonify, request
from flask_babel import gettext as _

from analysis.indicators import iter_nodes, score_table, validate_table
from survey.accounts.api_tokens import hash_secret
from survey.indicators.links import resolve_links
from survey.indicators.scored import table_score_dict
from survey.models import (
    ApiToken,
    IndicatorTable,
    Project,
    ProjectMember,
    Questionnaire,
    QuestionnaireVersion,
    utcnow,
)
from survey.models import Response as SurveyResponse
from survey.platform.extensions import csrf, db
from survey.results.presenting import say
from survey.results.reporting import questionnaire_results
from survey.results.results_json import results_dict

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)

DEFAULT_PER_PAGE = 100
MAX_PER_PAGE = 1000
# Pages beyond this hold nothing for any questionnaire; a larger page number made an OFFSET the database
# refused (10²⁰ overflows PostgreSQL's bigint), a server error instead of a 400.
MAX_PAGE = 2**31 - 1


class ApiError(Exception):
    """An error answered as ``{"error": message}`` with its HTTP status."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


# ---------------------------------------------------------------- tokens


def _bearer_secret() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _space, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        return None
    return secret.strip()


@bp.before_request
def authenticate():
    """Every API route needs a valid, unrevoked token of an active evaluator."""
    secret = _bearer_secret()
    if secret is None:
        return _error(401, _("缺少 API 令牌：请在 Authorization 头中以 Bearer 方式提供。"))
    token = db.session.execute(db.select(ApiToken).filter_by(token_hash=hash_secret(secret))).scalar_one_or_none()
    if token is None or token.revoked_at is not None or not token.user.active:
        return _error(401, _("API 令牌无效或已撤销。"))
    token.last_used_at = utcnow()
    db.session.commit()
    g.api_user = token.user
    return None


def _error(status: int, message: str):
    response = jsonify({"error": message})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="survey"'
    return response


@bp.errorhandler(ApiError)
def _api_error(error: ApiError):
    return _error(error.status, error.message)


@bp.errorhandler(404)
def _not_found(_error_):
    return _error(404, _("找不到该项目或问卷，或您无权访问。"))


# ---------------------------------------------------------------- access


def _project(project_id: int) -> Project:
    membership = db.session.get(ProjectMember, (project_id, g.api_user.id))
    if membership is None:
        raise ApiError(404, _("找不到该项目或问卷，或您无权访问。"))
    return membership.project


def _questionnaire(questionnaire_id: int) -> Questionnaire:
    questionnaire = db.session.get(Questionnaire, questionnaire_id)
    if questionnaire is None:
        raise ApiError(404, _("找不到该项目或问卷，或您无权访问。"))
    _project(questionnaire.project_id)
    return questionnaire


def _iso(moment: datetime | None) -> str | None:
    """Stored times are naive UTC; the API says so with a trailing ``Z``."""
    return None if moment is None else moment.isoformat() + "Z"


def _int_arg(name: str, default: int, low: int, high: int | None = None) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        value = low - 1
    if value < low or (high is not None and value > high):
        raise ApiError(400, _("参数 %(name)s 无效。", name=name))
    return value


# ---------------------------------------------------------------- endpoints


@bp.get("/projects")
def projects():
    """The token's evaluator's projects with their questionnaires, newest project first."""
    query = (
        db.select(Project)
        .join(ProjectMember)
        .where(ProjectMember.user_id == g.api_user.id)
        .order_by(Project.created_at.desc(), Project.id.desc())
    )
    rows = db.session.execute(query).scalars().all()
    with_table = set(
        db.session.execute(
            db.select(IndicatorTable.project_id).where(IndicatorTable.project_id.in_([p.id for p in rows]))
        ).scalars()
    )
    return jsonify(
        {
            "projects": [
                {
                    "id": p.id,
                    "name": p.name,
                    "region": p.region,
                    "year": p.year,
                    "evaluated_unit": p.evaluated_unit,
                    "created_at": _iso(p.created_at),
                    "has_indicator_table": p.id in with_table,
                    "questionnaires": [
                        {
                            "id": q.id,
                            "title": q.title,
                            "status": q.status,
                            "version": q.current_version.number if q.current_version else None,
                            "published_at": _iso(q.published_at),
                            "closed_at": _iso(q.closed_at),
                        }
                        for q in p.questionnaires
                    ],
                }
                for p in rows
            ]
        }
    )


@bp.get("/questionnaires/<int:questionnaire_id>/results")
def results(questionnaire_id: int):
    """Everything the results page shows, in the documented schema (``docs/analysis.md``)."""
    questionnaire = _questionnaire(questionnaire_id)
    return jsonify(results_dict(questionnaire, questionnaire_results(questionnaire)))


@bp.get("/questionnaires/<int:questionnaire_id>/responses")
def responses(questionnaire_id: int):
    """Every response (valid and excluded), oldest first, a page at a time."""
    questionnaire = _questionnaire(questionnaire_id)
    page = _int_arg("page", 1, 1, MAX_PAGE)
    per_page = _int_arg("per_page", DEFAULT_PER_PAGE, 1, MAX_PER_PAGE)
    # Voided entries (keyed in by mistake) are kept for the record but are not responses: out of the API too.
    mine = (SurveyResponse.questionnaire_id == questionnaire.id, SurveyResponse.status != "voided")
    total = db.session.execute(db.select(db.func.count()).where(*mine)).scalar_one()
    query = (
        db.select(
            SurveyResponse.id,
            SurveyResponse.number,
            SurveyResponse.submitted_at,
            SurveyResponse.duration_seconds,
            SurveyResponse.mode,
            SurveyResponse.channel,
            SurveyResponse.unit_name,
            SurveyResponse.status,
            SurveyResponse.exclusion_reason,
            SurveyResponse.flags,
            SurveyResponse.source_row,  # 来源行号（序号）: an imported response's row in its file
            QuestionnaireVersion.number.label("version"),
            SurveyResponse.answers,
        )
        .join(QuestionnaireVersion, QuestionnaireVersion.id == SurveyResponse.version_id)
        .where(*mine)
        .order_by(SurveyResponse.id)
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    items = []
    for row in db.session.execute(query):
        item = row._asdict()
        item["submitted_at"] = _iso(item["submitted_at"])
        item["flags"] = list(item["flags"] or [])
        items.append(item)
    return jsonify(
        {
            "questionnaire_id": questionnaire.id,
            "page": page,
            "per_page": per_page,
            "total": total,
            "pages": (total + per_page - 1) // per_page,
            "responses": items,
        }
    )


@bp.get("/projects/<int:project_id>/indicators")
def indicators(project_id: int):
    """The project's indicator table scored as on the desk, linked survey figures included."""
    project = _project(project_id)
    row = db.session.execute(db.select(IndicatorTable).filter_by(project_id=project.id)).scalar_one_or_none()
    if row is None:
        raise ApiError(404, _("这个项目还没有指标评分表。"))
    definition = row.definition
    problems = validate_table(definition)
    data = {
        "project": {"id": project.id, "name": project.name},
        "title": definition.get("title"),
        "updated_at": _iso(row.updated_at),
        "problems": [{"path": p.path, "message": say(p.wording), "warning": p.warning} for p in problems],
        "scored": False,
        "total": None,
        "grade": None,
        "complete": False,
        "scores": {},
        "errors": {},
        "deductions": [],
        "linked": {},
        "nodes": [],
    }
    if any(not p.warning for p in problems):
        return jsonify(data)
    links = resolve_links(project, definition)
    result = score_table(definition, linked=links.values)
    data.update(table_score_dict(definition, result))
    data["errors"].update({key: say(wording) for key, wording in links.errors.items() if key in result.errors})
    data["scored"] = True
    data["linked"] = {key: str(value) for key, value in links.values.items()}
    data["nodes"] = [
        {
            "key": node["key"],
            "name": node.get("name"),
            "level": level,
            "points": str(node.get("points")),
            "score": data["scores"].get(node["key"]),
        }
        for node, _path, level in iter_nodes(definition["indicators"])
    ]
    return jsonify(data)
