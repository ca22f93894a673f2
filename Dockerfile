# Production image: runtime dependencies only (no test extras), runs as non-root.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN useradd --system --create-home --uid 10001 --user-group app
WORKDIR /app

# Install the package (and its dependencies) first so code-only changes to
# migrations/seed data don't rebuild this layer.  README.m[d] is optional.
COPY pyproject.toml README.m[d] ./
COPY service/ ./service/
RUN pip install .

COPY alembic.ini ./
COPY migrations/ ./migrations/
COPY seed_data/ ./seed_data/

USER app
EXPOSE 8000

# slim has no curl: probe /healthz with the standard library (non-2xx raises).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]

CMD ["gunicorn", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-", "--access-logformat", "%(h)s %(t)s \"%(m)s %(U)s\" %(s)s %(b)s %(L)ss", "service:create_app()"]
