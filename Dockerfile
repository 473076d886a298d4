# The teamboard demo as a container image, built the way `hyper new` projects build theirs
# (src/hyperdeliver/scaffold/templates/project/Dockerfile.j2): from a wheelhouse, offline.
#
#   python -m pip wheel --wheel-dir wheels .        # hyperdeliver and every dependency, as wheels
#   podman build -t teamboard:0.1.0 .               # or docker build; the build reaches no index
#
# Run it on its own (a fresh SQLite database under /tmp, seeded logins printed):
#   podman run --rm --read-only --tmpfs /tmp -p 8000:8000 teamboard:0.1.0 hyper demo --host 0.0.0.0
# or as production runs it, on PostgreSQL: migrations as a one-off, then the roles.
#   podman run --rm -e HYPER_DATABASE_URL=postgresql://... teamboard:0.1.0 hyper db upgrade
#   podman run --read-only --tmpfs /tmp -e HYPER_DATABASE_URL=... -e HYPER_SECRET_KEY=... teamboard:0.1.0
#   (hyper worker, hyper scheduler and hyper cron run NAME run from the same image)
#
# The base is BASE_IMAGE:BASE_TAG (a tag is required): any image with python3.11+ and its venv
# module, of the Python version that built the wheels.

ARG BASE_IMAGE=docker.io/library/python
ARG BASE_TAG=3.11-slim-bookworm

FROM ${BASE_IMAGE}:${BASE_TAG} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_INPUT=1 \
    PIP_CONFIG_FILE=/dev/null
COPY wheels/ /wheels/
# Each step chained with && so that any failure fails the build (podman's
# default OCI image format ignores SHELL, so no "set -e" is relied on).
RUN ls /wheels/*.whl >/dev/null 2>&1 \
        || { echo "wheels/ holds no wheels: run 'python -m pip wheel --wheel-dir wheels .' first" >&2; exit 1; }
RUN python3 -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-cache-dir --no-index --no-deps /wheels/*.whl \
    && /opt/venv/bin/pip check \
    && /opt/venv/bin/pip uninstall --no-cache-dir -q -y pip \
    && /opt/venv/bin/python -c "import hyperdeliver.demo.teamboard.app"

FROM ${BASE_IMAGE}:${BASE_TAG}
LABEL org.opencontainers.image.title="teamboard" \
      org.opencontainers.image.description="hyperdeliver's demo app"
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOME=/tmp \
    HYPER_APP=hyperdeliver.demo.teamboard.app:create_app \
    HYPER_ENV=production \
    HYPER_VAR_DIR=/tmp/hyper \
    HYPER_HOST=0.0.0.0 \
    HYPER_PORT=8000
COPY --from=build /opt/venv /opt/venv
WORKDIR /tmp
USER 10001:10001
EXPOSE 8000
STOPSIGNAL SIGTERM
# No container health check: only the web role answers HTTP, and Kubernetes ignores it
# for its own probes (/healthz liveness, /readyz readiness); podman then needs no systemd.
HEALTHCHECK NONE
CMD ["hyper", "serve"]
