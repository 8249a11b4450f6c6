"""Command palette providers, one per domain (STYLE.md 8): views, namespaces, nodes, workloads, HPAs.
They read the latest frame and jump to the row in the right view."""
from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.content import Content
from textual.markup import escape

from ..widgets.render import clean
from .main import TABS


def _display(matcher, text: str) -> Content:
    """Highlight matches without ever parsing the (cluster-supplied) text as markup."""
    content = Content(text)
    score, offsets = matcher.fuzzy_search.match(matcher.query, text)
    if score:
        for o in offsets:
            if not text[o].isspace():
                content = content.stylize(matcher.match_style, o, o + 1)
    return content


class _FrameProvider(Provider):
    def candidates(self) -> list[tuple[str, str, str | None, str | None, str]]:
        """(display text, view id, row key, filter, help)."""
        return []

    def _latest(self):
        main = getattr(self.app, "main_screen", None)
        return None if main is None or main.latest is None else main.latest

    async def discover(self) -> Hits:
        for text, view, key, flt, help_ in self.candidates()[:20]:
            yield DiscoveryHit(Content(text), partial(self.app.jump, view, key, flt), text=text, help=escape(help_))

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for text, view, key, flt, help_ in self.candidates():
            score = matcher.match(text)
            if score > 0:
                yield Hit(score, _display(matcher, text), partial(self.app.jump, view, key, flt), text=text, help=escape(help_))


class ViewsProvider(_FrameProvider):
    def candidates(self):
        return [(f"view: {title}", vid, None, None, f"key {key}") for vid, key, title in TABS]


class NamespacesProvider(_FrameProvider):
    def candidates(self):
        p = self._latest()
        if p is None:
            return []
        return [(f"namespace {clean(ns)}", "quotas", ns, None, "quota and usage of this namespace")
                for ns in sorted(p.frame.cluster.namespaces)]


class NodesProvider(_FrameProvider):
    def candidates(self):
        p = self._latest()
        if p is None:
            return []
        gpu = p.items.get("gpus", {})
        return [(f"node {clean(n)}", "gpus" if n in gpu else "findings", n if n in gpu else None,
                 None if n in gpu else n, "GPU node" if n in gpu else "findings about this node")
                for n in sorted(p.frame.cluster.nodes)]


class WorkloadsProvider(_FrameProvider):
    def candidates(self):
        p = self._latest()
        if p is None:
            return []
        out = []
        for kind, ns, name in sorted(p.frame.cluster.workloads):
            if kind == "ReplicaSet":
                continue
            key = f"{kind}/{ns}/{name}"
            out.append((f"{kind.lower()} {clean(ns)}/{clean(name)}", "zones", key, None, "replicas per zone"))
        for h in p.frame.analysis.hpas.rows:
            out.append((f"hpa {clean(h.namespace)}/{clean(h.name)}", "hpas", h.key, None, f"autoscaler ({h.state})"))
        return out


class ContextsProvider(Provider):
    """The kubeconfig's contexts (live clusters only): reconnects the dashboard to the one chosen."""

    def _contexts(self) -> list[str]:
        if not getattr(self.app, "can_switch_context", False):
            return []
        try:
            from kubernetes import config as kube_config

            contexts, _active = kube_config.list_kube_config_contexts(config_file=self.app.settings.kube.kubeconfig)
        except Exception:  # no kubeconfig (in-cluster) or unreadable: nothing to offer
            return []
        current = getattr(getattr(self.app.feed, "conn", None), "info", None)
        current = getattr(current, "context", "")
        return [c["name"] for c in contexts if c.get("name") and c["name"] != current]

    async def discover(self) -> Hits:
        for name in self._contexts():
            text = f"context {clean(name)}"
            yield DiscoveryHit(Content(text), partial(self.app.switch_context, name), text=text, help="reconnect to this context")

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name in self._contexts():
            text = f"context {clean(name)}"
            score = matcher.match(text)
            if score > 0:
                yield Hit(score, _display(matcher, text), partial(self.app.switch_context, name), text=text,
                          help="reconnect to this context")


PROVIDERS = (ViewsProvider, NamespacesProvider, NodesProvider, WorkloadsProvider, ContextsProvider)
