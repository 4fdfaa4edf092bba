"""`python -m guiagent`: the command line."""

import sys

from grounding.warm import start_for_argv

start_for_argv(sys.argv[1:])  # `run`: the OCR and MiniLM models load while the CLI imports

from guiagent.cli import main  # noqa: E402

main()
