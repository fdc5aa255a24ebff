FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    LIAISON_DATA_DIR=/data

RUN useradd --create-home --uid 10001 liaison \
    && mkdir /data && chown liaison:liaison /data

WORKDIR /app
COPY pyproject.toml README.md ./
COPY service ./service
COPY migrations ./migrations
COPY policies ./policies
# The same install as the README's quick start.
RUN pip install -e .

USER liaison
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8080/v1/health', timeout=4).status != 200)"]
CMD ["liaison", "serve", "--data-dir", "/data", "--host", "0.0.0.0", "--port", "8080"]
