"""The HTTP surface's mechanics: request parameters read within limits, the OpenAPI document, docs/http-api.md's
tables."""
