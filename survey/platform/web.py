"""Cross-cutting web concerns: error pages, security headers, language choice (the domain's template helpers are
registered by ``survey.projects.templating``)."""

from __future__ import annotations

import logging
import math

from flask import (
    Flask,
    Request,
    current_app,
    g,
    has_request_context,
    jsonify,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from flask.json.provider import DefaultJSONProvider
from flask.sessions import SecureCookieSessionInterface
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import BadRequest, MethodNotAllowed, NotFound, RequestEntityTooLarge
from werkzeug.routing import IntegerConverter, Map

from analysis.numbers import LARGEST_INTEGER, finite_data
from survey.platform import static_files
from survey.platform.errors import Refused
from survey.platform.extensions import chosen_language, db, login_manager

# No inline script, no inline style attribute, nothing from another origin. ``worker-src`` names the
# proof-of-work worker (static/js/pow.js). Framing: only by our own pages (the builder shows the phone
# preview in an iframe), the same rule as X-Frame-Options: SAMEORIGIN for browsers without CSP level 2.
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; worker-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'self'"
)
# Powerful features no page here uses: a script injected one day still cannot reach them.
# Only features Chromium knows: an unknown one (e.g. bluetooth) puts a warning on every page's console.
PERMISSIONS_POLICY = (
    "camera=(), microphone=(), geolocation=(), payment=(), usb=(), serial=(), "
    "accelerometer=(), gyroscope=(), magnetometer=(), midi=(), display-capture=()"
)
HSTS = "max-age=31536000"


LOG = logging.getLogger(__name__)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


# Every id column is a 32-bit INTEGER: a larger id names no row, and PostgreSQL answered one with an error.
LARGEST_ID = LARGEST_INTEGER


def at_most_pattern(largest: int) -> str:
    """A regular expression for the whole numbers 0…``largest`` (leading zeros allowed, as ``int`` has them).

    ``at_most_pattern(2147483647)``: up to nine digits, or ten digits that stay at or below 2147483647,
    digit by digit (``[0-1]\\d{9}``, ``2[0-0]\\d{8}``, …, ``214748364[0-6]``, ``2147483647``).
    """
    digits = str(largest)
    choices = [rf"\d{{1,{len(digits) - 1}}}"] if len(digits) > 1 else []
    for index, digit in enumerate(digits):
        if digit != "0":
            rest = len(digits) - index - 1
            choices.append(digits[:index] + f"[0-{int(digit) - 1}]" + (rf"\d{{{rest}}}" if rest else ""))
    choices.append(digits)
    return "0*(?:" + "|".join(choices) + ")"


def database_int(map: Map, fixed_digits: int = 0, min: int | None = None, max: int | None = None, signed=False):
    """``<int:…>`` in every route: a whole number a database INTEGER can hold (below 2³¹), else no match.

    ``/desk/questionnaires/2147483648`` failed with a server error on PostgreSQL ("integer out of range")
    in every view that looked the id up; a number no row can have is a page that does not exist (404).
    The bound is in the pattern, not only in ``to_python``: werkzeug answers a value its converter refuses
    with 405 when another rule of the same path takes another method, as if the address existed. Still
    werkzeug's ``IntegerConverter`` (what route listings look for), made by this function.
    """
    low = min if min is not None else (-LARGEST_ID - 1 if signed else None)
    high = LARGEST_ID if max is None else max
    converter = IntegerConverter(map, fixed_digits, low, high, signed)
    if not fixed_digits and not signed and high >= 0:
        converter.regex = at_most_pattern(high)
    return converter


class SurveyMap(Map):
    """The URL map, with ``int`` bounded to database ids (``database_int``)."""

    default_converters = {**Map.default_converters, "int": database_int}


class FiniteJSONProvider(DefaultJSONProvider):
    """JSON that is always JSON: a non-finite float (NaN, infinity) is written as ``null``.

    Python's ``json`` writes ``Infinity`` and ``NaN``, which no JSON parser reads: one infinite statistic
    made the API's answer unreadable and stopped every chart of the results page. Figures that can be
    infinite are made ``null`` with a reason where they are computed (``survey.results.results_json``); this is the
    net under everything else (``jsonify``, the ``tojson`` filter), and it says so in the log.
    """

    def dumps(self, obj, **kwargs) -> str:
        kwargs.setdefault("allow_nan", False)
        try:
            return super().dumps(obj, **kwargs)
        except ValueError as error:
            if "Out of range float" not in str(error):
                raise
        LOG.warning("non-finite number in JSON for %s; written as null", request.path if has_request_context() else "-")
        kwargs["default"] = lambda value: finite_data(self.default(value))
        return super().dumps(finite_data(obj), **kwargs)


class SurveyFlask(Flask):
    """Flask, with the check whether a view or hook is a coroutine made once per function, and reads
    run once more when the database dropped their connection.

    Flask asks ``inspect.iscoroutinefunction`` of every hook and view on every request (about a dozen
    times for a respondent's page view); the answer never changes for a function, so it is kept.
    """

    def full_dispatch_request(self):
        """Serve the request; a read whose pooled connection turns out dead is served once more.

        Pooled connections are pinged only after lying idle (``survey.platform.extensions.ping_after_idle``), so one
        the database dropped while in recent use (a restart, a failover) fails on its first statement, and
        SQLAlchemy then reopens every older connection of the pool. A GET changes nothing, so serving it
        again, hooks and all, on a new session is safe. A form's POST is not repeated: it may have been
        committed just before the connection went. The respondent's submission, which carries its own
        idempotency key, is repeated by its view (``survey.respond.arrivals.once_more_if_disconnected``).
        """
        try:
            return super().full_dispatch_request()
        except DBAPIError as error:
            if not error.connection_invalidated or request.method not in SAFE_METHODS:
                raise
            LOG.warning("database connection lost during %s %s; served once more", request.method, request.path)
            db.session.remove()
            g.pop("_login_user", None)  # loaded through the session just removed
            g.served_once_more = (
                True  # error handlers answer a second failure themselves (``survey.respond.public_views``)
            )
            return super().full_dispatch_request()

    url_map_class = SurveyMap
    json_provider_class = FiniteJSONProvider

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._sync_functions: dict = {}

    def send_static_file(self, filename: str):
        """A static file; asked for by its current fingerprint (``survey.platform.static_files``), cached for a year."""
        response = super().send_static_file(filename)
        if static_files.fingerprinted(filename):
            static_files.cache_for_good(response)
        return response

    def ensure_sync(self, func):
        try:
            return self._sync_functions[func]
        except KeyError:
            sync = self._sync_functions[func] = super().ensure_sync(func)
            return sync
        except TypeError:  # an unhashable callable: asked every time, as Flask does
            return super().ensure_sync(func)


class SurveyRequest(Request):
    """A request whose form values carry no NUL characters.

    Nobody types one, a page cannot show one, and PostgreSQL refuses to store one in a text column; left
    in, a pasted or forged NUL turned an ordinary save (a questionnaire title, a project name) into a 500 on
    PostgreSQL only. Removing it once here covers every form, present and future.
    """

    def _load_form_data(self) -> None:
        super()._load_form_data()
        form = self.__dict__.get("form")
        if form and any("\x00" in value for _key, value in form.items(multi=True)):
            cleaned = [(key, value.replace("\x00", "")) for key, value in form.items(multi=True)]
            self.__dict__["form"] = self.parameter_storage_class(cleaned)


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, with the signing serializer built once per key instead of per call.

    Flask builds a new serializer each time a session is opened or saved (twice for a respondent's page
    view alone); it holds nothing but the keys and settings, so one per set of keys serves every thread.
    A changed ``SECRET_KEY`` or fallback list gets a serializer of its own.
    """

    def __init__(self) -> None:
        self._serializers: dict[tuple, object] = {}

    def get_signing_serializer(self, app: Flask):
        keys = (app.secret_key, tuple(app.config["SECRET_KEY_FALLBACKS"] or ()))
        serializer = self._serializers.get(keys)
        if serializer is None:
            serializer = self._serializers[keys] = super().get_signing_serializer(app)
        return serializer

    def save_session(self, app: Flask, session, response) -> None:
        """Nothing to write for a session that is empty and was never changed (every respondent's page):
        answer that before working out the cookie's seven attributes from the config, as Flask does first.
        The ``Vary: Cookie`` a read session needs is still added."""
        if not session and not session.modified:
            if session.accessed:
                response.vary.add("Cookie")
            return
        super().save_session(app, session, response)


WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _refuse_json_writes() -> None:
    """Every page takes HTML forms only; a JSON body gets the plain 400 page.

    Flask-WTF reads a JSON body as the form and failed with a 500 on anything but an object (a body of
    ``0`` was enough); nothing of ours sends JSON, and the read API only answers GETs.
    """
    if request.method in WRITE_METHODS and request.is_json:
        raise BadRequest()


def _refuse_nul() -> None:
    """A NUL character in the path is no page (404); in the query string, a request we cannot read (400).

    PostgreSQL refuses NUL in text, so ``/s/%00`` or ``/u/abc%00def`` failed with a server error when the
    link was looked up. Nobody types one; refusing it here covers every route, present and future. (Form
    values are cleaned instead: ``SurveyRequest``.)
    """
    if "\x00" in request.path:
        raise NotFound()
    if request.query_string and any("\x00" in k or "\x00" in v for k, v in request.args.items(multi=True)):
        raise BadRequest()


def finite_number(value) -> bool:
    """Jinja's ``is finite``: a number that can be shown (not None, NaN or infinity)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def init_web(app: Flask) -> None:
    """Register handlers, headers and template helpers on ``app``."""
    app.request_class = SurveyRequest
    app.session_interface = SessionInterface()
    app.before_request(_refuse_nul)
    app.before_request(_refuse_json_writes)
    login_manager.login_message = _l("请先登录。")
    app.register_error_handler(404, _not_found)
    app.register_error_handler(MethodNotAllowed, _method_not_allowed)
    app.register_error_handler(Refused, _refused)
    app.register_error_handler(CSRFError, _csrf_failed)
    app.register_error_handler(BadRequest, _bad_request)
    app.register_error_handler(RequestEntityTooLarge, _too_large)
    app.register_error_handler(500, _server_error)
    app.after_request(_security_headers)
    app.after_request(_remember_language)
    app.add_url_rule("/", "index", lambda: redirect(url_for("desk.projects")))
    app.add_url_rule("/healthz", "healthz", lambda: {"status": "ok"})
    app.add_url_rule("/favicon.ico", "favicon", _favicon)
    static_files.init_app(app)
    app.jinja_env.globals.update(current_locale=lambda: str(get_locale()))
    app.jinja_env.tests["finite"] = finite_number
    app.jinja_env.globals.update(has_endpoint=lambda name: name in current_app.view_functions)


FAVICON_AGE = 7 * 24 * 3600  # browsers ask for /favicon.ico by that name, so it cannot carry a fingerprint


def _favicon():
    """The icon browsers fetch from ``/favicon.ico`` unasked (pages link the fingerprinted one as well)."""
    response = send_from_directory(current_app.static_folder, "favicon.ico", max_age=FAVICON_AGE)
    response.cache_control.public = True
    return response


def _phone_or_desk() -> str:
    """Respondent pages get the phone layout for errors too; everything else the desk layout."""
    return "base_phone.html" if request.blueprint == "public" else "base_desk.html"


def _api_request() -> bool:
    """Whether the failed request was for the read API, which answers in JSON, errors included."""
    return request.path.startswith("/api/")


def _api_error(message: str, status: int):
    """An error as the API gives it: ``{"error": message}``."""
    response = jsonify({"error": message})
    response.status_code = status
    return response


def _not_found(_error):
    if _api_request():
        return _api_error(_("找不到这个地址。"), 404)
    body = render_template(
        "errors/message.html",
        layout=_phone_or_desk(),
        title=_("页面不存在"),
        message=_("找不到这个页面。请检查链接或二维码是否完整；如果是问卷链接，它可能还没有发布。"),
    )
    return body, 404


def _refused(error: Refused):
    """A respondent turned away by a rule (closed, full, already answered): say why, plainly."""
    body = render_template("errors/message.html", layout="base_phone.html", title=error.title, message=error.message)
    return body, error.status


def _message_page(title: str, message: str, status: int):
    """A plain error page in the phone or desk layout, whichever the failed request came from; JSON for the API."""
    if _api_request():
        return _api_error(message, status)
    return render_template("errors/message.html", layout=_phone_or_desk(), title=title, message=message), status


def _csrf_failed(error: CSRFError):
    message = _("页面停留时间过长或已在别处退出，安全校验未通过。请返回上一页刷新后再试。")
    return _message_page(_("请求已失效"), message, 400)


def _bad_request(_error):
    """A request the server cannot read (a broken form or upload): say so instead of Werkzeug's English page."""
    return _message_page(_("请求无法处理"), _("提交的内容格式不正确，没有保存。请返回上一页刷新后再试。"), 400)


def _method_not_allowed(error: MethodNotAllowed):
    """A method the address does not take (a POST to the read API, say): said plainly, ``Allow`` kept."""
    response = current_app.make_response(_message_page(_("请求方式不对"), _("这个地址不接受这种请求方式。"), 405))
    response.headers["Allow"] = ", ".join(sorted(error.valid_methods or ()))
    return response


def _too_large(_error):
    """Over ``MAX_CONTENT_LENGTH`` (or too many form fields): nothing was read or stored."""
    limit = current_app.config.get("MAX_CONTENT_LENGTH") or 0
    message = _(
        "提交的内容超过了 %(size)s MB 的上限，没有保存。如果是导入文件，请拆分成几个较小的文件后再上传。",
        size=f"{limit / 1024 / 1024:g}",
    )
    return _message_page(_("提交的内容太大"), message, 413)


def _server_error(_error):
    return _message_page(_("出错了"), _("服务器暂时出了问题，您的操作没有完成。请稍后再试。"), 500)


def _security_headers(response):
    """Headers every page carries: no framing by others, no sniffing, no leaking of survey links as referrers.

    HSTS only over HTTPS (``request.is_secure``, which ProxyFix makes true behind a TLS proxy): sent over
    plain HTTP it would be ignored, and an intranet served over HTTP must keep working. A header a view set
    itself is kept. (Added in one pass: a lookup per header, each raising inside Werkzeug when absent,
    cost more than the rest of a page view's hooks.)
    """
    present = {name.lower() for name, _value in response.headers.items()}
    wanted = SECURITY_HEADERS_HTTPS if request.is_secure else SECURITY_HEADERS
    response.headers.extend([header for header in wanted if header[0].lower() not in present])
    return response


SECURITY_HEADERS = (
    ("Content-Security-Policy", CSP),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),
    ("X-Frame-Options", "SAMEORIGIN"),
    ("Permissions-Policy", PERMISSIONS_POLICY),
    ("Cross-Origin-Opener-Policy", "same-origin"),
    ("Cross-Origin-Resource-Policy", "same-origin"),
)
SECURITY_HEADERS_HTTPS = (*SECURITY_HEADERS, ("Strict-Transport-Security", HSTS))


def _remember_language(response):
    """A ``?lang=`` choice sticks for later pages via a cookie."""
    from flask import current_app

    chosen = chosen_language()
    if chosen in current_app.config["LANGUAGES"]:
        response.set_cookie("lang", chosen, max_age=365 * 24 * 3600, samesite="Lax", httponly=True)
    return response
