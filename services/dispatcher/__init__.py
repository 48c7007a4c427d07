"""The dispatcher: delivers the jobs of `vfy:outbox` (docs/storage-contract.md) by SMS or email.

Run: `python -m services.dispatcher`. Delivery is at least once: a job is acknowledged only after
its channel accepted it, so a crash between the two can repeat that one message, never lose it.
"""
