"""axe-core in the browser tests: inject it from node_modules (npm ci), run it, keep the serious and
critical violations; and screenshots of each page at desktop and phone widths for reviewers.

tests/services.py skips tests marked `axe` when node_modules/axe-core is missing (or fails them
under CI=true), like any other missing service.
"""

from __future__ import annotations

from pathlib import Path

from tests.services import AXE_JS

SCREENSHOTS = Path(__file__).resolve().parent.parent / "var" / "screenshots"
BLOCKING = ("serious", "critical")
WIDTHS = (1280, 390)


def violations(page) -> list[dict]:
    """axe's serious and critical violations on the page as it is now (WCAG 2.x A and AA rules)."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE_JS))
    result = page.evaluate(
        """async () => {
            const r = await axe.run(document, {runOnly: {type: 'tag',
                values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}});
            return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.slice(0, 5).map(n => n.target.join(' ') + ' :: ' + n.failureSummary)}));
        }"""
    )
    return [v for v in result if v["impact"] in BLOCKING]


def describe(found: list[dict]) -> str:
    lines = []
    for v in found:
        lines.append(f"{v['impact']}: {v['id']} ({v['help']})")
        lines += [f"    {node}" for node in v["nodes"]]
    return "\n".join(lines)


def screenshots(page, name: str) -> None:
    """`var/screenshots/<name>-1280.png` and `-390.png` (git-ignored), then back to desktop width."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    original = page.viewport_size
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 860})
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{width}.png"), full_page=True)
    if original:
        page.set_viewport_size(original)
