"""``python -m ledgerflow`` runs the command line."""

from ledgerflow.cli.main import main

main()
