"""The route table: typed model, TOML loading and writing, ALB validation, weights, storage."""
