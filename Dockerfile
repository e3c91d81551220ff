# syntax=docker/dockerfile:1
# Storyarn's collaboration server. Three stages: the web app (Node), the Python environment
# (uv, from uv.lock), and a slim runtime with neither Node, uv, compilers nor headers.
#
#   docker build -t storyarn .
#   docker run -p 8000:8000 -e STORYARN_SECRET_KEY=... -e DATABASE_URL=... storyarn
#
# Without DATABASE_URL the embedded SQLite database lives in /data (mount a volume there).

ARG PYTHON_VERSION=3.11

# -- 1. the web app: web/dist, when web/ has a package.json ------------------------------------
FROM node:22-bookworm-slim AS web
WORKDIR /web
COPY web/ ./
RUN if [ -f package.json ]; then \
        if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; \
        else npm install --no-audit --no-fund; fi \
        && npm run build; \
    fi \
    && mkdir -p dist

# -- 2. the Python environment, exactly as locked ------------------------------------------------
FROM python:${PYTHON_VERSION}-slim-bookworm AS build
COPY --from=ghcr.io/astral-sh/uv:0.13.8 /uv /bin/uv
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never
WORKDIR /app
# Dependencies first: this layer is rebuilt only when the lock changes, not on every commit.
COPY pyproject.toml uv.lock README.md ./
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --locked --no-dev --no-install-project
COPY server/ server/
COPY crdt/ crdt/
COPY persistence/ persistence/
COPY workers/ workers/
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --locked --no-dev --no-editable

# -- 3. the runtime --------------------------------------------------------------------------------
FROM python:${PYTHON_VERSION}-slim-bookworm AS runtime
ARG PYTHON_VERSION
# pg_dump/pg_restore for `storyarn backup`/`restore` against Postgres; they must be at least
# the server's major version (Debian bookworm ships 15).
RUN apt-get update \
    && apt-get install -y --no-install-recommends postgresql-client \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --user-group --home-dir /app --shell /usr/sbin/nologin storyarn \
    && mkdir -p /data && chown storyarn:storyarn /data
WORKDIR /app
COPY --from=build /app/.venv /app/.venv
# server/web.py serves web/dist beside the `server` package, which --no-editable installed in
# site-packages.
COPY --from=web /web/dist /app/.venv/lib/python${PYTHON_VERSION}/site-packages/web/dist
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    STORYARN_ENV=production \
    STORYARN_DATA_DIR=/data \
    STORYARN_PORT=8000
USER storyarn
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health/live', timeout=4)"]
CMD ["storyarn", "serve", "--host", "0.0.0.0"]
