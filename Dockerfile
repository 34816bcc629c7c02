# Cloud Run image: IB Gateway driven by IBC on a virtual display, and the service under gunicorn.
# IB Gateway and IBC are downloaded here, at build time on Cloud Build; nothing is fetched at run time.
FROM python:3.11-slim

ARG IB_GATEWAY_CHANNEL=stable
ARG IBC_VERSION=3.20.0

RUN apt-get update \
 && apt-get install -y --no-install-recommends curl unzip xvfb libxtst6 libxrender1 libxi6 procps \
 && rm -rf /var/lib/apt/lists/*

RUN curl -fsSL -o /tmp/ibgateway.sh \
      "https://download2.interactivebrokers.com/installers/ibgateway/${IB_GATEWAY_CHANNEL}-standalone/ibgateway-${IB_GATEWAY_CHANNEL}-standalone-linux-x64.sh" \
 && chmod +x /tmp/ibgateway.sh && /tmp/ibgateway.sh -q -dir /opt/ibgateway && rm /tmp/ibgateway.sh \
 && curl -fsSL -o /tmp/ibc.zip \
      "https://github.com/IbcAlpha/IBC/releases/download/${IBC_VERSION}/IBCLinux-${IBC_VERSION}.zip" \
 && unzip -q /tmp/ibc.zip -d /opt/ibc && rm /tmp/ibc.zip && chmod +x /opt/ibc/*.sh /opt/ibc/scripts/*.sh

WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY main.py gunicorn.conf.py ./
COPY lib lib
COPY intents intents
COPY strategies strategies

ENV PYTHONUNBUFFERED=1 DISPLAY=:1 TRADING_MODE=paper STORE_BACKEND=firestore

# IB_USERNAME / IB_PASSWORD come from Secret Manager through Cloud Run's secret environment variables;
# IBC reads them from its private config file, never from the command line.
CMD ["/bin/sh", "-c", "\
  umask 077 && mkdir -p /root/ibc && \
  printf 'IbLoginId=%s\\nIbPassword=%s\\nTradingMode=%s\\nAcceptIncomingConnectionAction=accept\\nReadOnlyApi=no\\n' \
    \"$IB_USERNAME\" \"$IB_PASSWORD\" \"$TRADING_MODE\" > /root/ibc/config.ini && \
  (Xvfb :1 -screen 0 1024x768x16 >/dev/null 2>&1 &) && \
  (/opt/ibc/scripts/ibcstart.sh \"$(ls /opt/ibgateway/jars | sed -n 's/^twslaunch-\\([0-9]*\\)\\.jar$/\\1/p')\" \
     --gateway --tws-path=/opt --tws-settings-path=/root/Jts --ibc-path=/opt/ibc \
     --ibc-ini=/root/ibc/config.ini --mode=\"$TRADING_MODE\" >/dev/null 2>&1 &) && \
  exec gunicorn -c gunicorn.conf.py main:app"]
