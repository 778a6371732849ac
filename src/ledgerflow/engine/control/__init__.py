"""Operator commands, committed: load an execution, apply an operator rule, commit under the
optimistic guard; editing state documents; retention."""
