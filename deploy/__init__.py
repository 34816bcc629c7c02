"""Deployment: the container's supervising entrypoint, the Cloud Run and Cloud Scheduler files, the smoke check."""
