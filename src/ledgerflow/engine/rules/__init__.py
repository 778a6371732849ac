"""How executions move, as pure rules over a ``Transition``: the graph rules, step kinds
(waits, sleeps), signal handler runs, starting, recovery and operator actions. They import
only the model."""
