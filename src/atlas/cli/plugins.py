"""``atlas plugins``: every plugin each entry-point group registers, where from, and whether it
loads (a broken one is listed with its error; the others still work)."""

from __future__ import annotations

import importlib
from typing import Any

import typer

from atlas.cli.output import console, print_json, table
from atlas.core.plugins import PluginGroup, PluginInfo

# each group's PluginGroup, owned by the package that uses the plugins
GROUP_OWNERS = {
    "atlas.learners": "atlas.automl.learners:LEARNERS",
    "atlas.flavors": "atlas.registry.flavors:FLAVORS",
    "atlas.connectors": "atlas.serve.external.plugins:connector_types",
    "atlas.online_stores": "atlas.data.features.online:ONLINE_STORES",
}


def _group(owner: str) -> PluginGroup[Any]:
    module, attr = owner.split(":")
    group: PluginGroup[Any] = getattr(importlib.import_module(module), attr)
    return group


def plugin_report() -> list[PluginInfo]:
    """Load every plugin of every group (as a search or server would) and report each one."""
    out: list[PluginInfo] = []
    for owner in GROUP_OWNERS.values():
        group = _group(owner)
        group.all()
        out.extend(group.info())
    return out


def plugins(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List the installed learners, model flavors, connectors and online stores."""
    report = plugin_report()
    if as_json:
        print_json([info.__dict__ for info in report])
        return
    table(
        "Plugins (entry points)",
        ["group", "name", "from", "status"],
        [
            (i.group, i.name, i.distribution or "?", "ok" if i.error is None else i.error)
            for i in report
        ],
    )
    broken = [i for i in report if i.error is not None]
    if broken:
        console.print(f"[yellow]{len(broken)} plugin(s) did not load; the others work.[/]")
