"""Take the README screenshots: the questionnaire on a phone, results on a desktop, the link and QR code,
and the evaluator desk (``desk-*.png``: the project dashboard at desktop and phone size, the builder).

Run from the repository root with the virtual environment active::

    python scripts/screenshots.py            # writes docs/screenshots/*.png
    python scripts/screenshots.py --out DIR  # somewhere else

It builds a throw-away app (a temporary SQLite file, the migrations, the demo data), serves it on a
free local port and drives Debian's Chromium (``/usr/bin/chromium``) with Playwright. Nothing outside
the output directory is touched, and no browser is downloaded.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.browser_support import CHROMIUM, CHROMIUM_ARGS, DESKTOP, PHONE, live_server, migrated_app  # noqa: E402


def build_app(workdir: Path, public_base_url: str | None = None):
    """A fresh app over a migrated temporary database with the demo data; returns ``(app, details)``."""
    from survey.projects.demo import ensure_demo

    app = migrated_app(workdir, PUBLIC_BASE_URL=public_base_url)
    with app.app_context():
        login = ensure_demo()
        stage_dashboard(login.project_id)
        details = {
            "project_id": login.project_id,
            "username": login.username,
            "password": login.password,
            "surveys": {q.template_key: (q.id, q.public_token) for q in login.questionnaires},
        }
    return app, details


def stage_dashboard(project_id: int) -> None:
    """Give the demo project what its dashboard can show: targets, two channels, flags to review, the 附件1 table.

    Only for the pictures: existing demo responses are moved to the channels, two are flagged, and the
    seed-004 indicator table from the library is attached.
    """
    import json

    from analysis.indicators import validate_table
    from survey.indicators.indicators_views import LIBRARY
    from survey.models import Channel, IndicatorTable, Project, Response
    from survey.platform.extensions import db

    project = db.session.get(Project, project_id)
    questionnaire = next(q for q in project.questionnaires if q.template_key == "public_safety")
    questionnaire.target = 60
    db.session.add_all(
        [
            Channel(questionnaire=questionnaire, code="c1", name="东海街道东滨社区", target=25),
            Channel(questionnaire=questionnaire, code="c2", name="丰泽派出所服务大厅", target=20),
        ]
    )
    rows = db.session.execute(db.select(Response).filter_by(questionnaire_id=questionnaire.id)).scalars().all()
    for index, row in enumerate(rows):
        row.channel = "c1" if index % 3 == 0 else ("c2" if index % 3 == 1 else "web")
    for row in rows[-2:]:
        row.flags, row.reviewed = ["too_fast"], False
    table = json.loads((LIBRARY / "seed_004_fengze.json").read_text(encoding="utf-8"))
    if not any(not problem.warning for problem in validate_table(table)):
        db.session.add(IndicatorTable(project_id=project.id, definition=table))
    db.session.commit()


def _sign_in(page, base_url: str, details: dict) -> None:
    """Sign the demo evaluator in on ``page`` and wait for the desk."""
    page.goto(f"{base_url}/login")
    page.fill("input[name=username]", details["username"])
    page.fill("input[name=password]", details["password"])
    page.click("main form button[type=submit]")
    page.wait_for_url("**/desk/**")


def take(base_url: str, details: dict, out: Path) -> list[Path]:
    """Drive Chromium through the three pages and save full-page PNGs into ``out``."""
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    public_id, public_token = details["surveys"]["public_safety"]
    service_id, _service_token = details["surveys"]["fengze_service_object"]
    saved = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            phone = browser.new_context(**PHONE).new_page()
            phone.goto(f"{base_url}/s/{public_token}")
            saved.append(out / "questionnaire-phone.png")
            phone.screenshot(path=str(saved[-1]), full_page=True)

            desk = browser.new_context(**DESKTOP).new_page()
            _sign_in(desk, base_url, details)
            desk.goto(f"{base_url}/desk/questionnaires/{service_id}/results")
            desk.locator("#overall").wait_for()
            saved.append(out / "results-desktop.png")
            desk.screenshot(path=str(saved[-1]), full_page=True)

            desk.goto(f"{base_url}/desk/questionnaires/{public_id}")
            desk.locator("img.qr").wait_for()
            desk.wait_for_function("document.querySelector('img.qr').naturalWidth > 0")
            saved.append(out / "questionnaire-qr.png")
            desk.screenshot(path=str(saved[-1]), full_page=True)

            desk.goto(f"{base_url}/desk/projects/{details['project_id']}")
            saved.append(out / "desk-project-desktop.png")
            desk.locator("#summary").screenshot(path=str(saved[-1]))  # the figures first: a page is long
            saved.append(out / "desk-questionnaires-desktop.png")
            desk.locator(f"#q-{public_id}").screenshot(path=str(saved[-1]))

            desk.goto(f"{base_url}/desk/questionnaires/{public_id}/builder/")
            saved.append(out / "desk-builder-desktop.png")
            desk.screenshot(path=str(saved[-1]))  # the first screen

            phone_desk = browser.new_context(**PHONE).new_page()
            _sign_in(phone_desk, base_url, details)
            phone_desk.goto(f"{base_url}/desk/projects/{details['project_id']}")
            saved.append(out / "desk-project-phone.png")
            phone_desk.screenshot(path=str(saved[-1]))  # the first screen
        finally:
            browser.close()
    return saved


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots", help="output directory")
    parser.add_argument(
        "--base-url",
        default="https://survey.example.org",
        help="PUBLIC_BASE_URL shown in the link and QR code (default: %(default)s; '' for the local server)",
    )
    args = parser.parse_args(argv)
    if not CHROMIUM.exists():
        print(f"{CHROMIUM} not found: install Debian's chromium package first.", file=sys.stderr)
        return 2

    with tempfile.TemporaryDirectory(prefix="survey-shots-") as tmp:
        app, details = build_app(Path(tmp), args.base_url or None)
        with live_server(app) as base_url:
            saved = take(base_url, details, args.out)
    for path in saved:
        print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
