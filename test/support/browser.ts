import { mkdirSync } from 'node:fs';
import path from 'node:path';
import AxeBuilder from '@axe-core/playwright';
import { chromium, type Browser, type Page } from 'playwright-core';

/**
 * Debian's Chromium (scripts/lib.sh ensure_chromium installs it; nothing downloads a browser), driven by
 * playwright-core, for the browser tier (*.browser.spec.ts). Its own connections to the outside are switched
 * off: the tests talk to loopback only. (playwright gives each launch a fresh profile of its own, and removes it.)
 */
export const CHROMIUM = process.env.HOOKPOST_CHROMIUM ?? '/usr/bin/chromium';
/** Next to the test results: what each page looked like, for a person to check. */
export const SCREENSHOTS = path.resolve(__dirname, '../../.hookpost/screenshots');

export async function launchChromium(): Promise<{ browser: Browser; close: () => Promise<void> }> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      ...(process.getuid?.() === 0 ? ['--no-sandbox'] : []),
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-quic',
      '--disable-default-apps',
      '--disable-extensions',
      '--no-first-run',
      '--disable-dev-shm-usage',
    ],
  });
  return {
    browser,
    close: () => browser.close(),
  };
}

/** The whole page (`fullPage`), or what a window shows (ReDoc's whole page is many megabytes of picture). */
export async function screenshot(page: Page, name: string, fullPage = true): Promise<string> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const file = path.join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage });
  return file;
}

/** axe-core's serious and critical violations on the page as it is now (rule id and the elements), none expected. */
export async function seriousViolations(page: Page, options: { disableRules?: string[] } = {}): Promise<string[]> {
  const builder = new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']);
  const results = await (options.disableRules ? builder.disableRules(options.disableRules) : builder).analyze();
  return results.violations
    .filter((violation) => violation.impact === 'serious' || violation.impact === 'critical')
    .map((violation) => `${violation.id} (${violation.impact}): ${violation.nodes.map((node) => node.target.join(' ')).join(', ')}`);
}
