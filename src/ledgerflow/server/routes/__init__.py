"""The routes of the API, one module per resource. Every route sets its ``operation_id``,
which ``permissions.NEEDS`` maps to the lowest role allowed."""
