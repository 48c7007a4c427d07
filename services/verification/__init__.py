"""Domain core of the verification API: no web framework in here (docs/storage-contract.md)."""
