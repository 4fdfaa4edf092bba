"""`guiagent eval safety`: adversarial screens (virtual-phone apps and desktop pages), gullible
scripted planners and the rule planner, scored from the apps' own state."""
