"""The local ALB-like gateway: `python -m routing.gateway --table routing/routes.toml`."""
