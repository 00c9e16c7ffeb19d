// Sotto Desk in a real Chromium, second part: the idle auto-lock counting
// only the person's actions, Retry/Discard of a message that was not sent,
// sending to the care team, ending a link, linked devices (link a new one
// that joins from its own desk, remove it) and backups. A server of its own
// (this file stops and restarts it), a therapist's and a client's desk.
import {describe, it, before, after} from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {chromium} from 'playwright-core';
import {CHROMIUM, CLIENT_PASS, FLAGS, THERAPIST_PASS, axe, enrolTherapist, openPage, sotto,
        startDesk, startServer, state, stopAll, tempDir, until} from './harness.mjs';


let root; let dataDir; let address; let serverChild; let browser;
let therapistDesk; let samDesk; let tPage; let sPage;
let backupNow = null;  // {file, key} of the backups test, for the restore

// sotto-server on `listen` (127.0.0.1:0 the first time, then the same
// address again): this file kills it to make a send fail.
async function startOwnServer(listen) {
  const started = await startServer(root, listen);
  serverChild = started.child;
  dataDir = started.dataDir;
  return started.address;
}

function killServer() {
  return new Promise((resolve) => {
    if (!serverChild || serverChild.exitCode !== null) return resolve();
    serverChild.once('exit', () => resolve());
    serverChild.kill('SIGKILL');
  });
}

function newPage(desk) {
  return openPage(browser, desk, {
    timeout: 15000,
    onPage: (page) => page.on('dialog', (d) => d.dismiss().catch(() => {})),
  });
}

// Everything the browser stores for the page's origin, as one string.
async function stored(page) {
  return page.evaluate(async () => {
    const parts = [];
    for (const s of [localStorage, sessionStorage]) {
      for (let i = 0; i < s.length; ++i) parts.push(s.key(i), s.getItem(s.key(i)));
    }
    parts.push(String((await indexedDB.databases()).length), String((await caches.keys()).length));
    return parts.join('|');
  });
}

// A client of dr-rivera made with the CLI (rivera's invite through its desk's agent).
function newClient(name) {
  const invite = sotto(path.join(root, 'rivera'), THERAPIST_PASS, ['invite'])
      .match(/Invite code: (\S+)/)[1];
  const profile = path.join(root, name);
  sotto(profile, CLIENT_PASS, ['init', '--server', address, '--role', 'client', '--name', name,
                               '--invite', invite]);
  return profile;
}

// The therapist's page sends `text` to `to` (as the compose form does).
async function therapistSends(to, text) {
  return tPage.evaluate(async ([t, x]) => (await fetch('/api/send', {method: 'POST',
      headers: {'Content-Type': 'application/json'}, body: JSON.stringify({to: t, text: x})})).status,
  [to, text]);
}

describe('Sotto Desk in the browser: activity, devices, backups', () => {
  before(async () => {
    root = tempDir();
    address = await startOwnServer('127.0.0.1:0');
    const code = enrolTherapist(dataDir, 'dr-rivera');
    const tProfile = path.join(root, 'rivera');
    sotto(tProfile, THERAPIST_PASS, ['init', '--server', address, '--role', 'therapist',
                                     '--name', 'dr-rivera', '--enrol', code]);
    therapistDesk = await startDesk(root, 'therapist', tProfile, THERAPIST_PASS);
    const samProfile = newClient('sam');
    samDesk = await startDesk(root, 'sam', samProfile, CLIENT_PASS);
    browser = await chromium.launch({executablePath: CHROMIUM, headless: true, args: FLAGS});
    tPage = await newPage(therapistDesk);
    sPage = await newPage(samDesk);
    await tPage.locator('#queue-title').waitFor();
  });

  after(async () => {
    if (browser) await browser.close();
    await stopAll();
    await killServer();
    if (root && !process.env.SOTTO_DESK_KEEP) {
      fs.rmSync(root, {recursive: true, force: true, maxRetries: 5});
    }
  });

  it('a page that keeps receiving messages still locks when nobody touches it', async () => {
    const kimDesk = await startDesk(root, 'kim', newClient('kim'), CLIENT_PASS, ['--auto-lock', '5s']);
    const page = await newPage(kimDesk);
    await page.goto(kimDesk.origin + '/#/c/dr-rivera');
    await page.locator('.compose').waitFor();
    // The therapist writes every 0.7 s; each arrives live, the page marks it
    // read and refetches — its own doing, not the person's.
    let sent = 0;
    let locked = false;
    const deadline = Date.now() + 40000;
    while (!locked && Date.now() < deadline) {
      assert.equal(await therapistSends('kim', `still there? ${++sent}`), 200);
      locked = await page.locator('#unlock-title').waitFor({timeout: 700}).then(() => true, () => false);
    }
    assert.ok(locked, `still open after ${sent} messages in 40 s`);
    assert.ok(sent >= 4, `the messages kept coming while it was open (${sent})`);
    assert.equal(await page.locator('.msg').count(), 0);
    assert.equal(await state(page), 'locked');

    // Unlocked again, the person's own keys and clicks keep it open.
    await page.getByLabel('Passphrase').fill(CLIENT_PASS);
    await page.getByRole('button', {name: 'Unlock'}).click();
    await page.locator('#conv-title').waitFor();
    const start = Date.now();
    while (Date.now() - start < 9000) {
      await page.keyboard.press('Shift');
      await page.mouse.click(5, 795);
      await page.waitForTimeout(700);  // a person's pace, not a wait for an event
      assert.equal(await page.locator('#unlock-title').count(), 0,
                   `locked after ${Date.now() - start} ms of a person's activity`);
    }
    assert.equal(await state(page), 'open');
    // Then they stop: it locks.
    await page.locator('#unlock-title').waitFor({timeout: 20000});
    await page.context().close();
  });

  it('a message that was not sent offers Retry and Discard', async () => {
    await sPage.goto(samDesk.origin + '/#/c/dr-rivera');
    const body = sPage.locator('.compose textarea');
    await body.waitFor();
    await killServer();
    for (const text of ['sent once the server is back', 'a line to discard']) {
      await body.fill(text);
      await sPage.locator('.compose').getByRole('button', {name: 'Send', exact: true}).click();
      await sPage.locator('.compose .status.error').waitFor();
    }
    // The conversation drawn again shows both as not sent, each with its buttons.
    await sPage.goto(samDesk.origin + '/#/conversations');
    await sPage.locator('#conv-title').waitFor();
    await sPage.goto(samDesk.origin + '/#/c/dr-rivera');
    const kept = sPage.locator('.msg.out', {hasText: 'sent once the server is back'});
    const discard = sPage.locator('.msg.out', {hasText: 'a line to discard'});
    await kept.locator('.state', {hasText: 'not sent'}).waitFor();
    await discard.getByRole('button', {name: 'Discard this message'}).click();
    await sPage.getByRole('dialog').getByRole('button', {name: 'Discard'}).click();
    await discard.locator('.state', {hasText: 'cancelled'}).waitFor();
    assert.equal(await discard.getByRole('button', {name: 'Retry sending this message'}).count(), 0);

    address = await startOwnServer(address);
    // Retry until the desk's channel is past its reconnect backoff (its
    // Listen may also send it first once it is back).
    await until('the message sent', async () => {
      const retry = kept.getByRole('button', {name: 'Retry sending this message'});
      if (await retry.count()) await retry.click().catch(() => {});
      const now = await kept.locator('.state').textContent().catch(() => '');
      return ['sent', 'delivered', 'read'].includes(now);
    }, 40000);
    assert.equal(await kept.getByRole('button', {name: 'Retry sending this message'}).count(), 0);
  });

  it('a client writes to the whole care team', async () => {
    await sPage.goto(samDesk.origin + '/#/c/dr-rivera');
    const form = sPage.locator('.compose');
    await form.locator('textarea').waitFor();
    await form.getByLabel('Send to my whole care team').check();
    await form.locator('textarea').fill('a note for all of my team');
    await form.getByRole('button', {name: 'Send', exact: true}).click();
    await form.locator('.status', {hasText: 'Sent to your care team: dr-rivera'}).waitFor();
    await tPage.goto(therapistDesk.origin + '/#/c/sam');
    await tPage.locator('.msg.in', {hasText: 'a note for all of my team'}).waitFor();
  });

  it('a therapist ends a link after confirming', async () => {
    newClient('lou');
    await tPage.goto(therapistDesk.origin + '/#/links');
    const row = tPage.locator('tr', {hasText: 'lou'});
    await row.getByRole('button', {name: 'End link with lou'}).click();
    // "No" keeps it.
    await tPage.getByRole('dialog').getByRole('button', {name: 'No, keep it'}).click();
    assert.equal(await row.locator('td', {hasText: /^active$/}).count(), 1);
    await row.getByRole('button', {name: 'End link with lou'}).click();
    await tPage.getByRole('dialog').getByRole('button', {name: 'End link'}).click();
    await tPage.locator('#links-status', {hasText: 'The link with lou has ended.'}).waitFor();
    await tPage.locator('tr', {hasText: 'lou'}).locator('td', {hasText: /^ended/}).waitFor();
  });

  it('links a new device that joins from its own desk, then removes it', async () => {
    await sPage.goto(samDesk.origin + '/#/devices');
    await sPage.locator('#devices-title').waitFor();
    assert.equal(await sPage.locator('#device-list tbody tr').count(), 1);
    await sPage.locator('#device-list tr', {hasText: 'this device'}).waitFor();
    await sPage.getByRole('button', {name: 'Link a new device'}).click();
    const code = (await sPage.locator('#link-code').textContent()).trim();
    assert.ok(code.length > 10, code);
    const qr = await sPage.locator('#link-box img').getAttribute('src');
    assert.ok(qr.startsWith('data:image/svg+xml;base64,'));
    await axe(sPage, 'devices while linking');

    const laptopDesk = await startDesk(root, 'laptop', path.join(root, 'laptop'), '');
    const laptop = await newPage(laptopDesk);
    await laptop.locator('#setup-title').waitFor();
    await laptop.getByRole('button', {name: 'Add this device to an account you already use'}).click();
    await laptop.locator('#join-title').waitFor();
    await axe(laptop, 'join as a new device');
    await laptop.getByLabel('Server').fill(address);
    await laptop.getByLabel('Name of this device').fill('office laptop');
    await laptop.getByLabel('Passphrase for this device').fill('another orchard of lanterns 5');
    await laptop.getByLabel('Passphrase again').fill('another orchard of lanterns 5');
    await laptop.getByLabel('Link code').fill(code);
    await laptop.getByRole('button', {name: 'Join as a new device'}).click();
    await laptop.locator('#conv-title').waitFor({timeout: 60000});
    assert.match(await laptop.locator('#who').textContent(), /^sam /);

    await sPage.locator('#link-stage', {hasText: 'Sent.'}).waitFor({timeout: 30000});
    await until('the laptop in the list', async () => {
      if (await sPage.locator('#device-list tr', {hasText: 'office laptop'}).count()) return true;
      await sPage.goto(samDesk.origin + '/#/settings');
      await sPage.goto(samDesk.origin + '/#/devices');
      await sPage.locator('#devices-title').waitFor();
      return false;
    });
    // This device has no Remove button; the other one does, behind a question.
    assert.equal(await sPage.locator('#device-list tr', {hasText: 'this device'})
        .getByRole('button').count(), 0);
    await sPage.getByRole('button', {name: 'Remove office laptop'}).click();
    await sPage.getByRole('dialog').getByRole('button', {name: 'Remove'}).click();
    await sPage.locator('#devices-status', {hasText: 'office laptop was removed.'}).waitFor();
    assert.equal(await sPage.locator('#device-list tbody tr').count(), 1);
    await laptop.context().close();
  });

  it('backups: automatic ones, one now, a new recovery key shown once and stored nowhere', async () => {
    const dir = path.join(root, 'backups');
    await sPage.goto(samDesk.origin + '/#/backup');
    await sPage.locator('#backup-title').waitFor();
    await sPage.locator('#backup-state', {hasText: 'off'}).waitFor();
    await axe(sPage, 'backups');
    await sPage.getByLabel('Directory').fill('relative/dir');
    await sPage.getByRole('button', {name: 'Turn on automatic backups'}).click();
    await sPage.locator('#backup-status', {hasText: 'absolute path'}).waitFor();
    await sPage.getByLabel('Directory').fill(dir);
    await sPage.getByLabel('How often').selectOption('60');
    await sPage.getByRole('button', {name: 'Turn on automatic backups'}).click();
    const key = (await sPage.locator('#recovery-key').textContent()).trim();
    assert.match(key, /^\d{4}( \d{4}){9}$|^\d{4}(-\d{4}){9}$/);
    await sPage.locator('#recovery-box', {hasText: 'Write it down'}).waitFor();
    await sPage.locator('#backup-state', {hasText: 'Last backup'}).waitFor();
    assert.equal(fs.readdirSync(dir).filter((f) => f.endsWith('.sottobackup')).length, 1);
    assert.ok(!(await stored(sPage)).includes(key.slice(0, 9)), 'the key is in no browser storage');
    await sPage.getByRole('button', {name: 'I have written it down'}).click();
    assert.ok(!(await sPage.content()).includes(key), 'the key left the page');

    await sPage.getByRole('button', {name: 'New recovery key'}).click();
    const renewed = (await sPage.locator('#recovery-key').textContent()).trim();
    assert.notEqual(renewed, key);
    await sPage.getByRole('button', {name: 'I have written it down'}).click();

    const file = path.join(root, 'now.sottobackup');
    await sPage.getByLabel('File to write').fill(file);
    await sPage.getByRole('button', {name: 'Back up now'}).click();
    // Named by its path: the status still says where the automatic one went.
    await sPage.locator('#backup-status', {hasText: `Backup written to ${file}`}).waitFor();
    assert.ok(fs.existsSync(file));
    await sPage.locator('#recovery-key').waitFor();
    backupNow = {file, key: (await sPage.locator('#recovery-key').textContent()).trim()};
    await sPage.getByRole('button', {name: 'I have written it down'}).click();

    await sPage.getByRole('button', {name: 'Turn off'}).click();
    await sPage.locator('#backup-state', {hasText: 'off'}).waitFor();
    assert.equal(await stored(sPage), '0|0');
  });

  it('a desk in setup restores a backup with its recovery key', async () => {
    assert.ok(backupNow, 'the backups test made one');
    const restoredDesk = await startDesk(root, 'restored', path.join(root, 'restored'), '');
    const page = await newPage(restoredDesk);
    await page.locator('#setup-title').waitFor();
    await page.getByRole('button', {name: 'Restore from a backup'}).click();
    await page.locator('#restore-title').waitFor();
    await axe(page, 'restore');
    await page.getByLabel('Backup file').fill(backupNow.file);
    await page.getByLabel('Recovery key').fill('1111 2222 3333 4444 5555 6666 7777 8888 9999 0000');
    await page.getByLabel('New passphrase for this device').fill('restored orchard lanterns 12');
    await page.getByLabel('Passphrase again').fill('restored orchard lanterns 12');
    await page.getByRole('button', {name: 'Restore', exact: true}).click();
    await page.locator('#restore-status.error').waitFor();
    assert.equal(await state(page), 'setup');
    assert.equal(await page.getByLabel('Recovery key').inputValue(), '', 'a wrong key is cleared');
    await page.getByLabel('Recovery key').fill(backupNow.key);
    await page.getByRole('button', {name: 'Restore', exact: true}).click();
    await page.locator('#conv-title').waitFor({timeout: 60000});
    assert.match(await page.locator('#who').textContent(), /^sam /);
    assert.equal(await stored(page), '0|0');
    await page.context().close();
  });
});
