"""Android phones through adbutils and the adb server (floor 2)."""
