"""guiagent: a GUI automation agent (perception -> planning -> action on X11, Android, Windows).

Kept light on purpose: importing the package imports nothing else; the vocabulary lives in
guiagent.schema, the loop in guiagent.agent, the command line in guiagent.cli."""
