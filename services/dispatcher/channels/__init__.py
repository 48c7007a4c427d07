"""Channel adapters: one module per way of reaching a user, behind the `Channel` protocol."""
