"""The FastAPI application: routes, auth, schemas and pages (filled in by the HTTP API issue)."""
