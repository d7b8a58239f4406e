// Real-browser tests drive Debian's Chromium (/usr/bin/chromium) with
// playwright-core, which never downloads a browser of its own: it is given the
// executable. Each test file launches one browser (a fresh temporary profile,
// which playwright-core makes and deletes itself) and opens a fresh context per
// test, so no cookie, storage or cache leaks between tests.
//
// Without /usr/bin/chromium the tests skip, saying why, on a developer's
// machine; with ROOMGATE_REQUIRE_BROWSER=1 (set by .ci/run, which installs the
// chromium package) they fail instead. A missing console build always fails:
// `npm test` builds it first (pretest), so its absence is a broken build.
import { access, constants, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

/** Debian's Chromium, the only browser these tests use. */
export const CHROMIUM = '/usr/bin/chromium';
/** Set by .ci/run: a missing Chromium fails the browser tests instead of skipping them. */
export const BROWSER_REQUIRED = process.env.ROOMGATE_REQUIRE_BROWSER === '1';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** The console's build output, served by roomgate at /console/. */
export const CONSOLE_DIST = path.join(ROOT, 'console', 'dist');
/** Where screenshots go: git-ignored, kept by CI as test artifacts. */
export const ARTIFACTS = path.join(ROOT, 'test-artifacts', 'browser');

/** Why the browser tests cannot run here, or undefined when they can. */
export async function missingChromium(): Promise<string | undefined> {
  return access(CHROMIUM, constants.X_OK).then(
    () => undefined,
    () => `no executable ${CHROMIUM} (Debian's chromium package: apt-get install chromium)`,
  );
}

/** Throws a clear message when the console has not been built. */
export async function assertConsoleBuilt(): Promise<void> {
  await access(path.join(CONSOLE_DIST, 'index.html')).catch(() => {
    throw new Error(`${CONSOLE_DIST}/index.html is missing: build the console first with \`npm run build\` (npm test runs it as pretest)`);
  });
}

/** Launches headless Chromium with a throwaway profile and no background traffic. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    // playwright-core adds --headless and --no-sandbox from these, and a fresh
    // --user-data-dir of its own (it refuses one in args).
    headless: true,
    chromiumSandbox: false,
    args: [
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    timeout: 30_000,
  });
}

/** What a page did that a test may assert on: dialogs (answered) and uncaught errors. */
export interface PageWatch {
  dialogs: string[];
  pageErrors: string[];
  /** Content-Security-Policy violations the page reported, as `directive blocked-uri`. */
  cspViolations(): Promise<string[]>;
}

/** Opens a page in a fresh context and records its dialogs and uncaught errors. */
export async function openPage(browser: Browser): Promise<{ context: BrowserContext; page: Page; watch: PageWatch }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  // Generous for a loaded CI machine; a wait ends as soon as the UI is there.
  context.setDefaultTimeout(20_000);
  // Recorded before any page script runs: the console's own scripts never see or change it.
  await context.addInitScript(`(() => {
    const seen = [];
    Object.defineProperty(window, '__cspViolations', { value: seen });
    document.addEventListener('securitypolicyviolation', (e) => seen.push(e.effectiveDirective + ' ' + e.blockedURI), true);
  })()`);
  const page = await context.newPage();
  const watch: PageWatch = {
    dialogs: [],
    pageErrors: [],
    cspViolations: () => page.evaluate('Array.from(window.__cspViolations)') as Promise<string[]>,
  };
  page.on('dialog', (dialog) => {
    watch.dialogs.push(`${dialog.type()}: ${dialog.message()}`);
    void dialog.dismiss().catch(() => undefined);
  });
  page.on('pageerror', (error) => watch.pageErrors.push(error.message));
  return { context, page, watch };
}

/** Saves a full-page screenshot as a test artifact, test-artifacts/browser/<test file>/<name>.png. */
export async function screenshot(page: Page, testFileUrl: string, name: string): Promise<string> {
  const dir = path.join(ARTIFACTS, path.basename(fileURLToPath(testFileUrl)).replace(/\.test\.ts$/, ''));
  await mkdir(dir, { recursive: true });
  const target = path.join(dir, `${name}.png`);
  await page.screenshot({ path: target, fullPage: true });
  return target;
}
