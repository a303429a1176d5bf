# imagine-bot: one image for both set-ups in compose.yaml (SQLite alone, or PostgreSQL replicas).
# Build:  docker build -t imagine-bot .
# Run:    docker run --env-file .env -v imagine-data:/data -p 8080:8080 imagine-bot

FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
# Wheels of the bot and every dependency, so the final stage needs no compiler and keeps no pip cache.
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PTB_TIMEDELTA=true \
    DATABASE_PATH=/data/imagine-bot.sqlite3 \
    HTTP_PORT=8080
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index /wheels/*.whl \
    && rm -rf /wheels \
    && useradd --system --uid 10001 --user-group --home-dir /app --create-home --shell /usr/sbin/nologin imagine \
    && mkdir -p /data \
    && chown imagine:imagine /data
# numeric, so Kubernetes' runAsNonRoot can verify it without reading /etc/passwd
USER 10001:10001
WORKDIR /app
VOLUME ["/data"]
EXPOSE 8080
# /health answers 200 while at least one account can serve; urllib raises (exit 1) on anything else.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('HTTP_PORT', '8080'), timeout=4)"]
CMD ["python", "-m", "bot", "run"]
