# The bot's production image: slim Python, non-root, health-checked.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 CHATOPS_LOG_FORMAT=json
WORKDIR /app

COPY pyproject.toml README.md ./
COPY chatops ./chatops
COPY bot ./bot
COPY commands ./commands
COPY integrations ./integrations
COPY sandbox ./sandbox
COPY runbooks ./runbooks
COPY config ./config
RUN pip install . && useradd --create-home --uid 10001 chatops

USER chatops
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:3000/healthz', timeout=2).status == 200 else 1)"
CMD ["chatops", "serve", "--host", "0.0.0.0", "--port", "3000"]
