"""Building blocks of the trading service: bridge, store, config, logging, trading primitives."""
