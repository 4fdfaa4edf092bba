"""Which action to try next: a novelty Q-value policy (GUI-Bee's Q-ICRL without the MLLM)
and the uniform-random baseline.

Rewards (`Rewards`): a transition that reaches a new *kind* of screen earns 1, a new screen
of a known kind 0.5, a known screen -0.1 (a repeat), the same screen -0.3 (a no-op), a failed
action -0.5. Learning is Q-learning,

    Q(s, a) <- Q(s, a) + alpha * (r + gamma * max_a' Q(s', a') - Q(s, a)),

with two additions that the non-stationary novelty reward calls for:

- Novelty priors. An untried action is worth the prior of its group (same app, role and
  resource id: the rows of one list, the icons of one launcher), the mean first-try reward of
  that group shrunk towards an optimistic `q_init`. Once three contact rows led to pages like
  one already seen, the fourth row is worth less than an untried tab.
- Replay over the graph (Dyna-Q). A destination is new only once; afterwards taking the same
  action again is a repeat. After every step the update is replayed over all known
  transitions with the reward they would earn now (repeat or no-op) and the current values of
  their destinations, so Q of known actions tracks their current worth and value flows back
  from screens that still have untried actions (the frontier) along known paths.

Choice: epsilon-greedy (seeded) on Q + `bonus / sqrt(1 + tries)` (count-based novelty),
ties broken at random.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from guiagent.explore.graph import ExplorationGraph

Outcome = Literal["new_template", "new_screen", "known", "noop", "failed"]


@dataclass(frozen=True)
class Rewards:
    new_template: float = 1.0
    new_screen: float = 0.5
    known: float = -0.1
    noop: float = -0.3
    failed: float = -0.5

    def of(self, outcome: Outcome) -> float:
        match outcome:
            case "new_template":
                return self.new_template
            case "new_screen":
                return self.new_screen
            case "known":
                return self.known
            case "noop":
                return self.noop
            case "failed":
                return self.failed


@dataclass(frozen=True)
class QConfig:
    alpha: float = 0.5
    gamma: float = 0.8
    q_init: float = 1.0  # optimistic worth of an untried action of an untried group
    prior_weight: float = 1.0  # pseudo-count of q_init in a group prior
    bonus: float = 0.1  # count-based novelty bonus, bonus / sqrt(1 + tries)
    epsilon: float = 0.05
    replay_sweeps: int = 4
    rewards: Rewards = Rewards()


# (action key, group) of the actions a screen offers
Choice = tuple[str, str]


class Policy(Protocol):
    name: str

    def offer(self, state: str, actions: Sequence[Choice]) -> None: ...

    def choose(self, state: str, actions: Sequence[Choice], graph: ExplorationGraph) -> str: ...

    def learn(self, state: str, action: str, group: str, outcome: Outcome, next_state: str | None,
              graph: ExplorationGraph, first_try: bool) -> None: ...


class RandomPolicy:
    """The baseline: a uniformly random allowed action, learning nothing."""

    name = "random"

    def __init__(self, seed: int = 0) -> None:
        self.rng = random.Random(seed)

    def offer(self, state: str, actions: Sequence[Choice]) -> None:
        return None

    def choose(self, state: str, actions: Sequence[Choice], graph: ExplorationGraph) -> str:
        return self.rng.choice(list(actions))[0]

    def learn(self, state: str, action: str, group: str, outcome: Outcome, next_state: str | None,
              graph: ExplorationGraph, first_try: bool) -> None:
        return None


class NoveltyQPolicy:
    name = "novelty"

    def __init__(self, config: QConfig | None = None, seed: int = 0) -> None:
        self.config = config or QConfig()
        self.rng = random.Random(seed)
        self.q: dict[tuple[str, str], float] = {}
        self._group_stats: dict[str, tuple[int, float]] = {}  # group -> (first tries, reward sum)
        # state -> actions it offers (with groups), learned as screens are seen; V(s) needs them
        self.offers: dict[str, dict[str, str]] = {}

    # -- values ---------------------------------------------------------------------------

    def prior(self, group: str) -> float:
        c = self.config
        n, total = self._group_stats.get(group, (0, 0.0))
        return (c.q_init * c.prior_weight + total) / (c.prior_weight + n)

    def value(self, state: str, action: str, group: str) -> float:
        return self.q.get((state, action), self.prior(group))

    def state_value(self, state: str | None) -> float:
        """max_a Q(state, a) over what the state offers; 0 for an unknown or empty state."""
        offers = self.offers.get(state or "")
        if not offers:
            return 0.0
        return max(self.value(state or "", a, g) for a, g in offers.items())

    def score(self, state: str, action: str, group: str, tries: int) -> float:
        return self.value(state, action, group) + self.config.bonus / math.sqrt(1 + tries)

    # -- acting and learning --------------------------------------------------------------

    def offer(self, state: str, actions: Sequence[Choice]) -> None:
        """What `state` offers (called when the screen is seen, before learning about the
        transition into it, so that its untried actions already count in its value)."""
        self.offers.setdefault(state, {}).update(dict(actions))

    def choose(self, state: str, actions: Sequence[Choice], graph: ExplorationGraph) -> str:
        if not actions:
            raise ValueError("no action to choose from")
        self.offer(state, actions)
        if self.rng.random() < self.config.epsilon:
            return self.rng.choice(list(actions))[0]
        scored = [(self.score(state, a, g, graph.tries(state, a)), a) for a, g in actions]
        best = max(s for s, _ in scored)
        return self.rng.choice([a for s, a in scored if s >= best - 1e-9])

    def td_update(self, state: str, action: str, group: str, reward: float, next_state: str | None) -> float:
        """One Q-learning update; returns the new Q(state, action)."""
        c = self.config
        q = self.value(state, action, group)
        target = reward + c.gamma * self.state_value(next_state)
        q += c.alpha * (target - q)
        self.q[(state, action)] = q
        return q

    def learn(self, state: str, action: str, group: str, outcome: Outcome, next_state: str | None,
              graph: ExplorationGraph, first_try: bool) -> None:
        reward = self.config.rewards.of(outcome)
        if first_try:
            n, total = self._group_stats.get(group, (0, 0.0))
            self._group_stats[group] = (n + 1, total + reward)
        self.td_update(state, action, group, reward, next_state)
        self.replay(graph)

    def replay(self, graph: ExplorationGraph) -> None:
        """Dyna-Q sweeps over known transitions with the reward each would earn now."""
        r = self.config.rewards
        for _ in range(self.config.replay_sweeps):
            for (src, action), edge in graph.edges.items():
                group = self.offers.get(src, {}).get(action)
                if group is None:
                    continue
                total = sum(edge.dests.values()) + edge.failures
                if total == 0:
                    continue
                # expected target over the observed outcomes of this action
                target = edge.failures / total * (r.failed + self.config.gamma * self.state_value(src))
                for dest, times in edge.dests.items():
                    rew = r.noop if dest == src else r.known
                    target += times / total * (rew + self.config.gamma * self.state_value(dest))
                q = self.value(src, action, group)
                self.q[(src, action)] = q + self.config.alpha * (target - q)


def make_policy(name: str, seed: int = 0, config: QConfig | None = None) -> NoveltyQPolicy | RandomPolicy:
    from guiagent.schema.errors import ConfigError

    if name == "novelty":
        return NoveltyQPolicy(config, seed)
    if name == "random":
        return RandomPolicy(seed)
    raise ConfigError(f"unknown exploration policy {name!r}; choose novelty or random")
