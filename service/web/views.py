"""Web routes. Thin: read the form, one call into the check, render a template; words live there."""

from __future__ import annotations

import uuid

from flask import Response, render_template, request
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError

from ..appctx import database, snapshots
from ..checking import CheckRequest, ServiceUnavailable, check_and_log
from ..domain.check import CheckContext, MedicationInput
from ..domain.severity import Severity
from ..rate_limiting import RateLimited, with_retry_after
from . import blueprint, forms
from .forms import MedicineForm, read_corrections, read_form
from .i18n import page_language
from .presenting import SEVERITIES, ResultView, result_view
from .security import protect_form_posts

blueprint.before_request(protect_form_posts)


@blueprint.context_processor
def limits() -> dict[str, object]:
    """The input limits, so the templates can state them and set ``maxlength``."""
    return {
        "max_medicines": forms.MAX_MEDICINES,
        "max_name_chars": forms.MAX_NAME_CHARS,
        "min_age": forms.MIN_AGE,
        "max_age": forms.MAX_AGE,
        "severities": [s.value for s in SEVERITIES],
    }


@blueprint.get("/")
def form_page() -> str:
    """An empty form: no account, nothing remembered from earlier visits."""
    return render_template("web/form.html", form=MedicineForm())


@blueprint.post("/")
def submit() -> ResponseReturnValue:
    """Check the list, or (without JavaScript) add a field, edit the list, or take suggestions."""
    form = read_form(request.form)
    corrections = read_corrections(request.form)
    action = request.form.get("action", "check")
    if corrections:
        form = form.corrected(corrections)
    elif action == "add":
        return render_template("web/form.html", form=form.with_another_field(), focus_last=True)
    elif action == "edit":
        return render_template("web/form.html", form=form.for_editing())
    if form.errors:
        return render_template("web/form.html", form=form), 422
    return render_template("web/result.html", form=form, result=_check(form))


@blueprint.post("/card")
def wallet_card() -> ResponseReturnValue:
    """The result as a one-page card to print or save as PDF and show a pharmacist.

    The list comes in the post, as on the result page, and is checked again (and logged again):
    nothing about a check is kept where a later request could read it back.
    """
    form = read_form(request.form)
    if form.errors:
        return render_template("web/form.html", form=form), 422
    return render_template("web/card.html", form=form, result=_check(form))


def _check(form: MedicineForm) -> ResultView:
    """One logged check of the form's list, as the page shows it (``ServiceUnavailable`` fails
    closed: see ``not_checked_now``)."""
    check_request = CheckRequest(
        raw_items=list(form.checked_items),
        items=[MedicationInput(text=text) for text in form.checked_items],
        context=CheckContext(patient_age=form.age),
        min_severity=None,
        # Only what was asked: no address, no cookie, no caller.
        raw_request={
            "medications": list(form.entered),
            "drinks_alcohol": form.drinks_alcohol,
            "age": form.age,
        },
    )
    answer = check_and_log(
        database(),
        snapshots(),
        check_request,
        None,  # no credentials: the public form
        channel="web",
        # A fresh id, never the caller's X-Request-ID: that could link this check to a
        # proxy's access log line, which holds the address.
        request_id=uuid.uuid4().hex,
        language=page_language(),
    )
    return result_view(answer, form.entered, form.drinks_alcohol)


@blueprint.errorhandler(ServiceUnavailable)
def not_checked_now(_error: ServiceUnavailable) -> ResponseReturnValue:
    """No answer without a logged check: say so, and keep the list to try again in one press."""
    form = read_form(request.form).corrected(read_corrections(request.form))
    return render_template("web/error.html", status=503, form=form), 503


@blueprint.errorhandler(CSRFError)
def form_expired(_error: CSRFError) -> ResponseReturnValue:
    """A missing or stale token: nothing is checked; show their list again to send once more."""
    return render_template(
        "web/form.html", form=read_form(request.form).for_editing(), expired=True
    ), 400


@blueprint.errorhandler(RateLimited)
def too_many(error: RateLimited) -> ResponseReturnValue:
    """Over the limit: nothing is checked; keep the list so that trying again later is one press."""
    form = read_form(request.form).for_editing() if request.method == "POST" else None
    page = Response(render_template("web/error.html", status=429, form=form), 429)
    return with_retry_after(page, error.verdict.retry_after)


@blueprint.get("/severity.css")
def severity_css() -> Response:
    """The severity colours as CSS, from the one severity table (no inline styles under our CSP)."""
    css = render_template(
        "web/severity.css", colours=[(s.value, s.mapping.colour) for s in Severity]
    )
    return Response(css, mimetype="text/css", headers={"Cache-Control": "public, max-age=3600"})
