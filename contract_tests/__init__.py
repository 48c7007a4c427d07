"""HTTP-only contract suite: proves a deployment honours docs/api.md."""
