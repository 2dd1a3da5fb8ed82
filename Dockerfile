# syntax=docker/dockerfile:1
# The portal's image: web (default command), worker and beat (compose.yaml overrides the command).
# Build: docker build -t hitl-portal . ; settings come from the environment at run time (env_file).

# --- build: the virtualenv, with compilers and caches left behind ---------------------------------
FROM python:3.11.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
COPY requirements.txt /tmp/requirements.txt
RUN /opt/venv/bin/pip install --no-cache-dir -r /tmp/requirements.txt

# --- runtime ----------------------------------------------------------------------------------------
FROM python:3.11.11-slim-bookworm AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DJANGO_ENV=production \
    GUNICORN_BIND=0.0.0.0:8000 \
    STATIC_ROOT=/app/staticfiles
RUN groupadd --system --gid 10001 hitl \
    && useradd --system --uid 10001 --gid hitl --home-dir /app --no-create-home --shell /usr/sbin/nologin hitl
WORKDIR /app
COPY --from=build /opt/venv /opt/venv
COPY . /app
# Static files collected into the image (hashed names, compressed; whitenoise serves them). The
# production profile refuses to load without its settings, so this one step gets throwaway values:
# nothing connects to a database or broker, and no secret of a deployment is baked in.
RUN ENV_FILE=/dev/null \
    SECRET_KEY=collectstatic-only-not-a-secret-0123456789abcdefghijklmnopqrstuvwxyz \
    FIELD_ENCRYPTION_KEYS=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= \
    DATABASE_URL=postgres://build@127.0.0.1:1/build \
    CELERY_BROKER_URL=redis://127.0.0.1:1/0 \
    ALLOWED_HOSTS=build.invalid \
    PUBLIC_BASE_URL=https://build.invalid \
    python manage.py collectstatic --noinput -v 0 \
    && chown -R root:root /app && chmod -R a+rX /app
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
# Celery's warm shutdown needs SIGTERM and time (compose.yaml: stop_grace_period).
STOPSIGNAL SIGTERM
CMD ["gunicorn", "-c", "gunicorn.conf.py"]
