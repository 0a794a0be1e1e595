"""Application factory: configuration, extensions, blueprints and CLI, in that order."""

from flask import Flask

from survey import (
    api,
    api_tokens_views,
    auth,
    builder,
    bundle_views,
    cli,
    collection,
    dataset_views,
    desk,
    imports,
    indicators_views,
    posters_views,
    public,
    report_pdf_views,
    report_views,
    workbook_views,
)
from survey.config import load_config
from survey.extensions import init_extensions
from survey.web import init_web


def create_app(test_config: dict | None = None) -> Flask:
    """Build a configured app; tests pass ``test_config`` to override everything else."""
    app = Flask(__name__, instance_relative_config=True)
    load_config(app, test_config)
    init_extensions(app)
    init_web(app)
    for blueprint in (
        auth.bp, desk.bp, public.bp, collection.bp, builder.bp, builder.blank_bp, imports.bp, posters_views.bp,
        indicators_views.bp, report_views.bp, report_pdf_views.bp, dataset_views.bp, workbook_views.bp,
        bundle_views.bp,
        api.bp, api_tokens_views.bp,
    ):
        app.register_blueprint(blueprint)
    cli.init_app(app)
    return app
