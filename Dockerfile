# Cloud Run image: IB Gateway driven by IBC on a virtual display, and the service under gunicorn, all children of
# the supervising entrypoint (python -m deploy.entrypoint) under tini.
# IB Gateway and IBC are downloaded here, at build time on Cloud Build, and checked against pinned SHA-256 sums;
# nothing is fetched at run time. The build fails while a version or a sum below is empty or a download does not
# match its sum: fill them from IB's and IBC's release pages before the first build (docs/deployment.md,
# "Pinning IB Gateway and IBC"), or pass them as --build-arg (cloudbuild.yaml does, from its substitutions).
FROM python:3.11-slim

SHELL ["/bin/bash", "-o", "pipefail", "-c"]

# IB serves its offline installers by channel only (stable-standalone, latest-standalone): the sum pins the exact
# installer, so once the channel moves on the build fails instead of shipping another gateway. To keep building an
# older gateway, mirror its installer and point IB_GATEWAY_URL at the copy.
ARG IB_GATEWAY_VERSION=
ARG IB_GATEWAY_SHA256=
ARG IB_GATEWAY_URL=https://download2.interactivebrokers.com/installers/ibgateway/stable-standalone/ibgateway-stable-standalone-linux-x64.sh
ARG IBC_VERSION=3.20.0
ARG IBC_SHA256=

# TWS_PATH is IBC's --tws-path: ibcstart.sh looks for the gateway at <TWS_PATH>/ibgateway/<IB_GATEWAY_VERSION>/jars
ENV TWS_PATH=/opt/ib \
    IBC_PATH=/opt/ibc \
    IB_GATEWAY_VERSION=${IB_GATEWAY_VERSION} \
    HOME=/home/trader \
    TWS_SETTINGS_PATH=/home/trader/Jts \
    IBC_INI=/home/trader/ibc/config.ini \
    APP_DIR=/app \
    DISPLAY=:1 \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    TRADING_MODE=paper \
    STORE_BACKEND=firestore

# Debian's security updates replace package versions within a release: pinning them would break the next build, the
# base image's tag pins the release
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl libxi6 libxrender1 libxtst6 tini tzdata unzip xvfb \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --create-home --home-dir /home/trader --uid 1000 --user-group trader

RUN if [ -z "${IB_GATEWAY_VERSION}" ] || [ -z "${IB_GATEWAY_SHA256}" ] || [ -z "${IBC_SHA256}" ]; then \
      echo "IB_GATEWAY_VERSION, IB_GATEWAY_SHA256 and IBC_SHA256 must be set (docs/deployment.md: Pinning IB Gateway and IBC)" >&2; \
      exit 1; \
    fi \
 && curl -fsSL -o /tmp/ibgateway.sh "${IB_GATEWAY_URL}" \
 && echo "${IB_GATEWAY_SHA256}  /tmp/ibgateway.sh" | sha256sum --check --strict - \
 && chmod +x /tmp/ibgateway.sh \
 && /tmp/ibgateway.sh -q -dir "${TWS_PATH}/ibgateway/${IB_GATEWAY_VERSION}" \
 && rm /tmp/ibgateway.sh \
 && test -d "${TWS_PATH}/ibgateway/${IB_GATEWAY_VERSION}/jars" \
 && curl -fsSL -o /tmp/ibc.zip "https://github.com/IbcAlpha/IBC/releases/download/${IBC_VERSION}/IBCLinux-${IBC_VERSION}.zip" \
 && echo "${IBC_SHA256}  /tmp/ibc.zip" | sha256sum --check --strict - \
 && unzip -q /tmp/ibc.zip -d "${IBC_PATH}" \
 && rm /tmp/ibc.zip \
 && chmod +x "${IBC_PATH}"/*.sh "${IBC_PATH}"/scripts/*.sh \
 && chown -R trader:trader "${TWS_PATH}"

WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY main.py gunicorn.conf.py ./
COPY lib lib
COPY intents intents
COPY strategies strategies
# only the entrypoint of deploy/ runs in the container
COPY deploy/__init__.py deploy/
COPY deploy/entrypoint deploy/entrypoint

# ibcstart.sh renames the gateway's own start script and the entrypoint sets the JVM heap in its vmoptions: the
# install belongs to the user that runs them
USER 1000:1000
EXPOSE 8080
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["python", "-m", "deploy.entrypoint"]
