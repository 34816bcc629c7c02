"""The TWS API wire format as pure functions: framing and field codecs, the server versions at which fields
come and go, request decoders that turn a client's message into a dataclass, and message encoders that turn
plain values into the field lists a client decodes (wire.encode_message frames them). Field order and presence
follow what the client decoders read at the negotiated server version (ib_insync 0.9.86 reads v176, the
official ibapi 9.81 reads v157), including each `serverVersion >= X` condition. Nothing here does I/O or knows
the engine."""
