"""The trading service's library: gateway/ (the IB connection), store/ (documents), broker/ (IB reads and orders
as plain data), trading/ (the service's rules), and cross-cutting config, errors, logs, deadline and services."""
