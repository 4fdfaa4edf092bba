"""Pure codecs over the vocabulary (floor 1): the planners' action JSON and the AITW format."""
