"""Cloud Monitoring as code: log-based metrics on the service's JSON log lines, alert policies on them and an email
notification channel, applied by `python -m deploy.monitoring`."""
