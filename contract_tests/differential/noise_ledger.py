"""Noise measured, not only listed (as Twitter's Diffy does it).

Every step is played on A, on A' (the same target again, with other destinations and IPs) and on
B. What differs between A and A' differs by nature; a noise rule is *confirmed* when a field it
governs differs between A and A'. A rule *hides* something when A and B differ in a field it
governs and the comparison passes only because of it. A rule that hid something and was never
confirmed is *stale* (a tolerance: once it hid HIDDEN_BEFORE_STALE): it may be hiding a real
difference, and the run fails.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from contract_tests.differential.noise import NOISE_RULES, rule_for
from contract_tests.differential.views import View, equal, where_of

# A tolerance (Retry-After within a second) covers two instants on either side of a second
# boundary; A and A' play each step at the same moment and cross one far less often than A and B.
# So a tolerance is stale only once it hid this many differences without one confirmation: a
# systematic off-by-one hides one at nearly every 429, chance hides a handful per 300 examples.
HIDDEN_BEFORE_STALE = {"seconds+-1": 10}

# Rules about what is sent, not what comes back: nothing in a response to measure them on.
NOT_MEASURABLE = frozenset(r.where for r in NOISE_RULES if r.treatment == "never-compared")


@dataclass
class NoiseLedger:
    seen: Counter[str] = field(default_factory=Counter)  # rule -> fields it governed
    confirmed: Counter[str] = field(default_factory=Counter)  # ... that differed A vs A'
    hid: Counter[str] = field(default_factory=Counter)  # ... that it made equal A vs B

    def observe(self, raw_a: View, raw_a2: View, raw_b: View, norm_a: View, norm_b: View) -> None:
        """One step: raw views (no rule applied) of A, A', B and the normalised A and B."""
        for key in set(raw_a) | set(raw_b):
            where = where_of(key)
            rule = rule_for(where)
            if rule is None:
                continue
            self.seen[where] += 1
            # Raw values compare exactly: a tolerance is a rule too, measured like the masks.
            if key in raw_a and key in raw_a2 and raw_a[key] != raw_a2[key]:
                self.confirmed[where] += 1
            if (key in norm_a and key in norm_b and raw_a.get(key) != raw_b.get(key)
                    and equal(key, norm_a[key], norm_b[key])):
                self.hid[where] += 1

    def stale(self) -> list[str]:
        return [r.where for r in NOISE_RULES if r.where not in NOT_MEASURABLE
                and self.hid[r.where] >= HIDDEN_BEFORE_STALE.get(r.treatment, 1)
                and not self.confirmed[r.where]]

    def report(self) -> str:
        lines = ["noise rules, measured (A vs A' confirms; A vs B is what a rule hid):"]
        for rule in NOISE_RULES:
            w = rule.where
            if w in NOT_MEASURABLE:
                verdict = "not measurable (a request value, never in a response)"
            elif not self.seen[w]:
                verdict = "not exercised in this run"
            elif w in self.stale():
                verdict = "STALE: hid differences that A vs A' never showed"
            elif self.hid[w] and not self.confirmed[w]:
                verdict = "unconfirmed: hid a few, A vs A' showed none (stale from " \
                          f"{HIDDEN_BEFORE_STALE.get(rule.treatment, 1)})"
            elif self.confirmed[w]:
                verdict = "confirmed"
            else:
                verdict = "never needed (A, A' and B agreed without it)"
            lines.append(f"  {w:24} {rule.treatment:14} seen {self.seen[w]:5}  "
                         f"A≠A' {self.confirmed[w]:5}  hid {self.hid[w]:5}  {verdict}")
        return "\n".join(lines)
