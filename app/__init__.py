"""The desktop app (floor 4): a PySide6 window to type a task, pick a device and a model, watch
the agent plan and act, approve risky actions, record and replay runs. Qt is imported only here."""
