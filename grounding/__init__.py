"""The eyes (floor 2): screen parsing (OCR, pixel detectors, a11y merge), grounders that turn a
description into a point, and the chat models behind model-backed grounders and planners.
Imports only the vocabulary (guiagent.schema), never devices/."""
