# syntax=docker/dockerfile:1
# Two stages: the first builds wheels (Liaison's and its dependencies'), the second installs
# only those wheels into a slim image. No source tree, no editable install, no build tools in
# the image that runs.

FROM python:3.12-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY service ./service
COPY migrations ./migrations
COPY policies ./policies
# Liaison's wheel (migrations and policies ship inside it as service.migrations and
# service.policies) and a wheel of every dependency, for an offline install below.
RUN pip wheel --wheel-dir /wheels .

FROM python:3.12-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 LIAISON_DATA_DIR=/data
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-index --find-links /wheels liaison \
    && useradd --create-home --uid 10001 liaison \
    && mkdir /data && chown liaison:liaison /data
USER liaison
WORKDIR /home/liaison
VOLUME ["/data"]
EXPOSE 8080
# Ready, not merely alive: database at the current migration, keys and policies loaded.
# Plain HTTP unless LIAISON_HEALTHCHECK_CA names the CA file that signed the server's
# certificate; then TLS to 127.0.0.1, verifying the certificate for LIAISON_HEALTHCHECK_NAME
# (default localhost), so that it works whatever name the certificate is issued for.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os,socket,ssl,sys\nca=os.environ.get('LIAISON_HEALTHCHECK_CA')\nname=os.environ.get('LIAISON_HEALTHCHECK_NAME','localhost')\ns=socket.create_connection(('127.0.0.1',8080),timeout=4)\nif ca: s=ssl.create_default_context(cafile=ca).wrap_socket(s,server_hostname=name)\ns.sendall(b'GET /v1/ready HTTP/1.1\\r\\nHost: '+name.encode()+b'\\r\\nConnection: close\\r\\n\\r\\n')\nsys.exit(0 if s.recv(64).split()[1:2]==[b'200'] else 1)"]
# TLS when LIAISON_TLS_CERT and LIAISON_TLS_KEY name the certificate and key files.
CMD ["sh", "-c", "exec liaison serve --host 0.0.0.0 --port 8080 ${LIAISON_TLS_CERT:+--tls-cert $LIAISON_TLS_CERT --tls-key $LIAISON_TLS_KEY}"]
