"""The bench's SMS destinations: valid US numbers (the API refuses invalid, toll-free and premium
ones), one area code per workload so that their records can be told apart in Redis.

In these area codes every exchange 200-999 is a valid FIXED_LINE_OR_MOBILE number for
phonenumbers (tests/unit/bench/test_phones.py checks it): 8,000,000 numbers per area code.
bench/lua/send.lua, the wrk workload, makes its own in the same form (area codes 202-512).
"""

from __future__ import annotations

LOADER_AREA_CODE = "212"  # pending verifications written straight into Redis
CHECK_AREA_CODE = "718"  # verifications the target creates for the check workload (own_pending.py)
PROBE_AREA_CODE = "646"
MIXED_AREA_CODE = "617"
NUMBERS_PER_AREA_CODE = 800 * 10_000


def us_mobile(area_code: str, index: int) -> str:
    """The `index`-th number of `area_code`: exchange 200 + index // 10,000, then 4 digits."""
    if not 0 <= index < NUMBERS_PER_AREA_CODE:
        raise ValueError(f"index {index} is outside 0..{NUMBERS_PER_AREA_CODE - 1}")
    return f"+1{area_code}{200 + index // 10_000}{index % 10_000:04d}"
