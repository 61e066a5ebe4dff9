"""What a running search shows, shared by ``atlas automl fit`` and ``atlas demo``.

On a terminal: a live bar (trials, best score so far, time), gone when the search ends. Anywhere
else (a log file, CI, a pipe): one line when the first trial ends, then at most one line every
:data:`LINE_EVERY_SECONDS` of the search's own clock, and one for every trial that did not
complete, so a long fit is never silent. ``quiet`` (``--quiet``, ``--json``) shows nothing.
"""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from atlas.cli.output import console, fmt

if TYPE_CHECKING:
    from atlas.automl import TrialProgress

LINE_EVERY_SECONDS = 5.0


class SearchProgress:
    """Pass :meth:`on_trial` as the search's ``on_trial`` inside ``with SearchProgress(...)``."""

    def __init__(
        self,
        budget: float | None,
        n_trials: int | None = None,
        quiet: bool = False,
        out: Console | None = None,
    ) -> None:
        self.out = out or console
        self.budget = budget
        self.n_trials = n_trials
        self.quiet = quiet
        self.live = not quiet and self.out.is_terminal
        self._bar: Progress | None = None
        self._task: TaskID | None = None
        self._last_line: float | None = None

    def __enter__(self) -> SearchProgress:
        if self.live:
            self._bar = Progress(
                TextColumn("[bold]searching"),
                BarColumn(),
                TimeElapsedColumn(),
                TextColumn("{task.fields[trials]} trials, best {task.fields[best]}"),
                console=self.out,
                transient=True,
            )
            self._bar.__enter__()
            total = self.n_trials if self.n_trials is not None else self.budget
            self._task = self._bar.add_task("search", total=total, trials=0, best="-")
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._bar is not None:
            self._bar.__exit__(kind, exc, tb)

    def on_trial(self, p: TrialProgress) -> None:
        """One trial ended (complete, pruned, failed or timeout)."""
        if self.quiet:
            return
        if self._bar is not None and self._task is not None:
            done = p.n_trials if self.n_trials is not None else p.elapsed
            self._bar.update(self._task, completed=done, trials=p.n_trials, best=fmt(p.best_score))
            return
        due = self._last_line is None or p.elapsed - self._last_line >= LINE_EVERY_SECONDS
        if due or p.state in ("failed", "timeout"):
            self._last_line = p.elapsed
            self.out.print(self.line(p), markup=False, highlight=False)

    def line(self, p: TrialProgress) -> str:
        """``searching: 12 trials in 14.2 s of 60 s, best 0.7812 (last: lightgbm complete
        0.7701)``"""
        of = f" of {self.budget:g} s" if self.budget is not None and self.n_trials is None else ""
        last = f"{p.learner} {p.state}" + (f" {fmt(p.score)}" if p.score is not None else "")
        return (
            f"searching: {p.n_trials} trials in {p.elapsed:.1f} s{of}, "
            f"best {fmt(p.best_score)} (last: {last})"
        )
