// Signing in to the console in real Chromium, where the token is kept, the
// security headers of /console/, and the Content-Security-Policy at work.
import { expect, it } from 'vitest';
import { expectNoSeriousAxeViolations, inlineScriptOutcome } from '../support/browser-axe.js';
import { describeBrowser, useConsole } from '../support/browser-console.js';

const c = useConsole(import.meta.url);
const TOKEN_KEY = 'roomgate.console.token';
const NAV = ['Rooms', 'Events', 'Webhooks', 'Management tokens', 'Signing keys', 'Bans', 'Audit log'];

/** Everything in the page's localStorage and sessionStorage, as [key, value] pairs. */
async function storage(): Promise<{ local: [string, string][]; session: [string, string][] }> {
  return (await c.page.evaluate('({ local: Object.entries(localStorage), session: Object.entries(sessionStorage) })')) as {
    local: [string, string][];
    session: [string, string][];
  };
}

describeBrowser('console sign-in', { timeout: 90_000 }, () => {
  it('refuses a bad token with an UNAUTHENTICATED alert', async () => {
    const { page } = c;
    await page.goto(`${c.t.httpUrl}/console/`);
    await expectNoSeriousAxeViolations(page, 'the sign-in page');
    await page.getByLabel('Management token').fill('rg_sandbox_not-a-real-token');
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByRole('alert').filter({ hasText: 'UNAUTHENTICATED' }).waitFor();
    expect(await page.getByLabel('Environment', { exact: true }).count()).toBe(0);
    await c.shot('sign-in-refused');
    await expectNoSeriousAxeViolations(page, 'the sign-in page with its error');
    expect((await storage()).session.filter(([k]) => k === TOKEN_KEY)).toEqual([]);
  });

  it('shows the environment and scopes, and keeps the token in sessionStorage only', async () => {
    const { page } = c;
    const { token } = await c.token('console-sign-in', ['admin', 'audit']);
    await c.signIn(token);
    expect(await page.getByLabel('Environment', { exact: true }).textContent()).toContain('sandbox');
    const scopes = (await page.getByLabel('Scopes', { exact: true }).textContent()) ?? '';
    expect(scopes.split(/,\s*/).map((s) => s.trim()).sort()).toEqual(['admin', 'audit']);
    for (const name of NAV) await page.getByRole('link', { name, exact: true }).waitFor();
    await page.getByRole('button', { name: 'Sign out', exact: true }).waitFor();
    await c.shot('signed-in');

    const { local, session } = await storage();
    expect(session).toContainEqual([TOKEN_KEY, token]);
    expect(local.filter(([k, v]) => v.includes(token) || k.includes(token))).toEqual([]);
    expect(page.url()).not.toContain(token);
    // Navigating keeps the token out of the URL too.
    await page.getByRole('link', { name: 'Bans', exact: true }).click();
    await c.heading('Bans').waitFor();
    expect(page.url()).not.toContain(token);

    // A reload restores the session from sessionStorage; signing out clears it.
    await page.reload();
    await page.getByLabel('Environment', { exact: true }).waitFor();
    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await page.getByLabel('Management token').waitFor();
    expect((await storage()).session.filter(([k]) => k === TOKEN_KEY)).toEqual([]);
  });

  it('shows the production environment for a production token', async () => {
    const token = await c.t.managementToken('production', ['read']);
    await c.signIn(token);
    expect(await c.page.getByLabel('Environment', { exact: true }).textContent()).toContain('production');
    expect((await c.page.getByLabel('Scopes', { exact: true }).textContent())?.trim()).toBe('read');
  });

  it('loads nothing from outside roomgate (no CDN, no external fonts)', async () => {
    const { page } = c;
    const requested: string[] = [];
    page.on('request', (r) => requested.push(r.url()));
    const { token } = await c.token('console-offline', ['admin']);
    await c.signIn(token);
    for (const name of NAV) {
      await page.getByRole('link', { name, exact: true }).click();
      await c.heading(name).waitFor();
    }
    expect(requested.length).toBeGreaterThan(0);
    expect(requested.filter((u) => !u.startsWith(`${c.t.httpUrl}/`))).toEqual([]);
  });
});

describeBrowser('console security headers', { timeout: 90_000 }, () => {
  it('serves /console/ with a strict CSP, frame-ancestors none and nosniff', async () => {
    const response = await c.page.goto(`${c.t.httpUrl}/console/`);
    expect(response?.status()).toBe(200);
    const headers = response!.headers();
    const csp = headers['content-security-policy'] ?? '';
    const directives = new Map(csp.split(';').map((d) => d.trim().split(/\s+/)).filter((d) => d[0]).map((d) => [d[0]!, d.slice(1)]));
    expect(directives.get('frame-ancestors'), csp).toEqual(["'none'"]);
    const scriptSrc = directives.get('script-src') ?? directives.get('default-src');
    expect(scriptSrc, csp).toBeDefined();
    expect(scriptSrc, csp).not.toContain("'unsafe-inline'");
    expect(scriptSrc, csp).not.toContain("'unsafe-eval'");
    expect(scriptSrc!.every((s) => s === "'self'" || s.startsWith("'sha") || s.startsWith("'nonce-")), csp).toBe(true);
    expect(headers['x-content-type-options']).toBe('nosniff');

    // The scripts it loads carry nosniff as well, with a JavaScript type.
    const scripts = (await c.page.evaluate('Array.from(document.scripts, (s) => s.src)')) as string[];
    expect(scripts.length).toBeGreaterThan(0);
    for (const src of scripts) {
      expect(src.startsWith(`${c.t.httpUrl}/console/`), src).toBe(true);
      const asset = await fetch(src);
      expect(asset.status, src).toBe(200);
      expect(asset.headers.get('x-content-type-options'), src).toBe('nosniff');
      expect(asset.headers.get('content-type'), src).toMatch(/^(text|application)\/javascript/);
    }
  });

  it('serves /console (no slash) too', async () => {
    const response = await c.page.goto(`${c.t.httpUrl}/console`);
    expect(response?.status()).toBe(200);
    await c.page.getByLabel('Management token').waitFor();
  });

  it('enforces the CSP: an injected inline script or event handler does not run', async () => {
    const { token } = await c.token('console-csp', ['admin']);
    await c.signIn(token);
    const outcome = await inlineScriptOutcome(c.page);
    expect(outcome.scriptRan).toBe(false);
    expect(outcome.handlerRan).toBe(false);
    expect(outcome.violations).toEqual(expect.arrayContaining([expect.stringMatching(/^script-src-elem /), expect.stringMatching(/^script-src-attr /)]));
    expect(c.watch.dialogs).toEqual([]);
  });
});
