// One browser test file's fixture: a live roomgate (real Postgres, gRPC and the
// HTTP listener that serves /console/ and gRPC-Web), one headless Chromium for
// the file, and a fresh browser context per test. Setup data is made through
// the gRPC API, as an operator's scripts would; the test then acts in the UI
// and checks the outcome through the API again.
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, vi } from 'vitest';
import { ManagementScope } from '../../src/gen/roomgate/v1/resources.js';
import { BROWSER_REQUIRED, assertConsoleBuilt, launchChromium, missingChromium, openPage, screenshot, type PageWatch } from './browser.js';
import { startTestRoomgate, type TestRoomgate } from './roomgate.js';

const missing = await missingChromium();
const SKIP = missing !== undefined && !BROWSER_REQUIRED;
// Said once, in the run's output: the default reporter shows no skip notes.
if (SKIP) console.warn(`browser tests skipped: ${missing}; .ci/run installs it and sets ROOMGATE_REQUIRE_BROWSER=1`);

/** `describe`, or `describe.skip` when Chromium is missing on a developer's machine (never in CI). */
export const describeBrowser: typeof describe.skip = describe.skipIf(SKIP);

/** Scope names as the console shows them and the proto spells them. */
export const SCOPES = {
  admin: ManagementScope.MANAGEMENT_SCOPE_ADMIN,
  rooms: ManagementScope.MANAGEMENT_SCOPE_ROOMS,
  read: ManagementScope.MANAGEMENT_SCOPE_READ,
  verify: ManagementScope.MANAGEMENT_SCOPE_VERIFY,
  audit: ManagementScope.MANAGEMENT_SCOPE_AUDIT,
} as const;
/** A scope name. */
export type ScopeName = keyof typeof SCOPES;

/** A management token made through CreateManagementToken. */
export interface ApiToken {
  token: string;
  id: string;
  name: string;
}

/** The fixture: valid inside tests (and `page` inside each test only). */
export interface ConsoleFixture {
  readonly t: TestRoomgate;
  readonly browser: Browser;
  /** A bootstrap admin token minted in the database, for API setup and checks. */
  readonly root: string;
  readonly context: BrowserContext;
  readonly page: Page;
  readonly watch: PageWatch;
  /** Creates a management token through the API (so it has a name the audit log shows). */
  token(name: string, scopes: ScopeName[]): Promise<ApiToken>;
  /** Opens /console/ and signs in with `token`; resolves once the header shows the session. */
  signIn(token: string): Promise<void>;
  /** Goes to a console route such as `#/bans` in the same tab (the session stays in sessionStorage). */
  go(route: string): Promise<void>;
  /** The h1 heading with this exact name. */
  heading(name: string): Locator;
  /**
   * Resolves once the page's live stream is shown to work: makes a change with
   * `probe` (after the page has read its list) until the page shows what
   * `probe` returns, each try waiting up to 3 s. The console's "Live" status is
   * set when the stream is asked for, before the server has fixed its start,
   * so it proves nothing; an event made before that start may rightly never
   * show. Resolves to the probe's result that showed.
   */
  streamUp<T extends Locator>(probe: () => Promise<T>): Promise<T>;
  /** Saves a screenshot artifact named after this file and `name`. */
  shot(name: string): Promise<string>;
}

/**
 * Registers the hooks of a browser test file (pass its import.meta.url). `env` is passed to the test
 * roomgate (e.g. to let webhooks reach a loopback receiver).
 */
export function useConsole(testFileUrl: string, env: Record<string, string> = {}): ConsoleFixture {
  let t: TestRoomgate | undefined;
  let browser: Browser | undefined;
  let root = '';
  let current: { context: BrowserContext; page: Page; watch: PageWatch } | undefined;

  let unbuilt: Error | undefined;

  beforeAll(async () => {
    if (missing !== undefined) return;
    unbuilt = await assertConsoleBuilt().then(() => undefined, (err: Error) => err);
    if (unbuilt) return;
    [t, browser] = await Promise.all([startTestRoomgate(env), launchChromium()]);
    root = await t.managementToken('sandbox');
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });
  // Thrown per test rather than from beforeAll, so that each counts as failed, not skipped.
  beforeEach(async () => {
    if (missing !== undefined) throw new Error(`ROOMGATE_REQUIRE_BROWSER=1, but ${missing}`);
    if (unbuilt) throw unbuilt;
    current = await openPage(browser!);
  });
  afterEach(async (ctx) => {
    const opened = current;
    current = undefined;
    if (!opened) return;
    // The page as each test left it, kept with the others: what to look at when one fails.
    await screenshot(opened.page, testFileUrl, `end-${ctx.task.name.replace(/\W+/g, '-')}`).catch(() => undefined);
    await opened.context.close();
    // An uncaught error in the console is a defect even when the test's own checks passed.
    expect(opened.watch.pageErrors, 'uncaught errors in the page').toEqual([]);
  });

  const need = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`${what} is only available inside a browser test`);
    return value;
  };
  const fixture: ConsoleFixture = {
    get t() {
      return need(t, 'the roomgate');
    },
    get browser() {
      return need(browser, 'the browser');
    },
    get root() {
      return root;
    },
    get context() {
      return need(current, 'the page').context;
    },
    get page() {
      return need(current, 'the page').page;
    },
    get watch() {
      return need(current, 'the page').watch;
    },
    async token(name, scopes) {
      const res = await fixture.t.client.tokens.createManagementToken({ name, scopes: scopes.map((s) => SCOPES[s]) }, { token: root });
      return { token: res.token, id: res.managementToken!.id, name };
    },
    async signIn(token) {
      const { page } = fixture;
      await page.goto(`${fixture.t.httpUrl}/console/`);
      await page.getByLabel('Management token').fill(token);
      await page.getByRole('button', { name: 'Sign in', exact: true }).click();
      await page.getByLabel('Environment', { exact: true }).waitFor();
    },
    async go(route) {
      await fixture.page.goto(`${fixture.t.httpUrl}/console/${route}`);
    },
    heading: (name) => fixture.page.getByRole('heading', { level: 1, name, exact: true }),
    streamUp: (probe) =>
      eventually(async () => {
        const shown = await probe();
        await shown.waitFor({ timeout: 3_000 });
        return shown;
      }, 60_000),
    shot: (name) => screenshot(fixture.page, testFileUrl, name),
  };
  return fixture;
}

/** Resolves once `check` passes, retrying on failure: waits on UI or API state, never a fixed time. */
export function eventually<T>(check: () => T | Promise<T>, timeoutMs = 20_000): Promise<T> {
  return vi.waitFor(check, { timeout: timeoutMs, interval: 50 });
}
