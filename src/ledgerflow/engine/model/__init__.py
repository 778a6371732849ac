"""The execution model, pure: lifecycles, the in-memory view of an execution, the change
being built from it (``Transition``), and derived facts about a definition's graph."""
