"""axe-core (from npm, `npm ci`) injected into the running console by Playwright.

Each serious or critical WCAG 2 A/AA violation is either ours (a test fails) or one of Streamlit's own widgets'
known ones below, reported in docs/accessibility.md and kept visible in test-results/axe.json."""

from __future__ import annotations

import json

from playwright.sync_api import Page

from tests.conftest import ROOT

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]
REPORT = ROOT / "test-results" / "axe.json"

# (axe rule, the Streamlit widget it is found in): what is wrong there. Streamlit 1.67; docs/accessibility.md.
KNOWN = {
    ("color-contrast", "stCode"): "st.code's syntax highlighting colours (comments, strings, flags, YAML keys) "
                                  "are 2.8-3.8:1 on the code background",
    ("scrollable-region-focusable", "stCode"): "st.code's <pre> scrolls sideways but cannot take the focus",
    ("color-contrast", "stJson"): "st.json's number and boolean colours are 3.2-3.7:1 on white",
}
WIDGETS = ", ".join(f'[data-testid="{widget}"]' for widget in sorted({widget for _, widget in KNOWN}))

_RUN = """async ([tags, widgets]) => {
  const result = await axe.run(document, {runOnly: {type: "tag", values: tags}, resultTypes: ["violations"],
                                          elementRef: true});
  const found = [];
  for (const rule of result.violations) {
    if (rule.impact !== "serious" && rule.impact !== "critical") continue;
    for (const node of rule.nodes) {
      const widget = node.element && node.element.closest(widgets);
      found.push({rule: rule.id, impact: rule.impact, help: rule.help, target: node.target.join(" "),
                  widget: widget ? widget.getAttribute("data-testid") : null, html: node.html.slice(0, 200),
                  why: (node.failureSummary || "").replace(/\\s+/g, " ").slice(0, 300)});
    }
  }
  return found;
}"""


def audit(page: Page, state: str) -> list[dict]:
    """Run axe on the page as it is; returns the violations that are ours (Streamlit's known ones are
    recorded in test-results/axe.json under `state`)."""
    assert AXE.exists(), f"{AXE} is missing: run `npm ci` (bash .ci/run does)"
    # the pointer stays where the last click left it: a help tooltip opened by hovering is not the page's state
    page.mouse.move(0, 0)
    tooltips = page.get_by_test_id("stTooltipContent")
    if tooltips.count():
        tooltips.first.wait_for(state="detached", timeout=10_000)
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.add_script_tag(path=str(AXE))
    found = page.evaluate(_RUN, [TAGS, WIDGETS])
    known = [v for v in found if (v["rule"], v["widget"]) in KNOWN]
    REPORT.parent.mkdir(exist_ok=True)
    report = json.loads(REPORT.read_text()) if REPORT.exists() else {}
    report[state] = {"ours": [v for v in found if v not in known],
                     "known": [{**v, "known": KNOWN[v["rule"], v["widget"]]} for v in known]}
    REPORT.write_text(json.dumps(report, indent=1, ensure_ascii=False))
    return report[state]["ours"]


def explain(violations: list[dict]) -> str:
    return "\n".join(f"{v['impact']} {v['rule']} at …{v['target'][-100:]}: {v['why']}  [{v['html']}]" for v in violations)
