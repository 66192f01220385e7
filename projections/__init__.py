"""Read models built by followers of the event store (filled in by the projections issue)."""
