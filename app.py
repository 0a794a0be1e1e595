"""Application factory: configuration, extensions, blueprints and CLI, in that order."""

from survey import models  # noqa: F401 - every table in the metadata before Migrate sees it
from survey.accounts import admin_views, api_tokens_views, members_views
from survey.accounts import auth_views as auth
from survey.audit import audit_views
from survey.audit import trail as audit
from survey.collection import collection_views as collection
from survey.collection import imports_views as imports
from survey.collection import posters_views, responses_views
from survey.indicators import indicators_views
from survey.jobs import jobs_views
from survey.jobs import queue as jobs
from survey.platform import health_views as health
from survey.platform.config import apply_proxy_fix, load_config
from survey.platform.extensions import init_extensions
from survey.platform.limits import init_limits
from survey.platform.logs import init_logging
from survey.platform.web import SurveyFlask, init_web
from survey.privacy import privacy_views
from survey.projects import api_views as api
from survey.projects import cli, help_views
from survey.projects import desk_views as desk
from survey.projects.templating import init_templates
from survey.questionnaires import builder_views as builder
from survey.questionnaires import template_views
from survey.reports import bundle_views, dataset_views, word_views, workbook_views
from survey.reports import pdf_views as report_pdf_views
from survey.reports import text_views as report_views
from survey.respond import public_views as public
from survey.responses import numbers as response_numbers
from survey.rounds import rounds_views
from survey.weighting import weighting_views


def create_app(test_config: dict | None = None) -> SurveyFlask:
    """Build a configured app; tests pass ``test_config`` to override everything else."""
    app = SurveyFlask(__name__, instance_relative_config=True)
    load_config(app, test_config)
    init_extensions(app)
    init_web(app)
    init_templates(app)
    # fmt: off
    for blueprint in (
        auth.bp, desk.bp, public.bp, collection.bp, builder.bp, builder.blank_bp, imports.bp, posters_views.bp,
        indicators_views.bp, report_views.bp, report_pdf_views.bp, dataset_views.bp, workbook_views.bp,
        bundle_views.bp,
        api.bp, api_tokens_views.bp,
    ):
        app.register_blueprint(blueprint)
    # fmt: on
    app.register_blueprint(health.bp)
    app.register_blueprint(help_views.bp)
    app.register_blueprint(members_views.bp)
    app.register_blueprint(admin_views.bp)
    app.register_blueprint(audit_views.bp)
    app.register_blueprint(privacy_views.bp)
    app.register_blueprint(template_views.bp)
    app.register_blueprint(responses_views.bp)
    app.register_blueprint(jobs_views.bp)
    app.register_blueprint(weighting_views.bp)
    app.register_blueprint(rounds_views.bp)
    app.register_blueprint(word_views.bp)
    jobs.init_app(app, create_app, test_config)  # heavy exports apart from citizens' requests; scratch dir
    audit.init_app(app)  # records registered evaluator actions (survey.audit.trail)
    response_numbers.init_app(app)  # 第 N 号 for responses added through the ORM session
    init_limits(app)  # after the blueprints: it wraps their views in the limits
    init_logging(app)
    apply_proxy_fix(app)
    cli.init_app(app)
    return app
