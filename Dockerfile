# Production image: the locked runtime dependencies and the installed package, run as non-root.
# Base images are pinned by exact version. Pin them by digest too when building with registry access
# (docker buildx imagetools inspect python:3.11.14-slim-bookworm), e.g. FROM python:3.11.14-slim-bookworm@sha256:...
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

# --- build: the package as a wheel (seed_data/ and migrations/ inside it, see setup.py) ------------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml setup.py README.md LICENSE ./
COPY service/ ./service/
COPY migrations/ ./migrations/
COPY seed_data/ ./seed_data/
RUN pip wheel --no-deps --wheel-dir /wheels .

# --- runtime -------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE}

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN useradd --system --create-home --uid 10001 --user-group app

# Dependencies first, exactly as locked (hashes checked): code changes do not rebuild this layer.
COPY requirements.lock /tmp/requirements.lock
RUN pip install --require-hashes --no-deps -r /tmp/requirements.lock && rm /tmp/requirements.lock

# Then the service itself, non-editable: the image runs the installed package, not a source folder.
COPY --from=build /wheels/ /tmp/wheels/
RUN pip install --no-deps /tmp/wheels/*.whl && rm -rf /tmp/wheels

# An empty working directory: nothing here can shadow the installed package.
WORKDIR /home/app
USER app
EXPOSE 8000
# gunicorn's workers pool their Prometheus metrics here (emptied by the hooks at each start).
ENV PROMETHEUS_MULTIPROC_DIR=/tmp/metrics

# Ready, not merely alive: /readyz answers 200 only when the database answers, a knowledge base is
# active and the alert log takes writes. slim has no curl; urllib raises on anything but 2xx.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=4)"]

# Serving settings (gthread workers, timeouts, metrics hooks): service/gunicorn_config.py.
CMD ["gunicorn", "-c", "python:service.gunicorn_config", "--bind", "0.0.0.0:8000"]
