"""How executions move, as pure rules over a ``Transition``: the graph rules (``flow``), the
step kinds (``kinds``: tasks, waits, sleeps) and what happens to one step run
(``step_runs``, ``dispatching``), signal delivery and handler runs, starting, recovery and
operator actions. They import only the model; inside, the kinds sit below ``flow``."""
