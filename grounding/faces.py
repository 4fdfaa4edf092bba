"""Widgets found by their face rather than their outline.

Widgets drawn edge to edge (a button glued to a text field, a stack of buttons, as HTML
renders inline controls without margins) touch, so their borders form one connected outline
that is no single box. Each still has its own face: a region without edges, (nearly)
rectangular, enclosed by edges on every side. `detect.detect_widgets` classifies these faces
like outlines when no outline found the widget."""

from __future__ import annotations

import numpy as np

from grounding.pixels import Box, DetectorOptions, components, label_runs


def faces(edges: np.ndarray, opts: DetectorOptions, border: int = 3) -> list[Box]:
    """Boxes of widgets found by their face: a (nearly) rectangular region without edges that
    edges enclose on every side, grown by `border` px. Widgets drawn edge to edge (a button
    glued to a field, a stack of buttons) share one outline but each keeps its own face."""
    h, w = edges.shape
    runs = label_runs(~edges)
    if len(runs.row) == 0:
        return []
    c = components(runs, w, h)
    x0, y0, x1, y1, area = c.x0, c.y0, c.x1, c.y1, c.area
    cw, ch = x1 - x0, y1 - y0
    keep = ((cw >= opts.field_min_w - 2 * border) & (ch >= opts.field_min_h - 2 * border)
            & (ch <= opts.button_max_h) & (cw <= opts.max_width_frac * w)
            & ((cw > opts.box_max) | (ch > opts.box_max))  # small squares are the outlines' job
            & (x0 > 0) & (y0 > 0) & (x1 < w) & (y1 < h)  # the page around everything touches the border
            & (area >= 0.6 * cw * ch))  # text inside leaves holes; a page region is not that full
    return [(max(0, int(a) - border), max(0, int(b) - border), min(w, int(c) + border), min(h, int(d) + border))
            for a, b, c, d in zip(x0[keep], y0[keep], x1[keep], y1[keep], strict=True)]
