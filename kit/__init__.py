"""What the new side's processes (services, dispatcher, gateway, dev inbox) share, and nothing of
the API: `kit.settings` (typed settings from the environment) and `kit.logs` (JSON log lines).
The monolith, the legacy side, keeps its own of both."""
