"""What the service asks of IB and how it reads the answers: ib_async objects in, plain dataclasses out.
Instruments, market data, account values and orders; the coroutines here run on the IB loop."""
