# Stand-in for python:3.11-slim: Debian bookworm's Python 3.11, where the
# project's Dockerfile expects it. The official image has Python built into
# /usr/local with its headers and pip, and lets pip install system-wide.
FROM crm-standin/debian:bookworm
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        python3.11 python3.11-venv python3.11-dev python3-pip \
    && rm -rf /var/lib/apt/lists/* \
    && ln -s /usr/bin/python3.11 /usr/local/bin/python \
    && ln -s /usr/bin/python3.11 /usr/local/bin/python3 \
    && ln -s /usr/bin/pip3 /usr/local/bin/pip \
    && rm -f /usr/lib/python3.11/EXTERNALLY-MANAGED
ENV LANG=C.UTF-8
CMD ["python3"]
