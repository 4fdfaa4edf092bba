"""One small exception hierarchy for the whole project.

Every error names what was wrong and, where it can, what to do about it. Callers catch the
narrowest class they can handle; the agent loop catches `GuiAgentError` at its boundary so
that no model output and no device hiccup ever crashes it.
"""

from __future__ import annotations

from guiagent.schema.trace import TokenUsage


class GuiAgentError(Exception):
    """Base class of every error this project raises on purpose."""


class SpentTokensError(GuiAgentError):
    """An error that may have cost model tokens before it was raised (a reply that did not
    parse, a location the model could not give). `usage` is declared, not patched on later,
    so the loop counts what failed attempts spent."""

    def __init__(self, message: str, *, usage: TokenUsage | None = None) -> None:
        super().__init__(message)
        self.usage: TokenUsage = usage if usage is not None else TokenUsage()

    def with_usage(self, usage: TokenUsage) -> SpentTokensError:
        """This error, charged with `usage` (what the attempt spent so far); returns self."""
        self.usage = usage
        return self


class ConfigError(GuiAgentError):
    """A device, planner or grounder spec, a flag or a setting is wrong."""


class DeviceError(GuiAgentError):
    """The device could not do what was asked (it is still there)."""


class DeviceDisconnected(DeviceError):
    """The device went away (unplugged phone, closed display). It may come back."""


class DeviceTimeout(DeviceError):
    """The device did not answer in time (stalled adb, hung X server)."""


class UnsupportedAction(DeviceError):
    """This device cannot perform this kind of action (e.g. `back` on a desktop)."""


class GroundingError(SpentTokensError):
    """A description could not be matched to anything on the screen."""


class PlannerError(SpentTokensError):
    """The planner could not produce a decision."""


class PlanParseError(PlannerError):
    """Model output did not parse into a valid action. `raw` keeps what the model said."""

    def __init__(self, message: str, raw: str = "", *, usage: TokenUsage | None = None) -> None:
        super().__init__(message, usage=usage)
        self.raw = raw


class InstructionNotUnderstood(PlannerError):
    """The rule planner could not parse the task; it says so instead of guessing."""


class ModelError(SpentTokensError):
    """A model backend failed (endpoint unreachable, bad reply, missing checkpoint)."""


class SafetyBlocked(GuiAgentError):
    """The guard refused an action (or the user declined it)."""


class StopRequested(GuiAgentError):
    """The user, the kill switch or a signal asked the loop to stop."""


class RecordingError(GuiAgentError):
    """An episode folder is missing, corrupt or was written by an incompatible version."""
