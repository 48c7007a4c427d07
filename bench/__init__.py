"""Benchmarks: the monolith, the extracted services and the gateway against this machine's ceilings.

`./dev bench` (= `python -m bench`) starts everything it measures on loopback, drives it with wrk
(and an asyncio client for the multi-step flow), and writes `bench/results/latest.{json,png}`.
"""
