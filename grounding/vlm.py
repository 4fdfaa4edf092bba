"""VLM grounders: ask a vision-language model where a described element is.

`VlmGrounder` works over any `ChatModel`: a local Qwen2-VL-family checkpoint (`HfVlmChat`:
ShowUI, UI-TARS, OS-Atlas, UGround, Qwen2-VL / Qwen2.5-VL) or an OpenAI-compatible endpoint
(`OpenAIChat`; `OpenAIGrounder` is that case under the registry name "openai").

A *family* picks the prompt (`assets/prompts/grounding_<family>.txt`, `$description`
placeholder, optional `[system]` / `[user]` sections) and the default coordinate scale the
model answers in (see coord_parse). The answer is mapped back through the resize the model's
processor applied, so the point lands right on any screen size and scale.
"""

from __future__ import annotations

import inspect
import logging
import re
import string
from collections.abc import Callable
from dataclasses import dataclass
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from grounding.base import Grounder, GroundingResult
from grounding.coord_parse import COORD_FORMATS, CoordFormat, Size, is_coord_format, parse_point, smart_resize
from grounding.models.base import ChatMessage, ChatModel, ChatReply
from grounding.models.response_format import (
    StructuredChatModel,
    StructuredMode,
    StructuredRequest,
    check_mode,
)
from guiagent.schema import Element, Observation, Point, TokenUsage, assets
from guiagent.schema.errors import ConfigError, GroundingError, PlanParseError

log = logging.getLogger(__name__)

QWEN_MIN_PIXELS = 56 * 56
QWEN_MAX_PIXELS = 28 * 28 * 1280  # Qwen2-VL's default: the lowest of the family's limits
# A location is a few dozen tokens; a far longer reply is garbage (and some coordinate patterns
# cost time quadratic in the length to search).
MAX_REPLY = 16_000
# What structured outputs ask a grounding model for: Qwen2.5-VL's own JSON point form, which
# coord_parse reads in the family's coordinate scale.
POINT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"point_2d": {"type": "array", "items": {"type": "number", "minimum": 0},
                                "minItems": 2, "maxItems": 2}},
    "required": ["point_2d"],
    "additionalProperties": False,
}


@dataclass(frozen=True)
class Family:
    coord_format: CoordFormat
    # Qwen2.5-VL-based releases of the family (UI-TARS-1.5, Qwen2.5-VL) answer in pixels of
    # the resized image instead; used when the local checkpoint says it is qwen2_5_vl.
    qwen25_format: CoordFormat | None = None
    qwen_vision: bool = True  # a Qwen2-VL processor resizes images (smart_resize)
    min_pixels: int = QWEN_MIN_PIXELS
    max_pixels: int = QWEN_MAX_PIXELS


FAMILIES: dict[str, Family] = {
    "showui": Family("unit", min_pixels=256 * 28 * 28, max_pixels=1344 * 28 * 28),  # ShowUI's README
    "uitars": Family("norm1000", qwen25_format="pixels"),
    "osatlas": Family("norm1000"),
    "uground": Family("norm1000"),
    "qwen2vl": Family("norm1000", qwen25_format="pixels"),
    "generic": Family("norm1000", qwen_vision=False),  # any instruction-following VLM (GPT-4o, ...)
}


def family_coord_format(family: str, model_type: str = "") -> CoordFormat:
    """The scale a `family` grounder answers in; Qwen2.5-VL-based releases answer in pixels."""
    if family not in FAMILIES:
        raise ConfigError(f"unknown VLM family {family!r}; choose one of: {', '.join(FAMILIES)}")
    fam = FAMILIES[family]
    return fam.qwen25_format if model_type == "qwen2_5_vl" and fam.qwen25_format else fam.coord_format


_SPECIAL_TOKEN = re.compile(r"<\|[^|<>]{1,40}\|>")


@dataclass(frozen=True)
class PromptTemplate:
    system: str
    user: str

    @classmethod
    def parse(cls, text: str) -> PromptTemplate:
        sections: dict[str, list[str]] = {"system": [], "user": []}
        current = "user"
        for line in text.splitlines():
            header = line.strip().lower()
            if header in ("[system]", "[user]"):
                current = header[1:-1]
                continue
            sections[current].append(line)
        system, user = ("\n".join(sections[k]).strip() for k in ("system", "user"))
        if "$description" not in user and "${description}" not in user:
            raise ConfigError("a grounding prompt needs a $description placeholder in its [user] part")
        return cls(system=system, user=user)

    @classmethod
    def load(cls, family_or_path: str) -> PromptTemplate:
        path: Path | Traversable = Path(family_or_path)
        if not path.is_file():
            path = assets.prompt_path(f"grounding_{family_or_path}")
        if not path.is_file():
            raise ConfigError(f"no grounding prompt {family_or_path!r} (looked for {path})")
        return cls.parse(path.read_text(encoding="utf-8"))

    def messages(self, description: str, image: Any) -> list[ChatMessage]:
        values = {"description": description}
        out = []
        if self.system:
            out.append(ChatMessage("system", string.Template(self.system).safe_substitute(values)))
        out.append(ChatMessage("user", string.Template(self.user).safe_substitute(values), (image,)))
        return out


def clean_description(description: str) -> str:
    """One line, no chat special tokens: screen-derived text must not steer the model's turn."""
    text = _SPECIAL_TOKEN.sub(" ", description or "")
    return " ".join(text.split())


def element_at(point: Point, observation: Observation) -> Element | None:
    """The smallest observation element whose box contains `point` (elements are in screenshot pixels)."""
    shot = observation.screenshot
    size = shot.size if shot is not None else observation.screen_size
    px, py = point.to_pixels(size)
    inside = [e for e in observation.elements if e.bbox[0] <= px <= e.bbox[2] and e.bbox[1] <= py <= e.bbox[3]]
    return min(inside, key=lambda e: (e.width * e.height, not e.enabled), default=None)


class VlmGrounder(Grounder):
    """Ground a description with a VLM: prompt with the screenshot, parse the point it prints."""

    name = "vlm"

    def __init__(
        self,
        model: ChatModel,
        *,
        family: str = "qwen2vl",
        coord_format: str | None = None,
        prompt: str | None = None,
        max_tokens: int = 64,
        presize: bool | None = None,
        min_pixels: int | None = None,
        max_pixels: int | None = None,
        structured: str = "off",
    ) -> None:
        if family not in FAMILIES:
            raise ConfigError(f"unknown VLM family {family!r}; choose one of: {', '.join(FAMILIES)}")
        fam = FAMILIES[family]
        if coord_format is None:
            coord_format = family_coord_format(family, getattr(model, "model_type", ""))
        if not is_coord_format(coord_format):
            raise ConfigError(f"unknown coord_format {coord_format!r}; choose one of: {', '.join(COORD_FORMATS)}")
        self.model = model
        self.family = family
        self.coord_format: CoordFormat = coord_format
        self.template = PromptTemplate.load(prompt or family)
        self.max_tokens = int(max_tokens)
        # Remote Qwen-family servers resize images themselves, out of our sight: send an image
        # already at a size their processor keeps, so "the size the model saw" is known. A local
        # model reports its own resize instead.
        if presize is None:
            presize = fam.qwen_vision and not model.reports_image_sizes
        self.presize = bool(presize)
        self.min_pixels = int(min_pixels or fam.min_pixels)
        self.max_pixels = int(max_pixels or fam.max_pixels)
        self.usage = TokenUsage()
        self.last_reply: ChatReply | None = None
        # structured=auto|json_schema|json_object|ollama asks the endpoint for {"point_2d": [x, y]}
        self.structured: StructuredMode = check_mode(structured)
        if self.structured not in ("off", "auto") and not isinstance(model, StructuredChatModel):
            raise ConfigError(f"structured={self.structured} needs an OpenAI-compatible endpoint; "
                              f"{model.name} takes no response format")

    # -- construction from config ----------------------------------------------------------

    @classmethod
    def from_options(cls, build_model: Callable[..., ChatModel], /, **options: Any) -> VlmGrounder:
        """model_path=DIR -> a local checkpoint (HfVlmChat; adapter=DIR adds a LoRA adapter trained by
        `guiagent train grounder --backend vlm`); base_url / model -> an endpoint
        (OpenAIChat). Also: family, coord_format, prompt (family name or file), max_tokens,
        presize, min_pixels, max_pixels, device, dtype, api_key, timeout_s, max_retries.

        `build_model` turns the model options into a ChatModel: the registry passes its
        `build_chat_model` (guiagent.registry.build_grounder("vlm", ...) does all of this)."""
        # The registry has checked the names (guiagent.registry.GROUNDERS); here they are split.
        # The grounder's own options are its constructor's keyword-only parameters; the rest build
        # the model.
        params = inspect.signature(VlmGrounder).parameters.values()
        own = {p.name for p in params if p.kind is p.KEYWORD_ONLY}
        opts = {k: v for k, v in options.items() if v is not None}
        model_opts = {k: v for k, v in opts.items() if k not in own}
        if opts.get("model_path"):
            # A local model resizes inside its own processor: pixel limits belong there.
            for key in ("min_pixels", "max_pixels"):
                if key in opts:
                    model_opts[key] = opts.pop(key)
        model = build_model(**cls._model_options(model_opts))
        grounder_opts = {k: v for k, v in opts.items() if k in own}
        return cls(model, **grounder_opts)

    @classmethod
    def _model_options(cls, model_opts: dict[str, Any]) -> dict[str, Any]:
        return model_opts

    # -- grounding -------------------------------------------------------------------------

    def _image_to_send(self, screenshot: Any) -> tuple[Any, Size]:
        if not self.presize:
            return screenshot, screenshot.size
        w, h = screenshot.size
        size = smart_resize(w, h, min_pixels=self.min_pixels, max_pixels=self.max_pixels)
        if size == (w, h):
            return screenshot, size
        from PIL import Image

        return screenshot.resize(size, Image.Resampling.BICUBIC), size

    def ground(self, description: str, observation: Observation) -> GroundingResult:
        query = clean_description(description)
        if not query:
            raise GroundingError("nothing to ground: the description is empty")
        shot = observation.screenshot
        if shot is None or not hasattr(shot, "size"):
            raise GroundingError("the VLM grounder needs a screenshot in the observation")
        image, sent_size = self._image_to_send(shot)
        messages = self.template.messages(query, image)
        if self.structured != "off" and isinstance(self.model, StructuredChatModel):
            request = StructuredRequest("point", POINT_SCHEMA, self.structured)
            reply = self.model.chat_structured(messages, request, max_tokens=self.max_tokens)
        else:
            reply = self.model.chat(messages, max_tokens=self.max_tokens)
        self.last_reply = reply
        self.usage = self.usage + reply.usage
        # The size the model saw: its processor's resize when it reports one, else what we sent.
        seen = reply.image_sizes[0][1] if reply.image_sizes else sent_size
        try:
            if len(reply.text) > MAX_REPLY:
                raise PlanParseError(f"the reply is {len(reply.text)} characters long (at most {MAX_REPLY})")
            point = parse_point(reply.text, self.coord_format, seen)
        except PlanParseError as exc:
            why = str(exc) if len(str(exc)) <= 300 else str(exc)[:297] + "..."  # it may quote the reply
            raise GroundingError(
                f"{self.model.name} gave no usable location for {query!r}: {why}", usage=reply.usage
            ) from exc
        element = element_at(point, observation)
        log.debug("grounded %r -> (%.3f, %.3f) %s", query, point.x, point.y, element.id if element else "")
        return GroundingResult(point=point, element=element, method="vlm", usage=reply.usage)

    def close(self) -> None:
        self.model.close()


class OpenAIGrounder(VlmGrounder):
    """A VlmGrounder over an OpenAI-compatible endpoint (OpenAI, vLLM, Ollama, LM Studio).

    Defaults to the "generic" family (a plain instruction asking for 0-1000 coordinates);
    pass family=uitars|osatlas|uground|showui|qwen2vl when the endpoint serves such a model.
    """

    name = "openai"

    def __init__(self, model: ChatModel, *, family: str = "generic", **kwargs: Any) -> None:
        super().__init__(model, family=family, **kwargs)

    @classmethod
    def _model_options(cls, model_opts: dict[str, Any]) -> dict[str, Any]:
        if model_opts.get("model_path") or model_opts.get("backend") not in (None, "openai"):
            raise ConfigError("the openai grounder talks to an endpoint; use the vlm grounder for model_path=DIR")
        return {**model_opts, "backend": "openai"}
