"""How gunicorn serves the app, shared by ``make run``, the container, compose, bench/http.py and the
serving test: ``gunicorn -c python:service.gunicorn_config --bind HOST:PORT``.

Why gthread and not gunicorn's default sync workers: a sync worker belongs to one connection until it
closes, so three idle TCP connections took all three workers and stalled every door for ~30 s. A
gthread worker parks idle and kept-alive connections in a poller and gives a thread only to a
connection that has sent something; a client that trickles its headers or body still holds one
thread, so ``threads`` bounds how many such clients a worker shrugs off. In production a buffering
proxy (nginx in docker-compose.yml) reads whole requests before they reach gunicorn. README
"Serving" has the measurements.
"""

from __future__ import annotations

wsgi_app = "service:create_app()"
bind = ["127.0.0.1:8000"]  # make run and the container give their own --bind
workers = 3
worker_class = "gthread"
# Per worker. The app's work is CPU-bound under the GIL, so more threads than this only queue; they
# are what lets a worker keep answering while slow clients hold some of them.
threads = 4
# Seconds a kept-alive connection may wait for its next request (in the poller, not in a thread).
keepalive = 5
timeout = 30
# gunicorn 27 opens a control socket at one fixed path per user; instances would take it from each
# other, and nothing here uses gunicornc.
control_socket_disable = True
accesslog = "-"
access_log_format = '%(h)s %(t)s "%(m)s %(U)s" %(s)s %(b)s %(L)ss'
