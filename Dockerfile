# inbound in a container: non-root, listening on port 25 through one file capability.
#
#   docker build -t inbound .
#   docker run -d --name inbound -p 25:25 -p 127.0.0.1:8025:8025 \
#     -v inbound-data:/var/lib/inbound -v /etc/inbound:/etc/inbound:ro inbound
#   docker kill -s HUP inbound        # reload renewed TLS certificates
#
# The process runs as uid 10025 with no privileges. Binding a port below 1024 needs
# CAP_NET_BIND_SERVICE; it is granted to the Python interpreter of this image as a file
# capability (setcap), so the user needs no root, no ambient capabilities and no sysctl.
FROM python:3.11-slim-bookworm

RUN apt-get update \
 && apt-get install -y --no-install-recommends libcap2-bin \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /opt/inbound
COPY requirements.lock pyproject.toml README.md ./
COPY inbound ./inbound
COPY parsers ./parsers
# The exact versions we tested (requirements.lock), then inbound itself without resolving again.
RUN pip install --no-cache-dir -r requirements.lock \
 && pip install --no-cache-dir --no-deps . \
 && setcap cap_net_bind_service=+ep "$(readlink -f "$(command -v python3)")" \
 && groupadd --system --gid 10025 inbound \
 && useradd --system --uid 10025 --gid inbound --home-dir /var/lib/inbound --shell /usr/sbin/nologin inbound \
 && install -d -o inbound -g inbound -m 0700 /var/lib/inbound \
 && install -d -m 0755 /etc/inbound

USER inbound:inbound
ENV INBOUND_LISTEN=0.0.0.0:25 \
    INBOUND_DATA_DIR=/var/lib/inbound \
    INBOUND_LOG_FORMAT=json \
    PYTHONUNBUFFERED=1
VOLUME ["/var/lib/inbound"]
EXPOSE 25 8025
STOPSIGNAL SIGTERM
ENTRYPOINT ["inbound"]
CMD ["serve", "--config", "/etc/inbound/inbound.toml", "--admin-listen", "0.0.0.0:8025"]
