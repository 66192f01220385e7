"""The ledger: domain, application services, settings, storage wiring and CLI."""
