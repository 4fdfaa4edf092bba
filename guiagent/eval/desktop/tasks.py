"""The desktop evaluation's task list: third-party Debian apps and dialogs (GTK, Qt, Tk, Xaw,
Chromium pages), each task judged by the app's own output, each with a sabotaged twin.

Fixed before any tuning against it (issue 15): tasks are added, never dropped after a score is
seen. The apps are Debian's, not ours; our code only starts them with arguments and reads what
they print, save, copy or show (a page's address through Chromium's DevTools endpoint).

A twin runs the same instruction on the same app with the target hidden (a blank window mapped
over it), disabled (a read-only file) or renamed (another label): it must end failed or
impossible, never success.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Toolkit = Literal["gtk", "qt", "tk", "xaw", "chromium"]


@dataclass(frozen=True)
class Output:
    """How the app's result is read and what it must be.

    stdout: what the app printed before it exited, stripped. exit: its exit status. file: the
    content of `path` (relative to the task's working directory), stripped. clipboard: the
    CLIPBOARD after Ctrl+C in the app's window. url: the address of Chromium's page."""

    kind: Literal["stdout", "exit", "file", "clipboard", "url"]
    expect: str
    match: Literal["equals", "endswith", "contains"] = "equals"
    path: str = ""


@dataclass(frozen=True)
class Sabotage:
    """hide: map a blank window over the element whose text/name is `target` (found through the
    screen parser before the agent starts). argv: start the app with these arguments instead.
    readonly: make `path` (in the working directory) read-only before starting."""

    kind: Literal["hide", "argv", "readonly"]
    target: str = ""
    with_field: bool = False  # hide: also the text field the target names from its right (a search box)
    argv: tuple[str, ...] = ()
    path: str = ""


@dataclass(frozen=True)
class DesktopTask:
    id: str
    toolkit: Toolkit
    app: str  # the Debian package
    argv: tuple[str, ...]  # "{work}" = the task's throwaway working directory, "{port}" = a free port
    title: str  # a substring of the window title to wait for
    instruction: str
    output: Output
    sabotage: Sabotage
    files: dict[str, str] = field(default_factory=dict)  # created in the working directory first
    server: tuple[str, ...] = ()  # a helper process serving the page (Chromium tasks), same placeholders
    url: str = ""  # the page Chromium opens
    max_steps: int = 12


_FORM = ("zenity", "--forms", "--title=Sign up", "--text=Join the mailing list", "--separator=|")
_ADDR = ("zenity", "--forms", "--title=Shipping address", "--text=Where should we send it?", "--separator=|")
_WISH = ("wish", "{work}/dialog.tcl")
_FILES = {"notes.md": "# notes\n", "report.txt": "quarterly report\n", "todo.txt": "- nothing\n"}

TASKS: tuple[DesktopTask, ...] = (
    DesktopTask(
        "zenity-form", "gtk", "zenity", (*_FORM, "--add-entry=First name", "--add-entry=E-mail"), "Sign up",
        "Type 'Ada' into First name, type 'ada@example.org' into E-mail, then click OK",
        Output("stdout", "Ada|ada@example.org"),
        Sabotage("argv", argv=(*_FORM, "--add-entry=First name", "--add-entry=Phone"))),
    DesktopTask(
        "zenity-address-slots", "gtk", "zenity",
        (*_ADDR, "--add-entry=City", "--add-entry=Postal code", "--add-entry=Country"), "Shipping address",
        "Fill in the address with the postal code 75001, the country France and the city Paris, then press OK",
        Output("stdout", "Paris|75001|France"),
        Sabotage("argv", argv=(*_ADDR, "--add-entry=City", "--add-entry=Country"))),
    DesktopTask(
        "zenity-checklist", "gtk", "zenity",
        ("zenity", "--list", "--checklist", "--title=Fruit basket", "--text=Pick fruit", "--column=Pick",
         "--column=Fruit", "--separator=|", "FALSE", "Apple", "FALSE", "Banana", "FALSE", "Cherry",
         "FALSE", "Damson"), "Fruit basket",
        "Tick Banana and Cherry, then click OK",
        Output("stdout", "Banana|Cherry"),
        Sabotage("argv", argv=("zenity", "--list", "--checklist", "--title=Fruit basket", "--text=Pick fruit",
                               "--column=Pick", "--column=Fruit", "--separator=|", "FALSE", "Apple", "FALSE",
                               "Banana", "FALSE", "Damson"))),
    DesktopTask(
        "zenity-entry", "gtk", "zenity",
        ("zenity", "--entry", "--title=Rename", "--text=New name for the folder:"), "Rename",
        "Type 'archive-2026' into the new name field and click OK",
        Output("stdout", "archive-2026"),
        Sabotage("argv", argv=("zenity", "--entry", "--title=Rename", "--text=New name for the folder:",
                               "--ok-label=Apply"))),
    DesktopTask(
        "galculator-sum", "gtk", "galculator", ("galculator",), "galculator",
        "Compute 12 + 7 by clicking 1, 2, +, 7 and =",
        Output("clipboard", "19"),
        Sabotage("hide", target="+")),
    DesktopTask(
        "galculator-product", "gtk", "galculator", ("galculator",), "galculator",
        "Click 6, then ×, then 8, then =",
        Output("clipboard", "48"),
        Sabotage("hide", target="*")),  # galculator labels its multiply key "*"
    DesktopTask(
        "mousepad-save", "gtk", "mousepad", ("mousepad", "{work}/note.txt"), "note.txt",
        "Type 'hello from the agent' into the document, then press ctrl+s",
        Output("file", "hello from the agent", path="note.txt"),
        Sabotage("readonly", path="note.txt"), files={"note.txt": ""}),
    DesktopTask(
        "featherpad-save", "qt", "featherpad", ("featherpad", "{work}/memo.txt"), "memo.txt",
        "Type 'meeting moved to Friday' into the document, then press ctrl+s",
        Output("file", "meeting moved to Friday", path="memo.txt"),
        Sabotage("readonly", path="memo.txt"), files={"memo.txt": ""}),
    DesktopTask(
        "tk-messagebox", "tk", "tk8.6", _WISH, "Unsaved",
        "Click No",
        Output("stdout", "no"),
        Sabotage("argv", argv=("wish", "{work}/dialog.tcl", "okcancel")),
        files={"dialog.tcl": "wm withdraw .\nset t [expr {$argc ? [lindex $argv 0] : \"yesnocancel\"}]\n"
               "puts [tk_messageBox -type $t -title Unsaved -message {Keep the draft of the report?}]\n"
               "exit\n"}),
    DesktopTask(
        "tk-savefile", "tk", "tk8.6", _WISH, "Save as",
        "Type 'summary.txt' into the file name field and click Save",
        Output("stdout", "/summary.txt", match="endswith"),
        Sabotage("hide", target="Save"),
        files={"dialog.tcl": "wm withdraw .\nputs [tk_getSaveFile -title {Save as} -initialdir [pwd]]\nexit\n",
               **_FILES}),
    DesktopTask(
        "xmessage-buttons", "xaw", "x11-utils",
        ("xmessage", "-buttons", "Now:3,Later:4,Never:5", "-title", "Update", "An update is ready."), "Update",
        "Click Later",
        Output("exit", "4"),
        Sabotage("argv", argv=("xmessage", "-buttons", "Now:3,Never:5", "-title", "Update",
                               "An update is ready."))),
    DesktopTask(
        "chromium-listing", "chromium", "chromium", (), "Directory listing",
        "Click the report.txt link",
        Output("url", "/report.txt", match="endswith"),
        Sabotage("hide", target="report.txt"),
        files=_FILES, server=("{python}", "-m", "http.server", "{port}", "--bind", "127.0.0.1"),
        url="http://127.0.0.1:{port}/"),
    DesktopTask(
        "chromium-pydoc-search", "chromium", "python3", (), "Pydoc",
        "Type 'json' into the search field and press Enter",
        Output("url", "key=json", match="contains"),
        Sabotage("hide", target="Search", with_field=True),
        server=("{python}", "-m", "pydoc", "-p", "{port}"), url="http://127.0.0.1:{port}/"),
)

BY_ID = {t.id: t for t in TASKS}
# The small set `make test` runs (tests/e2e/test_eval_desktop.py): one per output kind that needs no browser.
SMOKE = ("zenity-form", "tk-messagebox")
