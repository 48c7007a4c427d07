"""Problems found in a route table: each names the rule and the field, as ALB's errors do."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    rule: str  # rule name, "default" for the default action, "target_groups.<name>", or "table"
    field: str  # dotted path inside the rule, e.g. "conditions[0].values[1]"
    message: str

    def __str__(self) -> str:
        return f"rule {self.rule!r}: {self.field}: {self.message}"


class TableError(ValueError):
    """The table is not something an ALB would accept; `problems` says where and why."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))
