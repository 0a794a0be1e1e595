"""Accessibility of the template library pages (survey/questionnaires/template_views.py): no serious or critical axe
violation."""

from __future__ import annotations

from tests.test_a11y_desk import page, violations  # noqa: F401 - the axe page fixture and check
from tests.test_browser import _login, live  # noqa: F401 - fixtures shared with the browser tests


def test_template_library_and_preview_have_no_serious_violations(live, page):  # noqa: F811
    from survey.models import Project
    from survey.platform.extensions import db

    with live.app.app_context():
        project_id = db.session.execute(db.select(Project.id)).scalars().first()
    _login(page, live)
    found = {}
    paths = ("/desk/templates/", f"/desk/templates/public_safety?project={project_id}", "/desk/templates/service_grid")
    for path in paths:
        response = page.goto(live.url(path))
        assert response.status == 200, path
        if problems := violations(page):
            found[path] = problems
    assert found == {}
