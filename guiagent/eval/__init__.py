"""Evaluations: the AITW action-matching metric (`aitw_metric`), planner evaluation on AITW-format
data, and the scripted chat server the planner benchmark talks to (`scripted_server`)."""
