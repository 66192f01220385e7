"""`ledger keys …`: the master key and the key store (rotation, and what each key wraps)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, Task, TextColumn
from rich.text import Text

from ledger.cli import DataDir, app, console, errors, opened
from ledger.errors import describe
from ledger.key_rotation import WrappedKeyBroken, plan_rotation, rotate_master_key
from ledger.master_keys import MasterKeyRing, UnknownMasterKey

keys_app = typer.Typer(help="The master key and the learner keys it wraps.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


class KeyRateColumn(ProgressColumn):
    """Learner keys re-wrapped per second."""

    def render(self, task: Task) -> Text:
        """The task's current speed."""
        speed = task.finished_speed or task.speed
        return Text("" if speed is None else f"{speed:,.0f} keys/s", style="progress.data.speed")


@keys_app.command("rotate-master")
def rotate_master(
    batch: Annotated[int, typer.Option(min=1, help="Learner keys re-wrapped per transaction")] = 500,
    data_dir: DataDir = None,
) -> None:
    """Re-wrap every learner key (and the ULN index key) under LEDGER_MASTER_KEY; safe to re-run.

    Exit 2 when a key is wrapped under a master key the ledger was not given; nothing changes then.
    """
    with opened(data_dir) as ledger:
        ring = ledger.master_key
        store = ring.store
        assert store is not None  # bootstrap.open_ledger attaches it
        try:
            plan = plan_rotation(ring, store)
            console.print(_describe_ring(ring, plan.pending))
            with _progress() as progress:
                task = progress.add_task("re-wrapping", total=plan.pending)
                summary = rotate_master_key(
                    ring,
                    store,
                    batch_size=batch,
                    after_batch=lambda count: progress.advance(task, count),
                    plan=plan,
                )
        except (UnknownMasterKey, WrappedKeyBroken) as error:
            errors.print(f"[bold red]refused[/]: {escape(describe(error))}")
            raise typer.Exit(2) from None
    console.print(
        f"re-wrapped {summary.rewrapped} learner keys in {summary.batches} batches; "
        f"{summary.already_current} were already under master key {summary.current}; "
        f"ULN index key {summary.index_key}"
    )
    console.print(
        "every key is now under the current master key: LEDGER_PREVIOUS_MASTER_KEYS can be emptied "
        "and the old key destroyed"
    )


@keys_app.command("status")
def status(data_dir: DataDir = None) -> None:
    """How many learner keys each master key wraps, by key id (no key is unwrapped)."""
    with opened(data_dir) as ledger:
        ring = ledger.master_key
        assert ring.store is not None  # bootstrap.open_ledger attaches it
        by_key = ring.store.count_by_master_key()
    console.print(_describe_ring(ring, None))
    for key_id, count in sorted(by_key.items(), key=lambda item: str(item[0])):
        label = key_id or "(no key id: written before rotation existed)"
        state = "current" if key_id == ring.key_id else "previous" if key_id in ring.keys else "unknown"
        console.print(f"{label}: {count} learner keys ({state if key_id else 'any configured key'})")


def _describe_ring(ring: MasterKeyRing, pending: int | None) -> str:
    previous = ", ".join(key.key_id for key in ring.previous) or "none"
    todo = "" if pending is None else f"; {pending} learner keys to re-wrap"
    return f"master key {ring.key_id}; previous keys: {previous}{todo}"


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        KeyRateColumn(),
        console=console,
        transient=True,
    )
