"""axe-core in the browser tests: what an accessibility checker finds on a page.

``axe_violations(page)`` runs axe-core (the copy shipped inside the
``axe-playwright-python`` package, requirements-dev.txt: nothing is fetched
from the internet) on the page a Playwright test has open and returns its
violations of the given impacts; ``assert_accessible(page)`` fails the test
on any critical or serious one, naming the rule, the elements and the fix.

A browser journey calls ``assert_accessible(ui.page)`` after each page it
opens; tests/test_accessibility.py runs it on every page of the menu at both
sizes.
"""

from functools import cache
from pathlib import Path

BLOCKING_IMPACTS = ("critical", "serious")


@cache
def axe_source():
    """axe.min.js, from the pinned axe-playwright-python package."""
    import axe_playwright_python

    return (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text()


def axe_violations(page, impacts=BLOCKING_IMPACTS, context=None):
    """[{id, impact, help, url, targets: [selector…]}] of axe's violations on ``page``.

    Injected through the DevTools protocol (``page.evaluate``), so the page's
    Content-Security-Policy does not stand in the way.
    """
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(axe_source())
    results = page.evaluate(
        """async (context) => {
            const results = await axe.run(context || document, {resultTypes: ["violations"]});
            return results.violations.map((violation) => ({
                id: violation.id,
                impact: violation.impact,
                help: violation.help,
                url: violation.helpUrl,
                targets: violation.nodes.map((node) => node.target.join(" ")),
                summaries: violation.nodes.map((node) => node.failureSummary),
            }));
        }""",
        context,
    )
    return [violation for violation in results if violation["impact"] in impacts]


def describe(violations, where=""):
    """One line per rule: impact, id, how many elements, the first selectors."""
    lines = []
    for violation in violations:
        targets = violation["targets"]
        shown = ", ".join(targets[:4]) + (f" … (+{len(targets) - 4})" if len(targets) > 4 else "")
        lines.append(
            f"{where}{violation['impact']} {violation['id']} ({violation['help']}): "
            f"{len(targets)} element(s): {shown}"
        )
    return lines


def assert_accessible(page, impacts=BLOCKING_IMPACTS):
    """Fail on any violation of ``impacts`` on the page open in ``page``."""
    violations = axe_violations(page, impacts)
    assert not violations, "axe-core on {}:\n{}".format(
        page.url, "\n".join(describe(violations))
    )
