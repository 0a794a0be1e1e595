"""Rate limits on the public links, the sign-in form and the read API (Flask-Limiter), and what a refused request gets.

A poster's QR code invites ballot stuffing, so submissions are limited per link (one questionnaire,
channel or unit code) and per device; the sign-in form is limited per client against password guessing;
the read API per token (a runaway report script cannot starve the service), and requests without a
token per client (no guessing tokens at speed).
Counts live in ``RATELIMIT_STORAGE_URI``: memory for the embedded single-process default, Redis when
several app servers must share them. Keys are keyed hashes (``survey.platform.hashing.keyed_hash``), never a raw IP.

Each app gets its own ``Limiter``: Flask-Limiter keeps the storage and the on/off switch on the
instance, so one module-level object shared by several apps in a process (tests, two servers) would count
every app's requests in the last app's storage. The limits are attached here, after the blueprints are
registered, by wrapping the view functions of the named endpoints, so ``survey/respond/public_views.py`` stays free of
limiter details.
"""

from __future__ import annotations

from flask import Flask, current_app, jsonify, render_template, request
from flask_babel import gettext as _
from flask_limiter import Limiter
from flask_limiter.errors import RateLimitExceeded

from survey.platform import device
from survey.platform.hashing import keyed_hash

SUBMIT_ENDPOINTS = ("public.submit", "public.submit_unit")
FORM_ENDPOINTS = ("public.respond", "public.respond_unit")
LOGIN_ENDPOINT = "auth.login"
API_BLUEPRINT = "api"
EXTENSION_KEY = "survey_limiter"


def client_key() -> str:
    """The client's address as a keyed hash (the proxy's view of it only when PROXY_FIX_HOPS trusts it)."""
    return "ip:" + (keyed_hash("ip", request.remote_addr) or "unknown")


def device_key() -> str:
    """One phone: its device cookie if it has a signed one, else its address; both hashed, as stored answers are.

    A made-up or unsigned cookie (``survey.platform.device``) counts as none: a script inventing a new value for
    every request is one client, not a new device each time.
    """
    cookie = device.token()
    if cookie:
        return "device:" + (keyed_hash("device", cookie) or "")
    return client_key()


def link_key() -> str:
    """The public token or unit code in the URL: one poster's QR code, one questionnaire link."""
    args = request.view_args or {}
    return "link:" + str(args.get("token") or args.get("code") or "")


def api_key() -> str:
    """One API token (its keyed hash); a request without a bearer token counts against its client."""
    header = request.headers.get("Authorization", "")
    scheme, _space, secret = header.partition(" ")
    if scheme.lower() == "bearer" and secret.strip():
        return "api:" + (keyed_hash("api", secret.strip()) or "")
    return client_key()


def _setting(name: str):
    """A limit read at request time, so a test or an operator can change it without rebuilding the app."""
    return lambda: current_app.config[name]


def init_limits(app: Flask) -> Limiter | None:
    """Attach a fresh limiter with the configured limits to ``app``; the 429 page is registered either way."""
    app.register_error_handler(RateLimitExceeded, _too_many_requests)
    if not app.config["RATELIMIT_ENABLED"]:
        return None
    # A Redis outage must not turn a citizen's submission into an error page: count in memory meanwhile.
    app.config.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)
    app.config.setdefault("RATELIMIT_SWALLOW_ERRORS", True)
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    limiter = Limiter(key_func=client_key)
    limiter.init_app(app)
    app.extensions[EXTENSION_KEY] = limiter
    _limit(app, SUBMIT_ENDPOINTS, _submission_limits(limiter))
    _limit(app, FORM_ENDPOINTS, _form_limits(limiter))
    _limit(app, (LOGIN_ENDPOINT,), [limiter.limit(_setting("RATELIMIT_LOGIN"), methods=["POST"])])
    # On the blueprint, so the limits count before the API's own token check answers 401: per token (a
    # runaway script), and per client whatever the token (a guesser varies the token on every request).
    api = app.blueprints[API_BLUEPRINT]
    limiter.limit(_setting("RATELIMIT_API"), key_func=api_key)(api)
    limiter.limit(_setting("RATELIMIT_API_PER_CLIENT"), key_func=client_key)(api)
    return limiter


def _submission_limits(limiter: Limiter) -> list:
    """Per link, per device and per address; shared scopes so /s/ and /u/ submissions count together."""
    post = ["POST"]
    return [
        limiter.shared_limit(_setting("RATELIMIT_PER_QUESTIONNAIRE"), "submit-link", key_func=link_key, methods=post),
        limiter.shared_limit(_setting("RATELIMIT_PER_DEVICE"), "submit-device", key_func=device_key, methods=post),
        limiter.shared_limit(_setting("RATELIMIT_PER_CLIENT"), "submit-client", key_func=client_key, methods=post),
    ]


def _form_limits(limiter: Limiter) -> list:
    """Opening the form: looser limits that still stop a script from hammering the page."""
    get = ["GET"]
    return [
        limiter.shared_limit(_setting("RATELIMIT_FORM_PER_QUESTIONNAIRE"), "form-link", key_func=link_key, methods=get),
        limiter.shared_limit(_setting("RATELIMIT_FORM_PER_DEVICE"), "form-device", key_func=device_key, methods=get),
    ]


def _limit(app: Flask, endpoints: tuple[str, ...], decorators: list) -> None:
    """Wrap each endpoint's view in the limit decorators; a renamed endpoint must not go unlimited silently."""
    for endpoint in endpoints:
        view = app.view_functions.get(endpoint)
        if view is None:
            raise RuntimeError(f"rate limits name the endpoint {endpoint!r}, which no longer exists")
        for decorator in decorators:
            view = decorator(view)
        app.view_functions[endpoint] = view


def _too_many_requests(error: RateLimitExceeded):
    """A plain page saying wait a minute; on a refused submission, how to get back to the kept answers.

    The limiter refuses before the view runs, so the form cannot be shown again with the answers here;
    the browser's own page (reached with "back") still holds them, and the respondent page keeps a draft.
    """
    if request.blueprint == API_BLUEPRINT:
        response = jsonify({"error": _("请求太频繁：这个 API 令牌在一分钟内的请求次数已达上限，请稍后再试。")})
        response.status_code = 429
        response.headers.setdefault("Retry-After", "60")
        return response
    public = request.blueprint == "public"
    back_url = None
    if public and request.method == "POST":
        title = _("提交太频繁，请稍等一分钟")
        message = _(
            "为防止重复刷票，同一部手机或同一个问卷链接在短时间内的提交次数有限制。您填写的答案没有丢失："
            "请按手机的“返回”键回到问卷页面，答案仍在页面上；等待一分钟后再点“提交”。"
        )  # no link: opening the form afresh would show an empty form; "back" returns to the filled one
    elif public:
        title = _("访问太频繁，请稍等一分钟")
        message = _("短时间内打开问卷的次数过多。请等待一分钟后再打开问卷。")
        back_url = request.path
    else:
        title = _("操作太频繁，请稍等一分钟")
        message = _("短时间内尝试的次数过多。请等待一分钟后再试。")
    layout = "base_phone.html" if public else "base_desk.html"
    body = render_template("errors/too_many.html", layout=layout, title=title, message=message, back_url=back_url)
    response = current_app.make_response((body, 429))
    response.headers.setdefault("Retry-After", "60")
    return response
