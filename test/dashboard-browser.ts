// Headless Chromium for the dashboard's browser test and benchmark: Debian's `chromium`
// package driven through puppeteer-core (which downloads no browser of its own).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import puppeteer, { type Browser } from 'puppeteer-core';

/** Where Debian's chromium package puts the browser (AUTORESEARCH_CHROMIUM overrides). */
export const CHROMIUM = process.env.AUTORESEARCH_CHROMIUM ?? '/usr/bin/chromium';

/** Throws a message naming the fix when the browser is missing. */
export function requireChromium(): void {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(
      `${CHROMIUM} is missing: the dashboard's browser test needs Debian's chromium (apt-get install -y chromium), ` +
        'or set AUTORESEARCH_CHROMIUM to another Chromium binary',
    );
  }
}

/** A headless browser with a fresh profile, removed on close. */
export async function launchChromium(): Promise<{ browser: Browser; close: () => Promise<void> }> {
  requireChromium();
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'autoresearch-chromium-'));
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-dev-shm-usage',
      `--user-data-dir=${profile}`,
    ],
    protocolTimeout: 120_000,
  });
  return {
    browser,
    close: async () => {
      await browser.close().catch(() => undefined);
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}
