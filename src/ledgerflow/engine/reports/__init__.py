"""Read models built from stored rows: an execution's status, its history, the workers."""
