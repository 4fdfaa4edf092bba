"""Linux/X11 desktops: mss + pyautogui input, XTest typing, AT-SPI, Xvfb (floor 2)."""
