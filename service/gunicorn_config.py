"""How gunicorn serves the app, shared by ``make run``, the container, compose, bench/http.py and the
serving test: ``gunicorn -c python:service.gunicorn_config --bind HOST:PORT``.

Why gthread and not gunicorn's default sync workers: a sync worker belongs to one connection until it
closes, so three idle TCP connections took all three workers and stalled every door for ~30 s. A
gthread worker gives a new connection a thread for at most 5 s to start its request, then parks it in
a poller with the kept-alive ones (closed after ``keepalive`` more seconds of silence). A client that
trickles its headers or body still holds one thread until it finishes, so ``threads`` bounds how many
such clients a worker shrugs off; in production a buffering proxy (nginx in docker-compose.yml) reads
whole requests before they reach gunicorn. README "Serving" has the measurements.
"""

from __future__ import annotations

# Prometheus' multiprocess mode: empty PROMETHEUS_MULTIPROC_DIR at start, forget dead workers.
from service.observability.gunicorn_hooks import child_exit, on_starting
from service.sealing import post_worker_init

__all__ = ["child_exit", "on_starting", "post_worker_init"]

wsgi_app = "service:create_app()"
bind = ["127.0.0.1:8000"]  # make run and the container give their own --bind
workers = 3
worker_class = "gthread"
# Per worker. Checks are CPU-bound under the GIL, so threads add no throughput; they let a worker keep
# answering while slow clients, or new ones that have not spoken yet, hold some of them.
threads = 4
# Seconds a kept-alive connection may wait for its next request (in the poller, not in a thread).
keepalive = 5
timeout = 30
# gunicorn 27 opens a control socket at one fixed path per user; instances would take it from each
# other, and nothing here uses gunicornc.
control_socket_disable = True
