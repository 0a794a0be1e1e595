"""Times in exported files: stored in UTC, written on the project's clock (北京时间) and labelled so.

Every stored time (``Response.submitted_at``, ``ReviewEvent.created_at`` …) is naive UTC. Desk pages
show them through Flask-Babel in ``BABEL_DEFAULT_TIMEZONE``; every file a person takes away (text
and code CSVs, .sav, .dta, the review log, the PDF report) goes through this one module, so it shows
the same clock as the pages and says which clock it is ("提交时间（北京时间）").

The conversion is plain ``zoneinfo``; ``export_zone`` reads the app's setting when an app is running
and falls back to Asia/Shanghai, so scripts and tests can call everything here without an app.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context
from flask_babel import lazy_gettext as _l

DEFAULT_ZONE = "Asia/Shanghai"
BEIJING_ZONES = frozenset({"Asia/Shanghai", "Asia/Chongqing", "Asia/Chungking", "Asia/Harbin", "PRC"})
TIME_PATTERN = "%Y-%m-%d %H:%M:%S"
DISPLAY_TIME = "yyyy-MM-dd HH:mm:ss"  # how pages show times (Babel's pattern); files use TIME_PATTERN, labelled


def export_zone() -> str:
    """The zone exports are written in: the app's ``BABEL_DEFAULT_TIMEZONE`` (Asia/Shanghai by default)."""
    if has_app_context():
        return current_app.config.get("BABEL_DEFAULT_TIMEZONE") or DEFAULT_ZONE
    return DEFAULT_ZONE


def to_local(moment: dt.datetime | None, zone: str | None = None) -> dt.datetime | None:
    """A stored time (naive means UTC; an aware one is converted) as the wall-clock time in ``zone``, naive."""
    if moment is None:
        return None
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)
    return aware.astimezone(ZoneInfo(zone or export_zone())).replace(tzinfo=None)


def local_text(moment: dt.datetime | None, zone: str | None = None, pattern: str = TIME_PATTERN) -> str:
    """``to_local`` as text ("2024-05-01 08:30:00"); "" for no time."""
    local = to_local(moment, zone)
    return "" if local is None else local.strftime(pattern)


def utc_offset(zone: str | None = None, moment: dt.datetime | None = None) -> str:
    """The zone's offset from UTC at ``moment`` (now by default): "UTC+8", "UTC-3:30", "UTC"."""
    moment = moment or dt.datetime.now(dt.UTC)
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)
    offset = aware.astimezone(ZoneInfo(zone or export_zone())).utcoffset() or dt.timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    if minutes == 0:
        return "UTC"
    sign, minutes = ("+" if minutes > 0 else "-"), abs(minutes)
    hours, rest = divmod(minutes, 60)
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")


def zone_name(zone: str | None = None) -> str:
    """How a label names the zone: “北京时间” for China's zone, else the zone's offset ("UTC+7")."""
    zone = zone or export_zone()
    return str(_l("北京时间")) if zone in BEIJING_ZONES else utc_offset(zone)


def time_label(what: str, zone: str | None = None, offset: bool = False) -> str:
    """A time column's title with its zone: “提交时间（北京时间）”, with ``offset`` “提交时间（北京时间，UTC+8）”.

    ``offset`` suits a variable label read by software used outside China (SPSS, Stata).
    """
    zone = zone or export_zone()
    name = zone_name(zone)
    if offset and zone in BEIJING_ZONES:
        name = str(_l("%(zone)s，%(offset)s", zone=name, offset=utc_offset(zone)))
    return str(_l("%(what)s（%(zone)s）", what=what, zone=name))


def time_variable(zone: str | None = None, stem: str = "submitted") -> str:
    """A statistics-package variable name that carries the zone: "submitted_utc8", "submitted_utcm3_30".

    A CSV of codes has no variable labels, so the name itself says which clock its times are on.
    """
    offset = utc_offset(zone).lower().replace("+", "").replace("-", "m").replace(":", "_")
    return f"{stem}_{offset}"
