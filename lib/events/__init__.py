"""Events: what happened, written to the outbox in the same transaction as the change, and delivered from there."""
