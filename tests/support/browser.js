// Headless Chromium (via playwright-core) for the e2e tests: a loopback page
// server that serves a test's page and the socket.io-client browser bundle
// (so the page and roomcastd are on different origins), one persistent
// browser context per describe block, and screenshots into tests/e2e/artifacts/
// (git-ignored; kept for looking at a failure afterwards).
import { after, before } from 'node:test';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const bundlePath = path.join(here, '../node_modules/socket.io-client/dist/socket.io.min.js');
const artifactsDir = path.join(here, '../e2e/artifacts');
// Headless in a container: no sandbox, GPU or QUIC, and nothing that reaches
// out to the network on its own (updates, sync) while a test runs.
const kChromiumArgs = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** How long a page step (navigation, waiting for the page to report) may take. */
export const kUiTimeoutMs = 8000;

/**
 * Serves `pageHtml` at / and the client bundle at /socket.io.min.js on
 * 127.0.0.1; resolves { origin, close() }.
 */
async function startPageServer(pageHtml) {
  const bundle = fs.readFileSync(bundlePath);
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://page');
    if (url.pathname === '/') {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
      res.end(pageHtml);
    } else if (url.pathname === '/socket.io.min.js') {
      res.writeHead(200, { 'Content-Type': 'application/javascript' });
      res.end(bundle);
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `http://127.0.0.1:${server.address().port}`,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(resolve);
    }),
  };
}

/**
 * Registers before/after hooks for the enclosing describe block: a page
 * server for `pageHtml` and a headless Chromium context (CHROMIUM_PATH, or
 * /usr/bin/chromium). The fixture's fields are filled in `before`: origin
 * (the page's), context; pageUrl(socketUrl, room) is the page's address with
 * the ?url=&room= it reads.
 */
export function useBrowser(pageHtml) {
  let pageServer;
  let userDataDir;
  const fixture = {
    origin: '',
    context: null,
    pageUrl: (socketUrl, room) => `${fixture.origin}/?url=${encodeURIComponent(socketUrl)}&room=${encodeURIComponent(room)}`,
  };

  before(async () => {
    pageServer = await startPageServer(pageHtml);
    fixture.origin = pageServer.origin;
    userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'roomcast-chromium-'));
    fixture.context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      headless: true,
      args: kChromiumArgs,
      timeout: 20000,
    });
  });

  after(async () => {
    await fixture.context?.close().catch(() => {});
    await pageServer?.close();
    if (userDataDir) fs.rmSync(userDataDir, { recursive: true, force: true });
  });

  return fixture;
}

/** Saves a full-page screenshot as artifacts/<name>.png; never fails the test. */
export async function screenshot(page, name) {
  fs.mkdirSync(artifactsDir, { recursive: true });
  await page.screenshot({ path: path.join(artifactsDir, `${name}.png`), fullPage: true }).catch(() => {});
}
