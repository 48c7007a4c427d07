"""Promotion: a plan (routing/table/plans.py) walked step by step on a front door (the local
gateway or a live ALB), each bake judged on evidence by the gate. Core: evidence.py, gate.py,
stats.py, engine.py, state.py; adapters: gateway.py (local), aws.py (ALB + CloudWatch)."""
