"""The English catalog covers every message in the source, and the committed .mo matches it.

The msgids are Chinese (zh_Hans_CN is the default locale and needs no catalog); English must be
complete. Nothing here needs a database or an app: the messages are re-extracted from the source
with the same mapping (``babel.cfg``) and keywords (``scripts/i18n.sh``) the catalog is built with.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_keywords, parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
MAPPING = ROOT / "babel.cfg"
SCRIPT = ROOT / "scripts" / "i18n.sh"
PO = ROOT / "translations" / "en" / "LC_MESSAGES" / "messages.po"
MO = PO.with_suffix(".mo")

HOW_TO_FIX = (
    "Run scripts/i18n.sh, give every empty or '#, fuzzy' entry in "
    "translations/en/LC_MESSAGES/messages.po a real English translation (and remove the fuzzy flag), "
    "then run scripts/i18n.sh again so messages.mo is rebuilt."
)

# %(name)s, %(n)d, %s, %5.1f ... and the literal %% (kept separate: it is not a placeholder).
FORMAT_TOKEN = re.compile(
    r"%(?:\((?P<name>[^)]*)\))?"  # optional mapping key
    r"[#0 +-]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[hlL]?"  # flags, width, precision, length
    r"(?P<conv>[^%]|%)?"  # conversion; "%%" is the literal percent sign
)


def _key(message_id: str | tuple[str, ...]) -> str:
    return message_id[0] if isinstance(message_id, tuple | list) else message_id


def _forms(value: str | tuple[str, ...] | list[str]) -> tuple[str, ...]:
    return tuple(value) if isinstance(value, tuple | list) else (value,)


def _fail(problems: list[str], what: str) -> None:
    if problems:
        listing = "\n  ".join(problems)
        pytest.fail(f"{what} ({len(problems)}):\n  {listing}\n\n{HOW_TO_FIX}", pytrace=False)


@cache
def _keywords() -> dict:
    """Babel's default keywords plus the ``-k`` ones of scripts/i18n.sh (its ``KEYWORDS=(...)`` line)."""
    found = re.search(r"^KEYWORDS=\((.*)\)\s*$", SCRIPT.read_text(encoding="utf-8"), re.MULTILINE)
    assert found, f"{SCRIPT.relative_to(ROOT)} must define the extraction keywords as KEYWORDS=(-k ... )"
    extra = re.findall(r"-k\s+(\S+)", found.group(1))
    assert extra, "KEYWORDS=(...) in scripts/i18n.sh lists no -k keyword"
    return {**DEFAULT_KEYWORDS, **parse_keywords(extra)}


@cache
def _extracted() -> dict[tuple[str | None, str | tuple[str, ...]], list[str]]:
    """Every message in the source, as (context, msgid) -> the places it occurs."""
    with MAPPING.open(encoding="utf-8") as fileobj:
        method_map, options_map = parse_mapping_cfg(fileobj, str(MAPPING))
    current: list[str] = []
    messages: dict[tuple[str | None, str | tuple[str, ...]], list[str]] = {}
    try:
        for filename, lineno, message, _comments, context in extract_from_dir(
            str(ROOT),
            method_map,
            options_map,
            keywords=_keywords(),
            callback=lambda filename, _method, _options: current.append(filename),
        ):
            if not _key(message):
                continue
            messages.setdefault((context, message), []).append(f"{filename}:{lineno}")
    except Exception as error:  # a template that does not parse (babel.cfg sets silent = false)
        where = current[-1] if current else "?"
        pytest.fail(f"message extraction failed in {where}: {error!r}", pytrace=False)
    return messages


def _read_po() -> Catalog:
    with PO.open("rb") as fileobj:
        return read_po(fileobj)


def _read_mo() -> Catalog:
    with MO.open("rb") as fileobj:
        return read_mo(fileobj)


def _compiled(catalog: Catalog) -> dict[tuple[str | None, tuple[str, ...]], tuple[str, ...]]:
    """msgid -> msgstr of the entries a .mo holds: translated, not fuzzy, header excluded."""
    table = {}
    for message in catalog:
        if not message.id or message.fuzzy or not message.string:
            continue
        context = message.context.decode() if isinstance(message.context, bytes) else message.context
        table[(context, _forms(message.id))] = _forms(message.string)
    return table


def _format_tokens(text: str) -> tuple[set[str], int, list[str]]:
    """Placeholders of a format string, how many literal ``%%`` it has, and any stray ``%``."""
    placeholders, literal, stray = set(), 0, []
    for match in FORMAT_TOKEN.finditer(text):
        token = match.group(0)
        if token == "%%":
            literal += 1
        elif match.group("conv") is None or match.group("conv") not in "diouxXeEfFgGcrsa":
            stray.append(token)
        else:
            placeholders.add(token)
    return placeholders, literal, stray


def test_catalog_files_exist():
    for path in (MAPPING, SCRIPT, PO, MO):
        assert path.is_file(), f"{path.relative_to(ROOT)} is missing. {HOW_TO_FIX}"


def test_every_source_message_has_an_english_translation():
    """(a) Each msgid in the source has a non-empty, non-fuzzy English msgstr in the .po."""
    catalog = _read_po()
    assert str(catalog.locale) == "en", f"{PO.relative_to(ROOT)} is for {catalog.locale}, not en"
    assert not catalog.fuzzy, (
        f"The header of {PO.relative_to(ROOT)} is marked '#, fuzzy', so pybabel compile skips the whole "
        "catalog. Remove that flag once the translations are reviewed."
    )
    extracted = _extracted()
    assert extracted, "no messages were extracted from the source: check babel.cfg"
    problems = []
    for (context, msgid), places in sorted(extracted.items(), key=lambda item: item[1][0]):
        where = places[0] + (f" (+{len(places) - 1} more)" if len(places) > 1 else "")
        entry = catalog.get(_key(msgid), context=context)
        label = " | ".join(_forms(msgid))
        if entry is None:
            problems.append(f"{where}: not in the catalog: {label!r}")
        elif _forms(entry.id) != _forms(msgid):
            problems.append(f"{where}: catalog entry is out of date (singular/plural changed): {label!r}")
        elif entry.fuzzy:
            problems.append(f"{where}: translation is fuzzy: {label!r}")
        elif not all(form.strip() for form in _forms(entry.string)):
            problems.append(f"{where}: no English translation: {label!r}")
    _fail(problems, "Messages without a usable English translation")


def test_compiled_mo_matches_po():
    """(b) The committed .mo holds exactly the .po's translations."""
    po, mo = _read_po(), _read_mo()
    expected, compiled = _compiled(po), _compiled(mo)
    problems = [f"only in the .po: {' | '.join(key[1])!r}" for key in expected.keys() - compiled.keys()]
    problems += [f"only in the .mo: {' | '.join(key[1])!r}" for key in compiled.keys() - expected.keys()]
    problems += [
        f"{' | '.join(key[1])!r}: .po says {expected[key]!r}, .mo says {compiled[key]!r}"
        for key in expected.keys() & compiled.keys()
        if expected[key] != compiled[key]
    ]
    if po.plural_forms != mo.plural_forms:
        problems.append(f"Plural-Forms: .po {po.plural_forms!r}, .mo {mo.plural_forms!r}")
    _fail(sorted(problems), "messages.mo is out of sync with messages.po")


def test_translations_keep_the_placeholders():
    """(c) A translation has the same %(name)s placeholders and literal %% as its msgid, nothing stray."""
    problems = []
    for message in _read_po():
        if not message.id or not message.string:
            continue
        sources = _forms(message.id)
        for index, translation in enumerate(_forms(message.string)):
            if not translation:
                continue
            source = sources[min(index, len(sources) - 1)]
            want, want_literal, _ = _format_tokens(source)
            got, got_literal, stray = _format_tokens(translation)
            if want != got:
                problems.append(f"{source!r} -> {translation!r}: placeholders {sorted(want)} != {sorted(got)}")
            if want_literal != got_literal:
                problems.append(
                    f"{source!r} -> {translation!r}: {want_literal} literal '%%' in the msgid, "
                    f"{got_literal} in the translation"
                )
            if stray:
                problems.append(f"{source!r} -> {translation!r}: stray % in the translation: {stray}")
    _fail(problems, "Translations whose placeholders differ from the msgid")
