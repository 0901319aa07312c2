// The Socket.IO Admin UI (@socket.io/admin-ui 0.5.1's own built page, served
// by roomcastd at /admin/) in headless Chromium: it logs in, shows the
// connected sockets and a socket's rooms as roomcastd reports them, and its
// disconnect button really disconnects the socket; its icons and font come
// from roomcastd too (no request leaves for a CDN). Screenshots:
// e2e/artifacts/admin-ui-socket.png (a socket's page) and admin-ui.png (the end).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { kUiTimeoutMs, screenshot, useBrowser } from '../support/browser.js';
import { startRoomcastd } from '../support/process.js';
import { stopServer } from '../support/fixtures.js';
import { baseUrl, closeAll, connect, join, waitFor } from '../support/sio.js';
import { adminEnv, kAdminPassword, kAdminUser } from '../support/admin.js';

/** The row of the dashboard's namespace table for `nsp`: its socket count. */
async function socketsIn(page, nsp) {
  const row = page.locator('tr', { has: page.locator('td', { hasText: new RegExp(`^${nsp}$`) }) });
  return Number((await row.locator('td').nth(1).innerText()).trim());
}

describe('Admin UI in a browser', () => {
  const browser = useBrowser('<!doctype html><title>unused</title>');
  let server;
  let url;
  before(async () => {
    server = await startRoomcastd([], { env: adminEnv });
    url = baseUrl(server.port);
  });
  after(() => stopServer(server));

  it('logs in, shows the sockets and their rooms, and disconnects a socket', async () => {
    const sockets = [
      await connect(url, { transports: ['websocket'] }),
      await connect(url, { transports: ['polling'] }),
    ];
    const [target, other] = sockets;
    await join(target, 'lobby');
    await join(other, 'vip');
    const page = await browser.context.newPage({ viewport: { width: 1280, height: 900 } });
    // Everything the page loads comes from roomcastd (icons and font included).
    const elsewhere = [];
    page.on('request', (request) => {
      if (!request.url().startsWith(url) && !request.url().startsWith('ws')) elsewhere.push(request.url());
    });
    try {
      await page.goto(`${url}/admin/`, { timeout: kUiTimeoutMs });
      // The page came set up for the server it was served by.
      assert.equal(await page.getByLabel('Server URL').inputValue(), url);
      await page.getByLabel('Username').fill(kAdminUser);
      await page.getByLabel('Password').fill(kAdminPassword);
      await page.getByRole('button', { name: 'Connect' }).click();
      await page.locator('header .v-chip', { hasText: /^connected$/i }).first()
        .waitFor({ timeout: kUiTimeoutMs });

      // Dashboard: two sockets on "/", the UI's own on /admin.
      await page.waitForFunction(() => /\/admin\s+1/.test(document.querySelector('main').innerText),
        null, { timeout: kUiTimeoutMs });
      assert.equal(await socketsIn(page, '/'), 2);
      assert.equal(await socketsIn(page, '/admin'), 1);

      // Sockets page: both listed; the target's page shows its rooms.
      await page.locator('nav a[href="#/sockets"]').click();
      for (const socket of sockets) {
        await page.getByText(socket.id, { exact: true }).waitFor({ timeout: kUiTimeoutMs });
      }
      const targetId = target.id;
      await page.getByText(targetId, { exact: true }).click();
      const rooms = page.locator('.v-card', { hasText: 'Rooms' }).last();
      await rooms.getByText('lobby', { exact: true }).waitFor({ timeout: kUiTimeoutMs });
      assert.deepEqual(
        (await rooms.locator('tbody td:first-child').allInnerTexts()).map((t) => t.trim()).sort(),
        [targetId, 'lobby'].sort(),
      );
      await screenshot(page, 'admin-ui-socket');
      // The icon font is there: the buttons show icons, not blanks.
      assert.ok(await page.evaluate(async () => {
        await document.fonts.ready;
        return document.fonts.check('24px "Material Design Icons"') &&
          [...document.fonts].some((f) => f.family.includes('Material Design Icons') && f.status === 'loaded');
      }), 'Material Design Icons loaded');
      assert.ok(await page.evaluate(() => [...document.fonts].some((f) => f.family.includes('Roboto') && f.status === 'loaded')),
        'Roboto loaded');
      assert.deepEqual(elsewhere, [], 'no request to another site');

      // The socket's own disconnect button (the first one is its client's).
      const gone = waitFor(target, 'disconnect');
      await page.locator('main button:has(i.mdi-logout)').nth(1).click();
      assert.equal(await gone, 'io server disconnect');
      assert.ok(other.connected, 'the other socket stays');
      await page.locator('main .v-chip', { hasText: /^disconnected$/i }).first()
        .waitFor({ timeout: kUiTimeoutMs });

      // Back on the list it is gone, the other one still there.
      await page.locator('nav a[href="#/sockets"]').click();
      await page.getByText(other.id, { exact: true }).waitFor({ timeout: kUiTimeoutMs });
      await page.waitForFunction((id) => !document.querySelector('main').innerText.includes(id),
        targetId, { timeout: kUiTimeoutMs });
      await page.locator('nav a[href="#/"]').click();
      await page.waitForFunction(() => /^\/\s+1$/m.test(document.querySelector('main').innerText),
        null, { timeout: kUiTimeoutMs });
    } finally {
      await screenshot(page, 'admin-ui');
      await page.close().catch(() => {});
      closeAll(sockets);
    }
  });
});
