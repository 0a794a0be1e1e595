"""Creating, publishing and closing questionnaires.

Publishing freezes the draft into a new ``QuestionnaireVersion`` only when it differs from the
last one, so re-publishing after a close does not multiply identical versions. A new questionnaire's
link token is one a person can type from a poster (``survey.platform.tokens``, the column's default).
"""

from __future__ import annotations

from survey.models import Project, ProjectMember, Questionnaire, QuestionnaireVersion, User, utcnow
from survey.platform.extensions import db
from survey.questionnaires.definition import normalize_definition, validate_definition
from survey.questionnaires.library import load_template


def create_project(owner: User, **fields) -> Project:
    """A project with ``owner`` as its first member."""
    project = Project(**fields)
    project.members.append(ProjectMember(user=owner, role="owner"))
    db.session.add(project)
    db.session.commit()
    return project


def create_questionnaire(project: Project, template_key: str, title: str | None = None) -> Questionnaire:
    """A draft questionnaire copied from a library template."""
    definition = normalize_definition(load_template(template_key))
    if title:
        definition["title"] = title
    validate_definition(definition)
    questionnaire = Questionnaire(
        project=project, title=definition["title"], template_key=template_key, definition=definition
    )
    db.session.add(questionnaire)
    db.session.commit()
    return questionnaire


def publish(questionnaire: Questionnaire) -> QuestionnaireVersion:
    """Open the questionnaire for answers, freezing its definition if it changed since the last version."""
    latest = questionnaire.versions[-1] if questionnaire.versions else None
    draft = normalize_definition(questionnaire.definition)
    changed = latest is None or normalize_definition(latest.definition) != draft
    validate_definition(draft, numbering=changed)  # reopening a version keeps the numbers its respondents saw
    if changed:
        latest = QuestionnaireVersion(
            questionnaire=questionnaire,
            number=(latest.number + 1) if latest else 1,
            definition=questionnaire.definition,
        )
        db.session.add(latest)
    questionnaire.current_version = latest
    questionnaire.title = questionnaire.definition["title"]
    questionnaire.status = "published"
    questionnaire.published_at = questionnaire.published_at or utcnow()
    questionnaire.closed_at = None
    db.session.commit()
    return latest


def import_questionnaire(project: Project, definition: dict) -> Questionnaire:
    """A draft questionnaire from an already validated, imported definition."""
    questionnaire = Questionnaire(
        project=project, title=definition["title"], template_key="import", definition=definition
    )
    db.session.add(questionnaire)
    db.session.commit()
    return questionnaire


def discard_draft(questionnaire: Questionnaire) -> None:
    """Throw away unpublished edits: the draft becomes the current version again."""
    if questionnaire.current_version is not None:
        questionnaire.definition = normalize_definition(questionnaire.current_version.definition)
        questionnaire.title = questionnaire.definition["title"]
        db.session.commit()


def close(questionnaire: Questionnaire) -> None:
    """Stop accepting answers; the link then shows a "closed" page (HTTP 410)."""
    questionnaire.status = "closed"
    questionnaire.closed_at = utcnow()
    db.session.commit()
