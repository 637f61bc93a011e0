# The bot's image: the ldn-bot wheel and its dependencies, nothing else from the checkout (no
# tests, no fake Telegram, no dev tools). Build: docker build -t ldn-bot .
# Run: see compose.yaml and the README's "Run it for a clinic".

# Stage 1: build the wheel of the bot and a wheel of every dependency.
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY storage ./storage
RUN pip wheel --wheel-dir /wheels .

# Stage 2: install those wheels only, from the folder (no index), and run as a user of its own.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-index --find-links /wheels ldn-bot
RUN useradd --system --uid 10001 --user-group --home-dir /app --create-home ldn \
    && mkdir /app/data && chown ldn:ldn /app/data
USER 10001:10001
WORKDIR /app
# In a container the web app (webhook, /healthz, /metrics) must listen beyond loopback; logs go
# out as JSON lines for the clinic's log collector. Both can be overridden in .env.
ENV WEBHOOK_LISTEN=0.0.0.0 WEBHOOK_PORT=8080 LOG_FORMAT=json
EXPOSE 8080
# 200 when the database answers and the dispatcher's rounds are recent; 503 (a failure) otherwise.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request as u; u.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('WEBHOOK_PORT', '8080'), timeout=4)"]
CMD ["ldn-bot", "run"]
