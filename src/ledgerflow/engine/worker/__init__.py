"""The worker: claims executions, runs their steps' handlers on a bounded pool, and commits
outcomes with group commit (loop, events, attempts, leases, timers, finding work, loading)."""
