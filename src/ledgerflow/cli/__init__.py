"""The ``ledgerflow`` command line: parse, call the App, render. No SQL, no engine internals."""
