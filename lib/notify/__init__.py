"""Notifications a person reads: short webhook messages about the events that need one."""
