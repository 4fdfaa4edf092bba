"""Windows desktops through UI Automation (floor 2); tested here against a fake tree."""
