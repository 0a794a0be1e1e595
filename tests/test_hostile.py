"""Hostile and random input (hypothesis) at the public submission, the response import and the builder.

Whatever arrives, the answer is never a server error, and the database is never half-written: a
refused submission stores nothing, an accepted one exactly one row (counters agree with the rows),
an import stores all its rows or none, and a builder change leaves a draft that still validates.
Example counts stay modest (each example is a real request on SQLite and on PostgreSQL).
"""

from __future__ import annotations

import io
import zipfile

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict

from forms.fields import question_fields
from survey.collection import import_reading
from survey.models import Questionnaire, Response
from survey.platform.extensions import db
from survey.questionnaires import publishing
from survey.questionnaires.definition import DefinitionError, iter_questions, normalize_definition, validate_definition
from tests.conftest import login
from tests.helpers import SEED_004_ANSWERS, make_project, published

HOSTILE = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,  # the same examples on SQLite and PostgreSQL, and no stale example files in the repo
)

INJECTIONS = [
    "'; DROP TABLE response; --",
    "1 OR 1=1",
    '" OR ""="',
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "{{ 7*7 }}{% raw %}",
    "${jndi:ldap://x/a}",
    "../../etc/passwd",
    "%00%0d%0a",
    "\u202etxt.exe",
    "\ud7ff\ufeff\u200b",
    "𠮷野家 🚓",
    '=HYPERLINK("http://x")',
]
CONTROL = st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=31), min_size=1, max_size=20)
hostile_text = st.one_of(
    st.text(max_size=40),
    CONTROL,
    st.sampled_from(INJECTIONS),
    st.builds(lambda s, n: (s or "长") * n, st.text(min_size=1, max_size=3), st.integers(1000, 7000)),
    st.sampled_from(["", " ", "a", "b", "z", "0", "-1", "1e309", "NaN", "2019-02-30", "９９"]),
)


def _count(questionnaire_id: int | None = None) -> int:
    query = db.select(db.func.count(Response.id))
    if questionnaire_id is not None:
        query = query.where(Response.questionnaire_id == questionnaire_id)
    return db.session.execute(query).scalar()


def _answer_keys(definition: dict) -> set[str]:
    """Every key a stored answer may have: the form's field names for each question."""
    definition = normalize_definition(definition)
    return {name for q in iter_questions(definition) for name in question_fields(q)}


def _assert_consistent(questionnaire: Questionnaire, allowed: set[str]) -> None:
    """Counters agree with the rows, and every stored answer is a known key holding printable text."""
    db.session.expire_all()
    assert questionnaire.accepted_count == _count(questionnaire.id)
    for response in db.session.execute(db.select(Response)).scalars():
        assert set(response.answers) <= allowed
        for value in response.answers.values():
            for text in value if isinstance(value, list) else [value]:
                assert not (isinstance(text, str) and any(ord(c) < 32 and c not in "\t\n\r" for c in text))


# --- the public submission ------------------------------------------------------------------------


@pytest.fixture
def target(evaluator):
    """A published questionnaire, the names its form knows, and the URL it is submitted to."""
    questionnaire = published(make_project(evaluator))
    definition = questionnaire.current_version.definition
    names = sorted(_answer_keys(definition) | {"submission_id", "started", "csrf_token", "pow_nonce"})
    return questionnaire, names, f"/s/{questionnaire.public_token}"


def _formdata(base: dict, pairs: list[tuple[str, str]]) -> MultiDict:
    data = MultiDict(base)
    for key, value in pairs:
        data.add(key, value)
    return data


def _post_and_check(client, questionnaire, url, data, allowed) -> int:
    before = _count(questionnaire.id)
    response = client.post(url, data=data)
    assert response.status_code < 500, response.data.decode()[:300]
    after = _count(questionnaire.id)
    if response.status_code == 303:
        assert after - before in (0, 1)  # 0: the same submission id again (a double tap)
    else:
        assert after == before, response.status_code
        assert response.status_code in (400, 409, 410, 413, 422, 429)
    _assert_consistent(questionnaire, allowed)
    return response.status_code


@HOSTILE
@given(data=st.data())
def test_public_submission_never_fails_or_half_writes(client, target, data):
    questionnaire, names, url = target
    keys = st.one_of(st.sampled_from(names), st.text(max_size=12))
    base = data.draw(st.sampled_from([{}, dict(SEED_004_ANSWERS)]), label="base")
    pairs = data.draw(st.lists(st.tuples(keys, hostile_text), max_size=12), label="pairs")
    _post_and_check(client, questionnaire, url, _formdata(base, pairs), _answer_keys(questionnaire.definition))


@HOSTILE
@given(key=st.sampled_from(sorted(SEED_004_ANSWERS)), value=hostile_text)
def test_one_hostile_answer_among_valid_ones(client, target, key, value):
    """Valid answers with one field replaced: stored cleaned, or refused whole; never a 500."""
    questionnaire, _names, url = target
    status = _post_and_check(
        client, questionnaire, url, {**SEED_004_ANSWERS, key: value}, _answer_keys(questionnaire.definition)
    )
    if status == 303 and key in ("q1a", "q8"):
        response = db.session.execute(db.select(Response).order_by(Response.id.desc())).scalars().first()
        stored = response.answers.get(key, "")
        assert "\x00" not in stored and len(stored) <= 200


def test_unknown_and_repeated_fields_are_refused_with_nothing_stored(client, target):
    questionnaire, _names, url = target
    cases = [
        ({**SEED_004_ANSWERS, "is_admin": "1"}, "本问卷没有的项目"),
        (_formdata(SEED_004_ANSWERS, [("q4", "b")]), "同一道题出现了多个答案"),
        ({**SEED_004_ANSWERS, "q9": "长" * 5001}, "提交的内容过长"),
        ({**SEED_004_ANSWERS, "submission_id": "../../x y"}, "格式不正确"),
        ({**SEED_004_ANSWERS, "q4": "zz"}, "所选的选项不在本题的选项中"),
    ]
    for data, message in cases:
        response = client.post(url, data=data)
        assert response.status_code in (400, 422) and message in response.data.decode(), message
        assert 'value="丰泽公安分局"' in response.data.decode()  # the answers are kept
    upload = client.post(url, data={**SEED_004_ANSWERS, "q8": (io.BytesIO(b"x"), "a.txt")})
    assert upload.status_code == 400
    assert _count() == 0
    # The same answers without the extras are accepted: the refusals were about the extras.
    assert client.post(url, data=SEED_004_ANSWERS).status_code == 303 and _count() == 1


def test_forged_option_in_a_hidden_question_is_refused(app, client, evaluator):
    """Skip logic forgets a hidden question's errors, but never a forged option key."""
    from tests.helpers import ALL_TYPES

    project = make_project(evaluator)
    questionnaire = publishing.create_questionnaire(project, "fengze_service_object")
    questionnaire.definition = ALL_TYPES
    db.session.commit()
    publishing.publish(questionnaire)
    url = f"/s/{questionnaire.public_token}"
    response = client.post(url, data={"grp": "n", "safe": "a", "why": "forged"})
    assert response.status_code == 422 and "所选的选项不在本题的选项中" in response.data.decode()
    assert _count() == 0


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}])
@HOSTILE
@given(data=st.data())
def test_without_csrf_token_nothing_is_stored(client, target, data):
    questionnaire, names, url = target
    token = data.draw(st.one_of(st.just(None), hostile_text), label="csrf_token")
    base = {**SEED_004_ANSWERS, **({} if token is None else {"csrf_token": token})}
    before = _count()
    response = client.post(url, data=base)
    assert response.status_code == 400
    assert _count() == before == 0


@HOSTILE
@given(
    body=st.binary(max_size=3000),
    content_type=st.sampled_from(
        [
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=xyz",
            "multipart/form-data",
            "application/json",
            "text/plain; charset=gbk",
            "application/octet-stream",
        ]
    ),
)
def test_raw_bodies_never_fail(client, target, body, content_type):
    questionnaire, _names, url = target
    before = _count()
    response = client.post(url, data=body, content_type=content_type)
    assert response.status_code < 500
    assert _count() == before  # no raw body of random bytes holds every required answer
    _assert_consistent(questionnaire, _answer_keys(questionnaire.definition))


@pytest.mark.parametrize("app_config", [{"MAX_CONTENT_LENGTH": 256 * 1024}])
def test_huge_bodies_get_413_and_nothing_stored(client, target):
    questionnaire, _names, url = target
    response = client.post(url, data={**SEED_004_ANSWERS, "q9": "长" * 100_000})
    assert response.status_code == 413 and "提交的内容太大" in response.data.decode()
    many = {**SEED_004_ANSWERS, **{f"k{i}": "x" for i in range(3000)}}
    response = client.post(url, data={**many, "file": (io.BytesIO(b"x"), "x.txt")})  # multipart: too many parts
    assert response.status_code == 413
    assert client.post(url, data=many).status_code == 400  # urlencoded: refused as unknown fields
    assert _count() == 0


# --- the response import --------------------------------------------------------------------------


def _xlsx(rows: list[list[str]]) -> bytes:
    workbook = openpyxl.Workbook()
    for row in rows:
        workbook.active.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return buffer.getvalue()


SEED_ROWS = [["4", "5", "1.1"], ["满意", "基本满意", "单位甲"], ["不满意", "满意", "单位乙"]]
REAL_XLSX = _xlsx(SEED_ROWS)

upload_bytes = st.one_of(
    st.binary(max_size=4000),
    st.builds(lambda cut: REAL_XLSX[:cut], st.integers(0, len(REAL_XLSX))),
    st.builds(
        lambda at, junk: REAL_XLSX[:at] + junk + REAL_XLSX[at + len(junk) :],
        st.integers(0, len(REAL_XLSX)),
        st.binary(min_size=1, max_size=64),
    ),
    # Entry names a zip can hold: any text but lone surrogates, which no archive can store (zipfile refuses them while
    # building the example, and the half-built archive then fails the next test on its way out).
    st.builds(
        lambda name, content: _zip({name: content}),
        st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=20),
        st.binary(max_size=200),
    ),
    st.builds(
        lambda sheet: _zip({"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": sheet}),
        st.binary(max_size=300),
    ),
    st.lists(st.lists(hostile_text, max_size=6), max_size=8).map(
        lambda rows: "\n".join(",".join(r) for r in rows).encode("utf-8", "surrogatepass")
    ),
    st.lists(st.lists(st.text(st.characters(min_codepoint=32), max_size=10), max_size=5), min_size=1, max_size=5).map(
        _xlsx
    ),
    st.sampled_from([b"%PDF-1.4\n", b"\x89PNG\r\n\x1a\n", b"<html><table><tr><td>1</td></tr></table>", b"\xef\xbb"]),
)


@pytest.fixture
def importer(client, evaluator, app):
    questionnaire = published(make_project(evaluator))
    assert login(client, "alice", "alice-password-1").status_code == 302
    return client, questionnaire


@HOSTILE
@given(content=upload_bytes, filename=st.sampled_from(["a.xlsx", "a.csv", "a.xls", "a.exe", "答卷.xlsx"]))
def test_import_upload_never_fails(importer, content, filename):
    client, questionnaire = importer
    before = _count()
    response = client.post(
        f"/desk/questionnaires/{questionnaire.id}/import/",
        data={"file": (io.BytesIO(content), filename)},
        content_type="multipart/form-data",
    )
    assert response.status_code in (302, 422), response.data.decode()[:300]
    if response.status_code == 422:
        assert 'class="error"' in response.data.decode()  # the reason is shown
    assert _count() == before


@HOSTILE
@given(data=st.data())
def test_import_run_is_all_or_nothing(importer, data):
    client, questionnaire = importer
    upload = client.post(
        f"/desk/questionnaires/{questionnaire.id}/import/",
        data={"file": (io.BytesIO(REAL_XLSX), "a.xlsx")},
        content_type="multipart/form-data",
    )
    assert upload.status_code == 302
    run_url = upload.headers["Location"].rstrip("/") + "/run"
    targets = st.one_of(
        st.sampled_from(["ignore", "ans:q4", "ans:q5", "ans:q1a", "meta:submitted_at", "opt:q6:a", "other:q6"]),
        st.sampled_from(["meta:nothing", "opt:q4", "opt:zz:a", "ans:", ":", "ans:q4:extra"]),
        hostile_text,
    )
    pairs = data.draw(
        st.lists(
            st.tuples(st.sampled_from(["col-0", "col-1", "col-2", "channel", "vq-0", "vt-0", "vv-0", "vq-1"]), targets),
            max_size=10,
        ),
        label="form",
    )
    before = _count()
    response = client.post(run_url, data=_formdata({}, pairs))
    assert response.status_code in (302, 422, 404), response.data.decode()[:300]
    after = _count()
    assert after - before in (0, len(SEED_ROWS) - 1)  # every row, or none
    if response.status_code != 302:
        assert after == before
    _assert_consistent(questionnaire, _answer_keys(questionnaire.definition))


def test_zip_bomb_is_refused_before_parsing(importer):
    """A workbook that says it unpacks to more than the limit is refused from its directory alone."""
    client, questionnaire = importer
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", b"<Types/>")
        archive.writestr("xl/workbook.xml", b"<workbook/>")
        with archive.open("xl/sharedStrings.xml", "w", force_zip64=True) as entry:
            chunk = b"\0" * (1 << 20)
            for _ in range(import_reading.XLSX_MAX_UNPACKED // len(chunk) + 1):
                entry.write(chunk)
    bomb = buffer.getvalue()
    assert len(bomb) < 1024 * 1024
    with pytest.raises(import_reading.FileProblem, match="解压后超过"):
        import_reading.read_table(bomb)
    response = client.post(
        f"/desk/questionnaires/{questionnaire.id}/import/",
        data={"file": (io.BytesIO(bomb), "bomb.xlsx")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422 and "解压后超过" in response.data.decode()


def _small_workbook() -> bytes:
    """A real workbook of a few kilobytes (unpacked), to meet a lowered limit."""
    workbook = openpyxl.Workbook()
    workbook.active.title = "survey"
    workbook.active.append(["type", "name", "label"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_every_workbook_importer_refuses_an_oversized_archive_before_opening_it(monkeypatch):
    """Responses, XLSForm questionnaires and indicator tables share ``survey.platform.xlsx_guard``."""
    from survey.indicators import table_files as indicator_io
    from survey.platform import xlsx_guard
    from survey.questionnaires.xlsform import definition_from_xlsform

    data = _small_workbook()
    opened = []
    monkeypatch.setattr(xlsx_guard, "MAX_UNPACKED", 1000)  # the workbook unpacks to a few kilobytes
    monkeypatch.setattr(import_reading, "XLSX_MAX_UNPACKED", 1000)
    monkeypatch.setattr(openpyxl.reader.excel.ExcelReader, "read", lambda *a: opened.append(a))
    with pytest.raises(import_reading.FileProblem, match="解压后超过"):
        import_reading.read_table(data)
    with pytest.raises(DefinitionError) as refused:
        definition_from_xlsform(data)
    assert "解压后超过" in str(refused.value.problems[0].message)
    with pytest.raises(indicator_io.IndicatorFormatError) as refused:
        indicator_io.load_table(data, "附件1.xlsx")
    assert "解压后超过" in indicator_io.say_plain(refused.value.problems[0][1])
    assert opened == [], "no importer let openpyxl read the oversized workbook"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"%PDF-1.7 ...", "不是 .xlsx、.xls 或 .csv 文件"),
        (b"\x89PNG\r\n\x1a\n....", "不是 .xlsx、.xls 或 .csv 文件"),
        (b"\xef\xbb\xbf<!DOCTYPE html><html><table></table></html>", "不是 .xlsx、.xls 或 .csv 文件"),
        (_zip({"readme.txt": b"hello"}), "不是 Excel 工作簿"),
        (b"PK\x03\x04 broken", "无法读取这个 XLSX 文件"),
    ],
)
def test_foreign_files_are_named(content, message):
    with pytest.raises(import_reading.FileProblem, match=message):
        import_reading.read_table(content)


def test_sheet_wider_than_the_limit_is_refused():
    wide = _xlsx([["a"] + [""] * (import_reading.MAX_COLUMNS + 5) + ["far away"]])
    with pytest.raises(import_reading.FileProblem, match="列"):
        import_reading.read_table(wide)


# --- the builder -----------------------------------------------------------------------------------

BUILDER_FIELDS = [
    "title", "intro", "source", "thanks", "overall_method", "overall_measure", "overall_question", "dont_know",
    "qtype", "section", "text", "number", "required", "help", "measure", "rate_label", "dimension",
    "min_choices", "max_choices", "number_min", "number_max", "integer", "unit", "date_min", "date_max",
    "max_length", "correct", "move", "question", "mode", "values",
    "options-0-key", "options-0-text", "options-0-score", "options-0-positive", "options-0-dont_know",
    "options-0-other", "options-0-remove", "options-1-text", "options-9-text", "items-0-key", "items-0-text",
    "items-0-remove", "items-5-text", "csrf_token",
]  # fmt: skip


def _builder_paths(definition: dict) -> list[str]:
    sections = [s["key"] for s in definition["sections"]] + ["nope"]
    questions = [q["key"] for q in iter_questions(definition)][:3] + ["nope"]
    paths = ["settings", "sections/new"]
    for key in sections:
        paths += [f"sections/{key}", f"sections/{key}/up", f"sections/{key}/down", f"sections/{key}/questions"]
        paths += [f"sections/{key}/delete", f"sections/{key}/condition", f"sections/{key}/condition/clear"]
    for key in questions:
        paths += [f"questions/{key}", f"questions/{key}/up", f"questions/{key}/section"]
        paths += [f"questions/{key}/duplicate", f"questions/{key}/delete", f"questions/{key}/condition"]
    return paths


@pytest.fixture
def draft(logged_in, evaluator):
    project = make_project(evaluator)
    questionnaire = publishing.create_questionnaire(project, "fengze_service_object")
    # The paths are fixed from the starting draft (hypothesis needs the same choices on every run); a
    # section or question deleted by an earlier example then answers 404, which is one more case to check.
    return logged_in, questionnaire, _builder_paths(normalize_definition(questionnaire.definition))


@HOSTILE
@given(data=st.data())
def test_builder_posts_never_fail_and_keep_a_sound_draft(draft, data):
    client, questionnaire, paths = draft
    path = data.draw(st.sampled_from(paths), label="path")
    keys = st.one_of(st.sampled_from(BUILDER_FIELDS), st.text(max_size=10))
    pairs = data.draw(st.lists(st.tuples(keys, hostile_text), max_size=12), label="form")
    response = client.post(f"/desk/questionnaires/{questionnaire.id}/builder/{path}", data=_formdata({}, pairs))
    assert response.status_code in (200, 302, 303, 400, 404, 422), (path, response.status_code)
    db.session.expire_all()
    saved = db.session.get(Questionnaire, questionnaire.id)
    try:
        validate_definition(saved.definition)
    except DefinitionError as error:  # pragma: no cover - the assertion message names the problems
        pytest.fail(f"{path} saved an invalid draft: {[str(p.message) for p in error.problems]}")
    assert saved.status == "draft" and _count() == 0


@HOSTILE
@given(pairs=st.lists(st.tuples(st.sampled_from(["title", "template", "name", "x"]), hostile_text), max_size=6))
def test_blank_questionnaire_and_project_forms_never_fail(draft, pairs):
    client, questionnaire, _paths = draft
    project_id = questionnaire.project_id
    count = db.session.execute(db.select(db.func.count(Questionnaire.id))).scalar()
    for url in (f"/desk/projects/{project_id}/questionnaires/blank", f"/desk/projects/{project_id}/questionnaires"):
        response = client.post(url, data=_formdata({}, pairs))
        assert response.status_code in (200, 302, 303, 400, 404, 422), (url, response.status_code)
    db.session.expire_all()
    for saved in db.session.execute(db.select(Questionnaire)).scalars():
        validate_definition(saved.definition)
    assert db.session.execute(db.select(db.func.count(Questionnaire.id))).scalar() - count in (0, 1, 2)


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}])
@HOSTILE
@given(data=st.data())
def test_desk_posts_without_csrf_token_change_nothing(client, evaluator, data):
    """Signed in, but the token is missing or forged: builder and import posts are refused, nothing changes."""
    from tests.helpers import hidden_value

    questionnaire = db.session.execute(db.select(Questionnaire)).scalars().first()
    if questionnaire is None:  # the first example signs in (with a token) and makes the draft
        token = hidden_value(client.get("/login").data.decode(), "csrf_token")
        credentials = {"username": "alice", "password": "alice-password-1", "csrf_token": token}
        assert client.post("/login", data=credentials).status_code == 302
        questionnaire = publishing.create_questionnaire(make_project(evaluator), "fengze_service_object")
    before = normalize_definition(questionnaire.definition)
    paths = ["builder/settings", "builder/sections/new", "builder/sections/s1/delete", "import/"]
    path = data.draw(st.sampled_from(paths), label="path")
    form = {"title": data.draw(hostile_text, label="title"), "intro": "x", "overall_method": "mean"}
    token = data.draw(st.one_of(st.just(None), hostile_text), label="csrf_token")
    if token is not None:
        form["csrf_token"] = token
    if path == "import/":
        form["file"] = (io.BytesIO(REAL_XLSX), "a.xlsx")
    response = client.post(f"/desk/questionnaires/{questionnaire.id}/{path}", data=form)
    assert response.status_code == 400 and "安全校验未通过" in response.data.decode()
    db.session.expire_all()
    assert normalize_definition(db.session.get(Questionnaire, questionnaire.id).definition) == before
    assert _count() == 0


def test_empty_new_section_post_is_not_a_server_error(draft):
    """Found by the builder test above: a POST without a title field crashed on ``None.strip()``."""
    client, questionnaire, _paths = draft
    response = client.post(f"/desk/questionnaires/{questionnaire.id}/builder/sections/new", data={})
    assert response.status_code in (302, 303)
    db.session.expire_all()
    validate_definition(db.session.get(Questionnaire, questionnaire.id).definition)


@pytest.mark.parametrize("field", ["title", "name"])
def test_nul_characters_in_desk_forms_are_dropped_not_a_500(draft, field):
    """A NUL in a title (PostgreSQL refuses it in text columns) is removed from every form before any view."""
    client, questionnaire, _paths = draft
    project_id = questionnaire.project_id
    for url in (f"/desk/projects/{project_id}/questionnaires/blank", f"/desk/projects/{project_id}/questionnaires",
                f"/desk/projects/{project_id}/edit", "/desk/projects/new"):  # fmt: skip
        response = client.post(url, data={field: "问卷\x00标题", "title": "\x00", "name": "项目\x00"})
        assert response.status_code < 500, (url, response.status_code)
    db.session.expire_all()
    for saved in db.session.execute(db.select(Questionnaire)).scalars():
        assert "\x00" not in saved.title


@pytest.mark.parametrize("body", [b"0", b"[]", b'"x"', b"{}", b'{"q1a": "a"}', b"not json"])
def test_json_bodies_get_a_400_and_store_nothing(target, client, body):
    """Pages take HTML forms only: any JSON body to a write is refused before a form reads it."""
    questionnaire, _fields, path = target
    before = db.session.execute(db.select(db.func.count(Response.id))).scalar()
    response = client.post(path, data=body, content_type="application/json")
    assert response.status_code == 400
    assert db.session.execute(db.select(db.func.count(Response.id))).scalar() == before
