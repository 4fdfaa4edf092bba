"""The world (floor 2): one Device protocol (base) and its platforms: X11 desktops, Android over
adb, Windows UI Automation, and the virtual phone. Imports only the vocabulary (guiagent.schema),
never grounding/."""
