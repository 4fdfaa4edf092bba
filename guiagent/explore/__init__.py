"""GUI-Bee style exploration: explore an environment, prefer actions whose outcome is novel,
and collect (screen, instruction, target box) grounding records for that environment.

- `graph`: screens (nodes, identified by a robust signature) and actions (edges).
- `actions`: the candidate actions of a screen, filtered by the safety guard.
- `policy`: the novelty Q-value policy (and the uniform-random baseline).
- `instructions`: instruction text and data type of an element, titles of screens.
- `collector`: writes `images/`, `screenspot.json` (ScreenSpot format) and `graph.json`.
- `run`: the exploration loop.

Nothing heavy is imported here.
"""
