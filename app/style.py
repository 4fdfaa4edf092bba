"""Themes: one palette per theme, a Qt palette and a style sheet built from it.

Widgets that need a colour in code (the live view's overlay, the timeline's status dots)
read it from `current()`, so that the dark and the light theme stay consistent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # Qt is imported where it is used: the palettes are readable without it
    from PySide6.QtGui import QFont
    from PySide6.QtWidgets import QApplication

FONT_FAMILIES = ["Inter", "Noto Sans", "Noto Sans CJK SC", "DejaVu Sans", "Sans Serif"]
MONO_FAMILIES = ["JetBrains Mono", "DejaVu Sans Mono", "Monospace"]


@dataclass(frozen=True)
class Theme:
    name: str
    bg: str  # window background
    surface: str  # cards, panels
    surface2: str  # inputs, hovered rows
    border: str
    text: str
    muted: str
    accent: str
    accent_text: str
    success: str
    warning: str
    danger: str
    canvas: str  # behind the device screen


DARK = Theme(
    name="dark", bg="#0d1117", surface="#161b22", surface2="#1f2630", border="#2a3240", text="#e6edf3",
    muted="#8b949e", accent="#4c8dff", accent_text="#ffffff", success="#3fb950", warning="#d29922",
    danger="#f0524a", canvas="#090c10",
)
LIGHT = Theme(
    name="light", bg="#f3f5f8", surface="#ffffff", surface2="#eef1f5", border="#d5dbe3", text="#1f2328",
    muted="#626b76", accent="#2f6feb", accent_text="#ffffff", success="#1a7f37", warning="#9a6700",
    danger="#cf222e", canvas="#e4e8ee",
)
THEMES = {"dark": DARK, "light": LIGHT}
_current: Theme = DARK

# Run states -> colour role, shared by the status pill and the timeline.
STATE_COLORS = {"idle": "muted", "connecting": "warning", "starting": "warning", "running": "accent",
                "paused": "warning", "stopping": "warning", "success": "success", "failed": "danger",
                "stopped": "warning", "recording": "danger", "replaying": "accent", "error": "danger"}


def current() -> Theme:
    return _current


def color(role: str) -> str:
    """A palette colour by role name ("accent", "danger", ...)."""
    return str(getattr(_current, role))


def state_color(state: str) -> str:
    return color(STATE_COLORS.get(state, "muted"))


def stylesheet(t: Theme) -> str:
    return f"""
* {{ color: {t.text}; font-size: 13px; }}
QMainWindow, QDialog {{ background: {t.bg}; }}
QWidget#central {{ background: {t.bg}; }}
QToolTip {{ background: {t.surface2}; color: {t.text}; border: 1px solid {t.border}; padding: 4px 6px; }}
QFrame#card {{ background: {t.surface}; border: 1px solid {t.border}; border-radius: 10px; }}
QFrame#minibar {{ background: {t.surface}; border: 1px solid {t.danger}; border-radius: 10px; }}
QFrame#topbar {{ background: {t.surface}; border-bottom: 1px solid {t.border}; }}
QLabel {{ background: transparent; }}
QLabel#brand {{ font-size: 16px; font-weight: 700; letter-spacing: 0.5px; }}
QLabel#brandDot {{ color: {t.accent}; font-size: 18px; }}
QLabel#h2 {{ font-size: 11px; font-weight: 700; color: {t.muted}; letter-spacing: 1px; }}
QLabel#muted {{ color: {t.muted}; }}
QLabel#small {{ color: {t.muted}; font-size: 11px; }}
QLabel#mono {{ color: {t.muted}; font-size: 11px; }}
QLabel#stepTitle {{ font-weight: 600; }}
QLabel#pill {{ border-radius: 11px; padding: 3px 12px; font-weight: 700; font-size: 11px;
              color: {t.accent_text}; }}
QLabel#badge {{ background: {t.surface2}; border: 1px solid {t.border}; border-radius: 8px;
               padding: 1px 8px; color: {t.muted}; font-size: 11px; }}
QFrame#banner {{ border-radius: 8px; border: 1px solid {t.danger}; background: {t.surface}; }}
QLabel#bannerTitle {{ color: {t.danger}; font-weight: 700; }}
QLineEdit, QComboBox, QSpinBox, QPlainTextEdit, QTextEdit {{
    background: {t.surface2}; border: 1px solid {t.border}; border-radius: 6px; padding: 5px 8px;
    selection-background-color: {t.accent}; selection-color: {t.accent_text}; }}
QLineEdit:focus, QComboBox:focus, QSpinBox:focus {{ border: 1px solid {t.accent}; }}
QComboBox::drop-down {{ border: none; width: 20px; }}
QComboBox QAbstractItemView {{ background: {t.surface}; border: 1px solid {t.border};
    selection-background-color: {t.accent}; selection-color: {t.accent_text}; outline: 0; }}
QLineEdit#taskBox, QComboBox#taskBox {{ font-size: 14px; padding: 7px 10px; }}
QPushButton {{ background: {t.surface2}; border: 1px solid {t.border}; border-radius: 6px;
    padding: 6px 12px; font-weight: 600; }}
QPushButton:hover {{ border-color: {t.accent}; }}
QPushButton:pressed {{ background: {t.border}; }}
QPushButton:disabled {{ color: {t.muted}; background: {t.surface}; border-color: {t.surface2}; }}
QPushButton:checked {{ background: {t.accent}; color: {t.accent_text}; border-color: {t.accent}; }}
QPushButton#primary {{ background: {t.accent}; color: {t.accent_text}; border-color: {t.accent}; }}
QPushButton#primary:disabled {{ background: {t.surface2}; color: {t.muted}; border-color: {t.border}; }}
QPushButton#danger {{ background: {t.danger}; color: #ffffff; border-color: {t.danger};
    font-size: 14px; font-weight: 800; padding: 7px 18px; }}
QPushButton#danger:disabled {{ background: {t.surface2}; color: {t.muted}; border-color: {t.border}; }}
QPushButton#flat {{ background: transparent; border: none; color: {t.muted}; padding: 4px 8px; }}
QPushButton#flat:hover {{ color: {t.text}; }}
QPushButton#flat:checked {{ color: {t.accent}; background: transparent; }}
QCheckBox {{ spacing: 8px; }}
QTabWidget::pane {{ border: none; }}
QTabBar::tab {{ background: transparent; color: {t.muted}; padding: 7px 14px; border: none;
    border-bottom: 2px solid transparent; font-weight: 600; }}
QTabBar::tab:selected {{ color: {t.text}; border-bottom: 2px solid {t.accent}; }}
QTabBar::tab:hover {{ color: {t.text}; }}
QListWidget {{ background: transparent; border: none; outline: 0; }}
QListWidget::item {{ border-radius: 8px; margin: 2px 0px; }}
QListWidget::item:selected {{ background: {t.surface2}; border: 1px solid {t.accent}; }}
QListWidget::item:hover {{ background: {t.surface2}; }}
QScrollArea {{ background: transparent; border: none; }}
QScrollArea#liveScroll {{ background: {t.canvas}; border-radius: 8px; }}
QScrollBar:vertical {{ background: transparent; width: 10px; margin: 2px; }}
QScrollBar::handle:vertical {{ background: {t.border}; border-radius: 4px; min-height: 24px; }}
QScrollBar:horizontal {{ background: transparent; height: 10px; margin: 2px; }}
QScrollBar::handle:horizontal {{ background: {t.border}; border-radius: 4px; min-width: 24px; }}
QScrollBar::add-line, QScrollBar::sub-line {{ width: 0; height: 0; }}
QSplitter::handle {{ background: {t.bg}; }}
QStatusBar {{ background: {t.surface}; border-top: 1px solid {t.border}; color: {t.muted}; }}
QStatusBar QLabel {{ color: {t.muted}; font-size: 12px; }}
QStatusBar::item {{ border: none; border-right: 1px solid {t.border}; }}
QSpinBox {{ padding-left: 8px; padding-right: 22px; }}
QSpinBox::up-button, QSpinBox::down-button {{ subcontrol-origin: border; width: 20px; border: none;
    background: transparent; }}
QSpinBox::up-button {{ subcontrol-position: top right; }}
QSpinBox::down-button {{ subcontrol-position: bottom right; }}
QSpinBox::up-arrow, QSpinBox::down-arrow {{ width: 7px; height: 2px; background: {t.muted}; border: none; }}
QSpinBox::up-arrow:hover, QSpinBox::down-arrow:hover {{ background: {t.accent}; }}
QGroupBox {{ border: none; margin-top: 6px; font-weight: 700; color: {t.muted}; }}
"""


def apply_theme(app: QApplication, name: str = "dark") -> Theme:
    """Set the palette, the font and the style sheet of the QApplication `app`."""
    from PySide6.QtGui import QColor, QFont, QPalette

    global _current
    theme = THEMES.get(name, DARK)
    _current = theme
    app.setStyle("Fusion")
    pal = QPalette()
    for role, value in ((QPalette.ColorRole.Window, theme.bg), (QPalette.ColorRole.WindowText, theme.text),
                        (QPalette.ColorRole.Base, theme.surface2), (QPalette.ColorRole.AlternateBase, theme.surface),
                        (QPalette.ColorRole.Text, theme.text), (QPalette.ColorRole.Button, theme.surface2),
                        (QPalette.ColorRole.ButtonText, theme.text), (QPalette.ColorRole.Highlight, theme.accent),
                        (QPalette.ColorRole.HighlightedText, theme.accent_text),
                        (QPalette.ColorRole.ToolTipBase, theme.surface2), (QPalette.ColorRole.ToolTipText, theme.text),
                        (QPalette.ColorRole.PlaceholderText, theme.muted)):
        pal.setColor(role, QColor(value))
    app.setPalette(pal)
    font = QFont()
    font.setFamilies(FONT_FAMILIES)
    font.setPointSizeF(10)
    app.setFont(font)
    app.setStyleSheet(stylesheet(theme))
    return theme


def mono_font(size: float = 9.0) -> QFont:
    from PySide6.QtGui import QFont

    f = QFont()
    f.setFamilies(MONO_FAMILIES)
    f.setPointSizeF(size)
    return f
