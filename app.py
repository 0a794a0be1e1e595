"""Application factory: configuration, extensions, blueprints and CLI, in that order."""

from survey import (
    admin_views,
    api,
    api_tokens_views,
    audit,
    audit_views,
    auth,
    builder,
    bundle_views,
    cli,
    collection,
    dataset_views,
    desk,
    health,
    help_views,
    imports,
    indicators_views,
    jobs,
    jobs_views,
    members_views,
    models,  # noqa: F401 - every table in the metadata before Migrate sees it
    posters_views,
    privacy_views,
    public,
    report_pdf_views,
    report_views,
    response_numbers,
    responses_views,
    template_views,
    workbook_views,
)
from survey.config import apply_proxy_fix, load_config
from survey.extensions import init_extensions
from survey.limits import init_limits
from survey.logs import init_logging
from survey.web import SurveyFlask, init_web


def create_app(test_config: dict | None = None) -> SurveyFlask:
    """Build a configured app; tests pass ``test_config`` to override everything else."""
    app = SurveyFlask(__name__, instance_relative_config=True)
    load_config(app, test_config)
    init_extensions(app)
    init_web(app)
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
    jobs.init_app(app, create_app, test_config)  # heavy exports apart from citizens' requests; scratch dir
    audit.init_app(app)  # records registered evaluator actions (survey.audit)
    response_numbers.init_app(app)  # 第 N 号 for responses added through the ORM session
    init_limits(app)  # after the blueprints: it wraps their views in the limits
    init_logging(app)
    apply_proxy_fix(app)
    cli.init_app(app)
    return app
