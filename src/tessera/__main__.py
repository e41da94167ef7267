"""``python -m tessera`` runs the command line."""

from tessera.cli.main import main

main()
