// axe-core in the console's pages, and the check that the console's
// Content-Security-Policy is enforced.
//
// The console runs under script-src 'self' with no inline script, so axe
// cannot be added as an inline <script> (addScriptTag would be blocked, which
// is the point of the policy). Its source is evaluated over the DevTools
// protocol instead (page.evaluate), which the page's CSP does not govern, the
// same way the DevTools console works on such pages. The policy itself is
// checked separately, in a normal context: see inlineScriptOutcome.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Page } from 'playwright-core';
import { expect, vi } from 'vitest';

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** One axe violation, trimmed to what a failure message needs. */
export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  targets: string[];
}

/** Runs axe-core on the page as it is now and returns every violation. */
export async function runAxe(page: Page): Promise<AxeViolation[]> {
  if (!(await page.evaluate('typeof window.axe === "object"'))) await page.evaluate(`${AXE_SOURCE}\n;undefined`);
  return (await page.evaluate(`axe.run(document, { resultTypes: ['violations'] }).then((r) =>
    r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, targets: v.nodes.map((n) => n.target.join(' ')) })))`)) as AxeViolation[];
}

/** Fails on any serious or critical axe violation in the page, naming the page in the message. */
export async function expectNoSeriousAxeViolations(page: Page, what: string): Promise<void> {
  const violations = await runAxe(page);
  const serious = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  expect(serious, `axe-core: serious or critical violations on ${what}`).toEqual([]);
}

/** What happened to an inline script and an inline event handler injected into the page. */
export interface InlineOutcome {
  /** The inline <script>'s body ran. */
  scriptRan: boolean;
  /** The onerror="…" attribute's handler ran. */
  handlerRan: boolean;
  /** The CSP violations the page reported for them (see openPage's recorder). */
  violations: string[];
}

/**
 * Injects an inline <script> and an <img onerror> into the page's DOM (as an
 * XSS would) and reports whether they ran and which violations the page saw.
 */
export async function inlineScriptOutcome(page: Page): Promise<InlineOutcome> {
  await page.evaluate(`(() => {
    const s = document.createElement('script');
    s.textContent = 'window.__inlineScriptRan = true';
    document.head.appendChild(s);
    const holder = document.createElement('div');
    holder.innerHTML = '<img src="data:," onerror="window.__inlineHandlerRan = true">';
    document.body.appendChild(holder);
  })()`);
  // Both are reported asynchronously; wait for the two reports rather than a fixed time.
  const violations = await vi.waitFor(
    async () => {
      const seen = (await page.evaluate('Array.from(window.__cspViolations)')) as string[];
      expect(seen.some((v) => v.startsWith('script-src-elem ')), `violations so far: ${seen.join(', ')}`).toBe(true);
      expect(seen.some((v) => v.startsWith('script-src-attr ')), `violations so far: ${seen.join(', ')}`).toBe(true);
      return seen;
    },
    { timeout: 5_000, interval: 50 },
  );
  return {
    scriptRan: (await page.evaluate('window.__inlineScriptRan === true')) as boolean,
    handlerRan: (await page.evaluate('window.__inlineHandlerRan === true')) as boolean,
    violations,
  };
}
