"""`python -m guiagent`: the command line."""

from guiagent.cli import main

main()
