"""IB's official ibapi client (EClient + EWrapper) recording the callbacks tests look at, over a real socket."""
from __future__ import annotations

import threading
import time

from ibapi.client import EClient
from ibapi.wrapper import EWrapper


class RecordingApp(EWrapper, EClient):
    """An ibapi client that records the callbacks the tests look at."""

    def __init__(self):
        EWrapper.__init__(self)
        EClient.__init__(self, self)
        self.events: list[tuple] = []
        self._changed = threading.Condition()

    def _record(self, *event) -> None:
        with self._changed:
            self.events.append(event)
            self._changed.notify_all()

    def wait_for(self, predicate, timeout_s: float = 5) -> tuple:
        deadline = time.monotonic() + timeout_s
        with self._changed:
            while True:
                found = next((e for e in self.events if predicate(e)), None)
                if found is not None:
                    return found
                left = deadline - time.monotonic()
                assert left > 0, f"no matching event; got {self.events[-5:]}"
                self._changed.wait(left)

    def of(self, name: str) -> list[tuple]:
        with self._changed:
            return [e for e in self.events if e[0] == name]

    def errors(self, req_id: int | None = None) -> list[tuple[int, str]]:
        """(code, text) of the errors received, for one request or order id when given."""
        return [(e[2], e[3]) for e in self.of("error") if req_id is None or e[1] == req_id]

    def start(self, host: str, port: int, client_id: int) -> "RecordingApp":
        """Connect and run the reader thread; `stop()` ends both."""
        self.connect(host, port, client_id)
        self._reader = threading.Thread(target=self.run, name=f"ibapi-reader-{client_id}", daemon=True)
        self._reader.start()
        self.wait_for(lambda e: e[0] == "nextValidId")
        return self

    def stop(self) -> None:
        self.disconnect()
        reader = getattr(self, "_reader", None)
        if reader is not None:
            reader.join(5)

    def nextValidId(self, orderId):
        self._record("nextValidId", orderId)

    def managedAccounts(self, accountsList):
        self._record("managedAccounts", accountsList)

    def error(self, reqId, errorCode, errorString):
        self._record("error", reqId, errorCode, errorString)

    def contractDetails(self, reqId, contractDetails):
        self._record("contractDetails", reqId, contractDetails)

    def contractDetailsEnd(self, reqId):
        self._record("contractDetailsEnd", reqId)

    def tickPrice(self, reqId, tickType, price, attrib):
        self._record("tickPrice", reqId, tickType, price)

    def tickSnapshotEnd(self, reqId):
        self._record("tickSnapshotEnd", reqId)

    def historicalData(self, reqId, bar):
        self._record("historicalData", reqId, bar)

    def historicalDataEnd(self, reqId, start, end):
        self._record("historicalDataEnd", reqId)

    def openOrder(self, orderId, contract, order, orderState):
        self._record("openOrder", orderId, order, orderState.status)

    def orderStatus(self, orderId, status, filled, remaining, avgFillPrice, permId, parentId, lastFillPrice,
                    clientId, whyHeld, mktCapPrice):
        self._record("orderStatus", orderId, status, filled, avgFillPrice, clientId, permId, whyHeld)

    def execDetails(self, reqId, contract, execution):
        self._record("execDetails", reqId, contract, execution)

    def execDetailsEnd(self, reqId):
        self._record("execDetailsEnd", reqId)

    def commissionReport(self, commissionReport):
        self._record("commissionReport", commissionReport)

    def position(self, account, contract, position, avgCost):
        self._record("position", contract.conId, position, avgCost)

    def positionEnd(self):
        self._record("positionEnd")

    def updateAccountValue(self, key, val, currency, accountName):
        self._record("updateAccountValue", key, val, currency)

    def accountDownloadEnd(self, accountName):
        self._record("accountDownloadEnd", accountName)

    def accountSummary(self, reqId, account, tag, value, currency):
        self._record("accountSummary", reqId, tag, value, currency)

    def accountSummaryEnd(self, reqId):
        self._record("accountSummaryEnd", reqId)

    def completedOrder(self, contract, order, orderState):
        self._record("completedOrder", order.permId, orderState.status)

    def completedOrdersEnd(self):
        self._record("completedOrdersEnd")

    def currentTime(self, time):
        self._record("currentTime", time)

    def connectionClosed(self):
        self._record("connectionClosed")
