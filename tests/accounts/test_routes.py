"""Nobody can change or delete log entries through the application: there is no route for it.

The url map is the whole surface; these tests read it, so a route added later that could edit the
logs fails here until someone decides, in this file, that it is safe.
"""

from __future__ import annotations

from flask import Flask

EDITING_METHODS = {"PUT", "PATCH", "DELETE"}
LOG_PATHS = ("/audit", "/api/v1/audit")
PEOPLE_BLUEPRINTS = {"accounts", "audit", "audit_api"}

# POST routes of the people's doors that only look things up. Each posts a patient identifier,
# which must never travel in a URL (URLs reach access logs and browser history); they read.
READ_ONLY_POSTS = {
    "audit.find_patient": "hashes a patient identifier and shows that patient's checks",
    "audit_api.patient_reference": "hashes a patient identifier for the auditor's own tools",
}


def _under(path: str, prefixes: tuple[str, ...]) -> bool:
    return any(path == p or path.startswith(p + "/") for p in prefixes)


def test_no_route_of_the_application_accepts_put_patch_or_delete(app: Flask) -> None:
    editing = [
        (rule.rule, sorted(rule.methods & EDITING_METHODS))
        for rule in app.url_map.iter_rules()
        if rule.methods and rule.methods & EDITING_METHODS
    ]
    assert editing == []


def test_log_routes_only_read(app: Flask) -> None:
    for rule in app.url_map.iter_rules():
        if not _under(rule.rule, LOG_PATHS):
            continue
        methods = (rule.methods or set()) - {"HEAD", "OPTIONS"}
        assert methods <= {"GET", "POST"}, rule.rule
        if "POST" in methods:
            assert rule.endpoint in READ_ONLY_POSTS, f"{rule.rule} accepts POST"


def test_people_post_only_to_sign_in_sign_out_and_the_admin_forms(app: Flask) -> None:
    posts = {
        rule.rule
        for rule in app.url_map.iter_rules()
        if "POST" in (rule.methods or set())
        and (
            rule.endpoint.split(".")[0] in PEOPLE_BLUEPRINTS
            or _under(rule.rule, (*LOG_PATHS, "/admin", "/account", "/login", "/logout"))
        )
        and rule.endpoint not in READ_ONLY_POSTS
    }
    assert posts == {
        "/login",
        "/logout",
        "/admin/users",
        "/admin/users/role",
        "/admin/users/disable",
        "/admin/users/enable",
        "/admin/users/password",
        "/admin/clients",
        "/admin/clients/revoke",
        "/admin/clients/rotate-key",
        "/admin/clients/min-severity",
    }


def test_every_admin_route_needs_the_admin_role(app: Flask) -> None:
    """A new admin route without require_page_role("admin") would let an auditor in."""
    app.config["WTF_CSRF_ENABLED"] = False  # reach the role check, not the CSRF check
    browser = app.test_client()
    for rule in app.url_map.iter_rules():
        if _under(rule.rule, ("/admin",)):
            method = "GET" if "GET" in (rule.methods or set()) else "POST"
            response = browser.open(rule.rule, method=method)
            assert response.status_code == 302, rule.rule
            assert response.headers["Location"].startswith("/login"), rule.rule
