"""Where a plan's weights take effect: the local gateway (gateway.py) or a live ALB listener
(aws.py). The engine writes the route table first (the table stays the one source of truth);
the front door then serves the rule's weights from it and proves it by reading them back."""

from __future__ import annotations

from typing import Protocol

from routing.table.model import RouteTable


class FrontDoorError(RuntimeError):
    """The front door did not take (or does not show) the weights; the message says what to
    check next."""


class FrontDoor(Protocol):
    def describe(self) -> str:
        """One line: "gateway http://127.0.0.1:8080", "ALB listener arn:aws:...", ..."""
        ...

    def apply(self, table: RouteTable, rule: str) -> None:
        """Serve `table`'s weights for `rule`; return once they are read back equal, else raise
        FrontDoorError."""
        ...

    def pin_url(self) -> str | None:
        """The base URL clients use (hooks reach the new side through it with the pin
        header), when the front door has one."""
        ...
