"""The document store: the port with its path and merge rules, and its adapters (SQLite embedded, Firestore on
Cloud Run, in memory for tests). Independent of the gateway, the broker and the trading rules."""
