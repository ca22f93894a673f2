"""Sign-in, sign-out, "who am I", and the admin pages for people and clients. Thin: read the form,
one call into a repository, render; every change is recorded there as an audit event."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError  # type: ignore[import-untyped]
from sqlalchemy.orm import Session
from werkzeug.exceptions import Forbidden

from ..appctx import database
from ..db import clients, users
from ..rate_limiting import client_address, with_retry_after
from ..staff.access import SESSION_KEY, current_user, has_role, require_api_role, require_page_role
from ..staff.security import protect_form_posts, staff_page_headers
from . import forms, throttle

blueprint = Blueprint("accounts", __name__, static_folder="static", static_url_path="/staff/static")
blueprint.before_request(protect_form_posts)
blueprint.after_request(staff_page_headers)

# An admin change: given the unit of work and the acting admin's name, do it (or raise).
Operation = Callable[[Session, str], Any]


@blueprint.app_context_processor
def people() -> dict[str, object]:
    """For every staff page's header: who is signed in (asked only if the template asks)."""
    return {"current_user": current_user, "has_role": has_role, "staff_home": _audit_home}


def _audit_home() -> str | None:
    """The audit pages' address once that door exists, for the header's links."""
    rule = next(
        (r for r in current_app.url_map.iter_rules() if r.rule in ("/audit", "/audit/")), None
    )
    return rule.rule if rule else None


def _actor() -> str:
    user = current_user()
    return f"user:{user.name}" if user else "anonymous"


# --- Signing in and out ---------------------------------------------------------------------------


@blueprint.get("/login")
def login() -> ResponseReturnValue:
    return render_template(
        "accounts/login.html",
        next=forms.local_path(request.args.get("next")),
        signed_out="signed_out" in request.args,
        timed_out="timed_out" in request.args,
    )


@blueprint.post("/login")
def login_submit() -> ResponseReturnValue:
    name = request.form.get("name", "")
    target = forms.local_path(request.form.get("next"))
    paused = throttle.before_attempt(name)
    if paused:
        return _login_paused(name, target, paused)
    result = users.sign_in(
        database(), name, request.form.get("password", ""), address=client_address()
    )
    paused = throttle.after_attempt(name, succeeded=result.ok)
    if paused:
        return _login_paused(name, target, paused)
    if not result.ok:
        return render_template(
            "accounts/login.html",
            next=target,
            name=name,
            failed=True,
            max_failures=current_app.config["LOGIN_MAX_FAILURES"],
        )
    earlier = session.get(SESSION_KEY)
    if isinstance(earlier, str):  # signing in again, perhaps as someone else: end the old one
        users.end_session(database(), earlier, address=request.remote_addr)
    # Rotation: nothing from before sign-in (a planted sid, an old CSRF token) survives it.
    session.clear()
    session.permanent = True  # the cookie expires with the session's absolute lifetime
    session[SESSION_KEY] = result.session_id
    return redirect(target or url_for("accounts.account"), 303)


def _login_paused(name: str, target: str | None, paused: throttle.Paused) -> Response:
    """429 with ``Retry-After``, and a page that says how long to wait and why it is safe to."""
    page = render_template(
        "accounts/login.html",
        next=target,
        name=name,
        paused=paused.scope,
        wait_minutes=max(1, -(-paused.retry_after // 60)),
        max_failures=current_app.config["LOGIN_MAX_FAILURES"],
    )
    return with_retry_after(Response(page, 429), paused.retry_after)


@blueprint.post("/logout")
def logout() -> ResponseReturnValue:
    sid = session.get(SESSION_KEY)
    if isinstance(sid, str):
        users.end_session(database(), sid, address=request.remote_addr)
    session.clear()  # an empty session makes Flask delete the cookie
    return redirect(url_for("accounts.login", signed_out=1), 303)


@blueprint.get("/account")
@require_page_role("auditor")
def account() -> ResponseReturnValue:
    return render_template("accounts/account.html")


@blueprint.get("/api/v1/me")
@require_api_role("auditor")
def me() -> ResponseReturnValue:
    """Who a token or session belongs to: a first call for an auditor's own tools."""
    user = current_user()
    assert user is not None  # require_api_role saw to it
    return jsonify(name=user.name, role=user.role)


# --- Admin: people --------------------------------------------------------------------------------


@blueprint.get("/admin")
@require_page_role("admin")
def admin_home() -> ResponseReturnValue:
    return redirect(url_for("accounts.admin_users"))


@blueprint.get("/admin/users")
@require_page_role("admin")
def admin_users() -> ResponseReturnValue:
    return _users_page(forms.NewUser())


@blueprint.post("/admin/users")
@require_page_role("admin")
def admin_create_user() -> ResponseReturnValue:
    form = forms.read_new_user(request.form)
    if not form.errors:
        with database().unit_of_work() as db:
            try:
                user = users.create(db, form.name, form.role, form.password, _actor())
                db.commit()
            except users.UserError as error:
                form = forms.NewUser(form.name, form.role, errors={"name": str(error)})
            else:
                flash(f"Created {user.role} {user.name}. Give them their password in person.")
                return redirect(url_for("accounts.admin_users"), 303)
    return _users_page(form), 422


@blueprint.post("/admin/users/role")
@require_page_role("admin")
def admin_set_role() -> ResponseReturnValue:
    name, role = request.form.get("name", ""), request.form.get("role", "")
    return _change(
        lambda db, me: users.set_role(db, name, role, _actor(), acting_user=me),
        f"{users.normalise_name(name)} now has the {role} role.",
        "accounts.admin_users",
    )


@blueprint.post("/admin/users/disable")
@require_page_role("admin")
def admin_disable_user() -> ResponseReturnValue:
    name = request.form.get("name", "")
    if request.form.get("confirm") != "yes":
        return render_template("accounts/confirm.html", kind="user", name=name)
    return _change(
        lambda db, me: users.disable(db, name, _actor(), acting_user=me),
        f"Disabled {name}: their sessions and tokens no longer work.",
        "accounts.admin_users",
    )


@blueprint.post("/admin/users/enable")
@require_page_role("admin")
def admin_enable_user() -> ResponseReturnValue:
    name = request.form.get("name", "")
    return _change(
        lambda db, _me: users.enable(db, name, _actor()),
        f"Enabled {name}: they can sign in again with their password.",
        "accounts.admin_users",
    )


@blueprint.get("/admin/users/password")
@require_page_role("admin")
def admin_password() -> ResponseReturnValue:
    name = users.normalise_name(request.args.get("name", ""))
    with database().unit_of_work(read_only=True) as db:
        try:
            users.by_name(db, name)
        except users.UserError as error:
            flash(str(error).capitalize() + ".", "error")
            return redirect(url_for("accounts.admin_users"), 303)
    return render_template("accounts/admin_password.html", form=forms.NewPassword(name))


@blueprint.post("/admin/users/password")
@require_page_role("admin")
def admin_reset_password() -> ResponseReturnValue:
    form = forms.read_new_password(request.form)
    if form.errors:
        return render_template("accounts/admin_password.html", form=form), 422
    return _change(
        lambda db, me: users.reset_password(db, form.name, form.password, _actor(), acting_user=me),
        f"Set a new password for {form.name}; they were signed out everywhere.",
        "accounts.admin_users",
    )


# --- Admin: pharmacy clients ----------------------------------------------------------------------


@blueprint.get("/admin/clients")
@require_page_role("admin")
def admin_clients() -> ResponseReturnValue:
    return _clients_page(forms.NewClient())


@blueprint.post("/admin/clients")
@require_page_role("admin")
def admin_create_client() -> ResponseReturnValue:
    form = forms.read_new_client(request.form)
    if not form.errors:
        with database().unit_of_work() as db:
            try:
                client, key = clients.create(db, form.name, form.min_severity, _actor())
                db.commit()
            except clients.ClientError as error:
                form = forms.NewClient(form.name, form.min_severity, errors={"name": str(error)})
            else:
                # Shown once, on this page only: never stored, never put in the session or a URL.
                return render_template("accounts/client_created.html", client=client, key=key)
    return _clients_page(form), 422


@blueprint.post("/admin/clients/revoke")
@require_page_role("admin")
def admin_revoke_client() -> ResponseReturnValue:
    name = request.form.get("name", "")
    if request.form.get("confirm") != "yes":
        return render_template("accounts/confirm.html", kind="client", name=name)
    return _change(
        lambda db, _me: clients.revoke(db, name, _actor()),
        f"Revoked {name}: its key no longer works.",
        "accounts.admin_clients",
    )


@blueprint.post("/admin/clients/rotate-key")
@require_page_role("admin")
def admin_rotate_client_key() -> ResponseReturnValue:
    name = request.form.get("name", "")
    if request.form.get("confirm") != "yes":
        return render_template("accounts/confirm.html", kind="key", name=name)
    with database().unit_of_work() as db:
        try:
            client, key = clients.rotate_key(db, name, _actor())
            db.commit()
        except clients.ClientError as error:
            flash(str(error).capitalize() + ".", "error")
            return redirect(url_for("accounts.admin_clients"), 303)
        # Shown once, on this page only, as when the client was created.
        return render_template("accounts/client_created.html", client=client, key=key, rotated=True)


@blueprint.post("/admin/clients/min-severity")
@require_page_role("admin")
def admin_set_min_severity() -> ResponseReturnValue:
    name, level = request.form.get("name", ""), request.form.get("min_severity", "")
    if level not in forms.SEVERITIES:
        flash("Choose a minimum severity.", "error")
        return redirect(url_for("accounts.admin_clients"), 303)
    return _change(
        lambda db, _me: clients.set_min_severity(db, name, level, _actor()),
        f"{name} is now shown alerts of severity {level} and above.",
        "accounts.admin_clients",
    )


# --- Helpers and errors ---------------------------------------------------------------------------


def _users_page(form: forms.NewUser) -> str:
    with database().unit_of_work(read_only=True) as db:
        rows = users.all_users(db)
    return render_template(
        "accounts/admin_users.html",
        users=rows,
        form=form,
        roles=users.ROLES,
    )


def _clients_page(form: forms.NewClient) -> str:
    with database().unit_of_work(read_only=True) as db:
        rows = clients.all_clients(db)
    return render_template(
        "accounts/admin_clients.html", clients=rows, form=form, severities=forms.SEVERITIES
    )


def _change(operation: Operation, done: str, page: str) -> ResponseReturnValue:
    """Run one admin change, commit it with its audit event, and say how it went on ``page``."""
    user = current_user()
    assert user is not None
    with database().unit_of_work() as db:
        try:
            operation(db, user.name)
            db.commit()
        except (users.UserError, clients.ClientError) as error:
            flash(str(error).capitalize() + ".", "error")
        else:
            flash(done)
    return redirect(url_for(page), 303)


@blueprint.errorhandler(CSRFError)
def form_expired(_error: CSRFError) -> ResponseReturnValue:
    """A missing or stale token: nothing was changed; the page says so and how to go on."""
    if request.endpoint == "accounts.login_submit":
        next_path = forms.local_path(request.form.get("next"))
        return render_template("accounts/login.html", next=next_path, expired=True), 400
    return render_template("accounts/error.html", status=400), 400


@blueprint.errorhandler(Forbidden)
def forbidden(_error: Forbidden) -> ResponseReturnValue:
    return render_template("accounts/error.html", status=403), 403
