"""The HTTP surface's mechanics: request parameters read within limits, the OpenAPI document, README's tables."""
