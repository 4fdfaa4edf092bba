"""guiagent's shipped files (prompts/, scenarios/, demo_form.py), installed as the package
`guiagent_assets` (see pyproject.toml's package-dir); read them through guiagent.schema.assets."""
