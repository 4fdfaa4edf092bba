"""Episodes on disk, the human demonstration recorder, dataset export and replay.

Kept light: importing the package pulls in no capture or input library.
"""

from guiagent.recorder.episode import (
    EpisodeWriter,
    RepairReport,
    list_episodes,
    read_episode,
    repair_episode,
)
from guiagent.recorder.redact import Redactor

__all__ = ["EpisodeWriter", "Redactor", "RepairReport", "list_episodes", "read_episode", "repair_episode"]
