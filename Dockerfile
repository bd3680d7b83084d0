# coatcheck, run as its own unprivileged user. `docker compose up` (docker-compose.yml) runs
# it with PostgreSQL, Redis and an SMTP sink; alone it runs embedded, its SQLite file and
# secret in /app/data (mount a volume there to keep them).
FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 DATA_DIR=/app/data
WORKDIR /app
COPY pyproject.toml setup.py constraints.txt README.md ./
COPY src ./src
# The code stays root's (read-only to the service); only data/ is the service's own.
RUN pip install --no-cache-dir --constraint constraints.txt . \
    && useradd --create-home coatcheck \
    && install --directory --owner=coatcheck --group=coatcheck --mode=0700 /app/data
USER coatcheck
EXPOSE 8000
# Liveness, not readiness: a store outage must not get the container restarted.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import urllib.request as u; u.urlopen('http://127.0.0.1:8000/health/live', timeout=2)"]
# SIGTERM drains (SHUTDOWN_GRACE); give `docker stop --time` more than that.
STOPSIGNAL SIGTERM
CMD ["coatcheck", "serve", "--host", "0.0.0.0", "--port", "8000"]
