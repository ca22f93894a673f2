"""The patients' pages in English or Spanish: gettext catalogues through Flask-Babel.

The language comes from, in order: a ``?lang=`` link (the visible switch, no JavaScript needed), the
cookie that switch sets, then the browser's ``Accept-Language``. The cookie holds only "en" or "es".
"""

from __future__ import annotations

from flask import Flask, Response, request
from flask_babel import Babel, get_locale  # type: ignore[import-untyped]

LANGUAGES = ("en", "es")
DEFAULT_LANGUAGE = "en"
LANGUAGE_PARAMETER = "lang"
LANGUAGE_COOKIE = "lang"
COOKIE_MAX_AGE = (
    365 * 24 * 3600
)  # a year: a parent who reads Spanish should not have to choose again


def init_i18n(app: Flask) -> None:
    """Attach Flask-Babel with our locale choice, and remember a choice made with the switch."""
    Babel(app, locale_selector=chosen_language)
    # Whitespace inside {% trans %} blocks is folded, so the catalogue holds clean sentences.
    app.jinja_env.policies["ext.i18n.trimmed"] = True
    app.jinja_env.add_extension("jinja2.ext.do")  # lists of translated phrases, joined in words
    app.jinja_env.globals["page_language"] = page_language
    app.after_request(_remember_choice)


def chosen_language() -> str:
    """The switch's choice, then the remembered one, then the browser's preference, else English."""
    asked = request.args.get(LANGUAGE_PARAMETER)
    if asked in LANGUAGES:
        return asked
    remembered = request.cookies.get(LANGUAGE_COOKIE)
    if remembered in LANGUAGES:
        return remembered
    return request.accept_languages.best_match(LANGUAGES, default=DEFAULT_LANGUAGE)


def page_language() -> str:
    """The language the page is written in: for ``<html lang>`` and the switch."""
    locale = get_locale()
    return locale.language if locale is not None else DEFAULT_LANGUAGE


def _remember_choice(response: Response) -> Response:
    asked = request.args.get(LANGUAGE_PARAMETER)
    if asked in LANGUAGES and asked != request.cookies.get(LANGUAGE_COOKIE):
        response.set_cookie(
            LANGUAGE_COOKIE,
            asked,
            max_age=COOKIE_MAX_AGE,
            samesite="Lax",
            httponly=True,
            secure=request.is_secure,
        )
    if response.mimetype == "text/html":
        response.vary.update(("Accept-Language", "Cookie"))
    return response
