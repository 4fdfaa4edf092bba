"""Exploration pieces without a device: screen signatures, the graph, the Q update, the
policies, instructions and the collector's files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from guiagent.eval.grounding_eval import load_set
from guiagent.explore.actions import GuardFilter, enumerate_candidates
from guiagent.explore.collector import GroundingCollector, load_records
from guiagent.explore.graph import ExplorationGraph, jaccard, normalize_name, signature_of
from guiagent.explore.instructions import data_type_for, instruction_for, screen_targets, screen_title
from guiagent.explore.policy import NoveltyQPolicy, QConfig, RandomPolicy, Rewards
from guiagent.safety import Guard, SafetyPolicy
from guiagent.schema import Back, Click, Element, Home, Observation, Role, Scroll

SIZE = (720, 1280)
SYS = {"package": "com.android.systemui"}


def el(id: str, role: Role, name: str, bbox: tuple[int, int, int, int], **kw: object) -> Element:
    extras = kw.pop("extras", {"package": "com.example.app"})
    return Element(id=id, role=role, name=name, bbox=bbox, extras=extras, **kw)  # type: ignore[arg-type]


def settings_screen(clock: str = "12:00", toast: bool = False) -> list[Element]:
    els = [
        el("c", Role.TEXT, clock, (32, 6, 114, 42), extras=SYS),
        el("b", Role.ICON, "Back", (0, 1184, 144, 1280), clickable=True, extras=SYS),
        el("t", Role.TEXT, "Settings", (32, 72, 223, 136)),
        el("r1", Role.CONTAINER, "Wi-Fi", (0, 160, 720, 288), clickable=True),
        el("s1", Role.SWITCH, "Wi-Fi", (584, 192, 688, 256), clickable=True,
           extras={"package": "com.example.app", "click_target": "r1"}),
        el("r2", Role.CONTAINER, "Bluetooth", (0, 288, 720, 416), clickable=True),
        el("a", Role.TEXT, "About phone", (32, 578, 688, 621), clickable=True),
    ]
    if toast:
        els.append(el("toast", Role.TEXT, "Saved 3 items", (200, 980, 520, 1050)))
    return els


def frame(color: str = "white", mark: tuple[int, int] | None = None) -> Image.Image:
    img = Image.new("RGB", SIZE, color)
    if mark:
        ImageDraw.Draw(img).rectangle((mark[0], mark[1], mark[0] + 300, mark[1] + 300), fill="black")
    return img


# -- signatures and the graph -------------------------------------------------------------------

def test_signature_ignores_chrome_digits_and_order() -> None:
    a = signature_of(settings_screen("12:00"), frame(), SIZE)
    b = signature_of(list(reversed(settings_screen("13:47"))), frame("gray"), SIZE)
    assert a.key == b.key and a.template == b.template
    assert not any("12" in t or "back" in t for t in a.tokens)  # status bar and nav bar left out
    assert normalize_name("Note 12  ") == "note #"


def test_signature_tells_screens_apart_and_templates_group_them() -> None:
    ada = [el("t", Role.TEXT, "Ada Lovelace", (144, 72, 444, 136)), el("call", Role.BUTTON, "CALL", (32, 412, 211, 508),
           clickable=True, extras={"package": "p", "resource_id": "p:id/call"}),
           el("m", Role.TEXT, "Mobile", (32, 267, 688, 305))]
    alan = [e.model_copy(update={"name": "Alan Turing"}) if e.id == "t" else e for e in ada]
    sa, sb = signature_of(ada, frame(), SIZE), signature_of(alan, frame(), SIZE)
    assert sa.key != sb.key  # two contacts are two screens ...
    assert sa.template == sb.template  # ... of one kind
    assert sa.template != signature_of(settings_screen(), frame(), SIZE).template


def test_sparse_screens_add_the_frame_hash() -> None:
    one = [el("x", Role.BUTTON, "OK", (10, 10, 100, 60), clickable=True)]
    left, right = signature_of(one, frame(mark=(0, 0)), SIZE), signature_of(one, frame(mark=(400, 900)), SIZE)
    assert left.key != right.key  # too few tokens: the pixels decide
    rich_left = signature_of(settings_screen(), frame(mark=(0, 0)), SIZE)
    assert rich_left.key == signature_of(settings_screen(), frame(mark=(400, 900)), SIZE).key


def test_unnamed_controls_are_placed_on_a_grid() -> None:
    base = settings_screen()
    f1 = base + [el("f", Role.TEXT_FIELD, "", (32, 168, 688, 264), editable=True, clickable=True)]
    f2 = base + [el("f", Role.TEXT_FIELD, "", (32, 900, 688, 996), editable=True, clickable=True)]
    typed = base + [el("f", Role.TEXT_FIELD, "", (32, 168, 688, 264), editable=True, value="hello")]
    k1, k2 = signature_of(f1, None, SIZE).key, signature_of(f2, None, SIZE).key
    assert k1 != k2 and signature_of(typed, None, SIZE).key == k1  # what was typed is not the screen


def test_graph_merges_near_identical_screens_and_counts_visits() -> None:
    g = ExplorationGraph(match_threshold=0.8)
    n1, kind1 = g.visit(signature_of(settings_screen(), frame(), SIZE), 0)
    toast_sig = signature_of(settings_screen(toast=True), frame(), SIZE)
    assert jaccard(toast_sig.tokens, n1.tokens) >= 0.8
    n2, kind2 = g.visit(toast_sig, 1)
    assert (kind1, kind2) == ("new_template", "known") and n2 is n1 and n1.visits == 2
    other, kind3 = g.visit(signature_of([el("t", Role.TEXT, "Notes", (0, 0, 50, 50))], frame("red"), SIZE), 2)
    assert kind3 == "new_template" and other.id != n1.id and len(g.nodes) == 2


def test_graph_depths_follow_the_shortest_known_path() -> None:
    g = ExplorationGraph()
    sigs = [signature_of([el(f"t{i}", Role.TEXT, f"screen {chr(97 + i)}", (0, 0, 50, 50)),
                          el("x", Role.BUTTON, f"go {chr(97 + i)}", (0, 60, 50, 90), clickable=True),
                          el("y", Role.BUTTON, f"more {chr(97 + i)}", (0, 100, 50, 130), clickable=True)],
                         None, SIZE) for i in range(3)]
    a, _ = g.visit(sigs[0], 0)
    b, _ = g.visit(sigs[1], 1, depth=1)
    g.add_transition(a.id, "k1", b.id)
    c, _ = g.visit(sigs[2], 2, depth=2)
    g.add_transition(b.id, "k2", c.id)
    assert (a.depth, b.depth, c.depth) == (0, 1, 2)
    g.add_transition(a.id, "k3", c.id)  # a shortcut
    assert c.depth == 1
    edge = g.add_transition(a.id, "k1", None)
    assert edge.tries == 2 and edge.failures == 1 and g.tries(a.id, "k1") == 2
    doc = json.loads(json.dumps(g.to_json()))
    assert len(doc["nodes"]) == 3 and len(doc["edges"]) == 3


# -- the Q update and the policies ---------------------------------------------------------------

def test_q_update_follows_the_formula() -> None:
    cfg = QConfig(alpha=0.5, gamma=0.8, q_init=1.0, prior_weight=1.0)
    p = NoveltyQPolicy(cfg, seed=0)
    p.offer("s2", [("x", "gx"), ("y", "gy")])
    p.q[("s2", "x")] = 0.25
    p.q[("s2", "y")] = -0.5
    # untried (s, a) starts at its group prior = q_init; target = r + gamma * max Q(s2, .) = 1 + 0.8 * 0.25
    q = p.td_update("s", "a", "ga", 1.0, "s2")
    assert q == pytest.approx(1.0 + 0.5 * (1.0 + 0.8 * 0.25 - 1.0))
    q2 = p.td_update("s", "a", "ga", -0.3, "s2")
    assert q2 == pytest.approx(q + 0.5 * (-0.3 + 0.8 * 0.25 - q))
    assert p.state_value("unknown") == 0.0


def test_group_priors_learn_from_first_tries() -> None:
    p = NoveltyQPolicy(QConfig(q_init=1.0, prior_weight=1.0, replay_sweeps=0), seed=0)
    g = ExplorationGraph()
    r = Rewards()
    assert p.prior("rows") == 1.0
    p.learn("s", "row1", "rows", "new_template", "d1", g, first_try=True)
    p.learn("s", "row2", "rows", "new_screen", "d2", g, first_try=True)
    p.learn("s", "row2", "rows", "known", "d2", g, first_try=False)  # a repeat does not move the prior
    assert p.prior("rows") == pytest.approx((1.0 + r.new_template + r.new_screen) / 3)
    p.learn("s", "b", "buttons", "noop", "s", g, first_try=True)
    assert p.prior("buttons") == pytest.approx((1.0 + r.noop) / 2)
    assert p.prior("buttons") < p.prior("rows")


def test_replay_prices_known_actions_at_their_current_worth() -> None:
    """After a discovery the same action is a repeat; replay pulls its Q down, and an action
    leading towards untried actions ends up above one that changes nothing."""
    cfg = QConfig(epsilon=0.0, bonus=0.0)
    p = NoveltyQPolicy(cfg, seed=0)
    g = ExplorationGraph()
    p.offer("s", [("open", "g1"), ("toggle", "g2")])
    p.offer("d", [("deep", "g3")])  # d still has an untried action: the frontier
    g.edges.clear()
    g.add_transition("s", "open", "d")
    p.learn("s", "open", "g1", "new_template", "d", g, first_try=True)
    g.add_transition("s", "toggle", "s")
    p.learn("s", "toggle", "g2", "noop", "s", g, first_try=True)
    r = cfg.rewards
    assert p.value("s", "open", "g1") < r.new_template  # no longer worth a discovery
    assert p.value("s", "open", "g1") > p.value("s", "toggle", "g2")
    assert p.value("s", "open", "g1") == pytest.approx(r.known + cfg.gamma * cfg.q_init, abs=0.15)


def test_choice_prefers_untried_and_is_reproducible() -> None:
    g = ExplorationGraph()
    p = NoveltyQPolicy(QConfig(epsilon=0.0), seed=3)
    actions = [("tried", "g1"), ("fresh", "g2")]
    p.q[("s", "tried")] = -0.3
    g.add_transition("s", "tried", "s")
    assert p.choose("s", actions, g) == "fresh"
    picks = [NoveltyQPolicy(QConfig(epsilon=0.0), seed=7).choose("s", [(f"a{i}", "g") for i in range(6)], g)
             for _ in range(2)]
    assert picks[0] == picks[1]  # ties broken by the seeded generator
    rnd = [RandomPolicy(seed=5).choose("s", [(f"a{i}", "g") for i in range(9)], g) for _ in range(2)]
    assert rnd[0] == rnd[1]
    with pytest.raises(ValueError):
        p.choose("s", [], g)


# -- candidates, guard, instructions ------------------------------------------------------------

def test_candidates_skip_labels_inside_rows_and_the_guard_blocks_sensitive_ones() -> None:
    els = settings_screen() + [
        el("list", Role.CONTAINER, "", (0, 640, 720, 1100), extras={"package": "p", "scrollable": True,
                                                                    "resource_id": "p:id/list"}),
        el("del", Role.BUTTON, "Delete all", (32, 1110, 300, 1170), clickable=True),
    ]
    obs = Observation(screenshot=frame(), elements=tuple(els), screen_size=SIZE)
    cands = enumerate_candidates(obs, (Click, Scroll, Back, Home))
    keys = [c.key for c in cands]
    assert "click:container:wi-fi" in keys and not any(k.startswith("click:switch") for k in keys)
    assert {"scroll:down:p:id/list", "scroll:up:p:id/list", "back", "home"} <= set(keys)
    assert "click:button:delete all" in keys
    assert not any(k.startswith("scroll") for k in (c.key for c in enumerate_candidates(obs, (Click,))))
    allowed, blocked = GuardFilter(Guard(SafetyPolicy(sensitive_action="block"))).split(cands, obs)
    assert set(blocked) == {"click:button:delete all"} and "delete" in blocked["click:button:delete all"]
    assert len(allowed) == len(cands) - 1


def test_guard_filter_judges_each_label_once_and_batches_the_semantic_check() -> None:
    batches: list[list[str]] = []
    judged: list[str] = []

    def semantic(text: str, words: tuple[str, ...]) -> float:
        judged.append(text)
        return 0.9 if text == "Wipe phone clean" else 0.0  # a paraphrase the word list misses

    gf = GuardFilter(Guard(SafetyPolicy(sensitive_action="block", sensitive_words=("delete",)), semantic=semantic),
                     prewarm=batches.append)
    els = settings_screen() + [el("w", Role.BUTTON, "Wipe phone clean", (0, 700, 300, 760), clickable=True)]
    obs = Observation(screenshot=frame(), elements=tuple(els), screen_size=SIZE)
    cands = enumerate_candidates(obs, (Click, Back))
    _, blocked = gf.split(cands, obs)
    assert list(blocked) == ["click:button:wipe phone clean"]
    assert len(batches) == 1 and "Wipe phone clean" in batches[0] and "Wi-Fi" in batches[0]
    n = len(judged)
    gf.split(cands, obs)  # the same screen again: cached verdicts, no model call, no batch
    assert len(judged) == n and len(batches) == 1


def test_instructions_and_data_types() -> None:
    launcher_icon = el("n", Role.TEXT, "Notes", (180, 80, 360, 288), clickable=True,
                       extras={"package": "com.android.launcher3"})
    field = el("f", Role.TEXT_FIELD, "", (32, 168, 688, 264), editable=True, clickable=True, value="Write a note")
    cases = [
        (el("s", Role.SWITCH, "Wi-Fi", (0, 0, 10, 10)), "Wi-Fi switch", "icon"),
        (launcher_icon, "open Notes", "text"),
        (el("b", Role.BUTTON, "Save", (0, 0, 10, 10)), "the Save button", "text"),
        (el("i", Role.ICON, "Navigate up", (0, 0, 10, 10)), "the Navigate up icon", "icon"),
        (field, "Write a note field", "icon"),
        (el("c", Role.CHECKBOX, "Subscribe", (0, 0, 10, 10)), "Subscribe checkbox", "icon"),
        (el("r", Role.CONTAINER, "Ada Lovelace", (0, 0, 10, 10), clickable=True), "Ada Lovelace", "text"),
    ]
    for e, text, kind in cases:
        assert instruction_for(e) == text and data_type_for(e) == kind
    assert instruction_for(el("x", Role.BUTTON, "", (0, 0, 10, 10))) is None
    assert screen_title(settings_screen(), SIZE, "com.android.settings/.Settings") == "Settings"
    assert screen_title([launcher_icon], SIZE, "com.android.launcher3/com.android.launcher3.Launcher") == "Launcher"
    assert screen_title([], SIZE, "com.example/.ContactDetailActivity") == "Contact Detail"


def test_screen_targets_keep_rows_and_toggles_and_drop_ambiguous_names() -> None:
    els = settings_screen() + [el("ok1", Role.BUTTON, "OK", (0, 700, 100, 760), clickable=True),
                               el("ok2", Role.BUTTON, "OK", (300, 700, 400, 760), clickable=True),
                               el("tiny", Role.BUTTON, "Sliver", (0, 1180, 100, 1182), clickable=True)]
    got = {text: (e.id, box, kind) for e, text, box, kind in screen_targets(els, SIZE)}
    assert got["Wi-Fi"] == ("r1", [0, 160, 720, 128], "text")
    assert got["Wi-Fi switch"] == ("s1", [584, 192, 104, 64], "icon")
    assert got["the Back icon"][0] == "b" and "About phone" in got
    assert "the OK button" not in got and "the Sliver button" not in got and "Settings" not in got


def test_rows_whose_label_is_cut_by_scrolling_are_not_targets() -> None:
    def row(i: int, top: int, bottom: int, label: tuple[int, int]) -> list[Element]:
        ex = {"package": "p", "class": "android.widget.LinearLayout"}
        lab = {"package": "p", "resource_id": "android:id/title", "click_target": f"r{i}"}
        return [el(f"r{i}", Role.CONTAINER, f"Person {chr(65 + i)}", (0, top, 720, bottom), clickable=True, extras=ex),
                el(f"r{i}.0", Role.TEXT, f"Person {chr(65 + i)}", (32, label[0], 688, label[1]), clickable=True,
                   extras=lab)]
    els = (row(0, 160, 208, (160, 174))  # scrolled up: 14 px of a 45 px label show
           + [e for i in range(1, 5) for e in row(i, 96 + 112 * i, 208 + 112 * i, (129 + 112 * i, 174 + 112 * i))]
           + row(5, 768, 848, (801, 846)))  # half a row at the bottom, its label whole
    got = {text for _, text, _, _ in screen_targets(els, SIZE)}
    assert "Person A" not in got
    assert {"Person B", "Person E", "Person F"} <= got


# -- the collector ------------------------------------------------------------------------------

def test_collector_writes_a_loadable_deduplicated_set(tmp_path: Path) -> None:
    g = ExplorationGraph()
    col = GroundingCollector(tmp_path, "explore:test", meta={"device": "x"})
    obs = Observation(screenshot=frame(mark=(100, 100)), elements=tuple(settings_screen()), screen_size=SIZE,
                      foreground="com.android.settings/.Settings")
    node, _ = g.visit(signature_of(obs.elements, obs.screenshot, SIZE), 0, title="Settings")
    added = col.add_screen(node, obs)
    positional = [r for r in col.records if r["instruction_kind"] == "positional"]  # tests/unit/test_novel_units.py
    assert added == 6 + len(positional) and node.image == f"{node.id}.png" and (tmp_path / "images" / node.image).exists()
    assert "the entry between Settings and Bluetooth" in {r["instruction"] for r in positional}
    kinds = {r["instruction"]: r["instruction_kind"] for r in col.records if r["instruction_kind"] != "positional"}
    assert kinds == {"the Back icon": "literal", "the Back symbol": "icon", "Wi-Fi": "literal",
                     "Wi-Fi switch": "literal", "Bluetooth": "literal", "About phone": "literal"}
    about = next(e for e in obs.elements if e.id == "a")
    assert col.add_function(node, about, SIZE, "About phone")
    assert not col.add_function(node, about, SIZE, "About phone")  # deduplicated
    # the same nav bar on a second screen (its box a pixel off) adds no second Back record
    shifted = obs.elements[1].model_copy(update={"bbox": (1, 1185, 145, 1280)})
    other = Observation(screenshot=frame("gray"), elements=(shifted,
                        el("t", Role.BUTTON, "Next", (0, 300, 200, 380), clickable=True)), screen_size=SIZE)
    node2, _ = g.visit(signature_of(other.elements, other.screenshot, SIZE), 1)
    assert col.add_screen(node2, other) == 1
    black = Observation(screenshot=Image.new("RGB", SIZE), elements=(obs.elements[3],), screen_size=SIZE)
    node3, _ = g.visit(signature_of([el("w", Role.TEXT, "Wallet", (0, 0, 9, 9))], None, SIZE), 2)
    assert col.add_screen(node3, black) == 0 and node3.secure and node3.image is None
    col.close(g, {"steps": 2})
    records, images = load_set(tmp_path / "screenspot.json")
    assert len(records) == 9 + len(positional) == len(load_records(tmp_path))
    assert images == tmp_path / "images"
    assert {r["data_source"] for r in records} == {"explore:test"}
    fn = [r for r in records if r["kind"] == "function"]
    assert fn == [{"img_filename": node.image, "instruction": text, "bbox": [32, 578, 656, 43],
                   "data_type": "text", "data_source": "explore:test", "screen": node.id, "element": "a",
                   "role": "text", "kind": "function", "instruction_kind": "functional"}
                  for text in ("go to About phone", "the item that opens About phone")]
    doc = json.loads((tmp_path / "graph.json").read_text())
    assert doc["meta"] == {"device": "x"} and doc["summary"] == {"steps": 2} and len(doc["nodes"]) == 3
    with pytest.raises(Exception, match="already holds"):
        GroundingCollector(tmp_path, "explore:test")
