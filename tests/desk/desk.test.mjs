// Sotto Desk in a real Chromium (issue 18): the real sotto-server, a
// therapist's and a client's `sotto desk`, and the page driving them.
import {describe, it, before, after} from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import {chromium} from 'playwright-core';
import {CHROMIUM, CLIENT_PASS, DESKTOP, FLAGS, PHONE, THERAPIST_PASS, axe, enrolTherapist, openPage,
        sotto, startDesk, startServer, state, stopAll, tempDir, until} from './harness.mjs';

const SHOTS = process.env.SOTTO_DESK_SCREENSHOTS || '';  // a directory, or '' for none
const COUNT = Number(process.env.SOTTO_DESK_LONG_COUNT || 2000);
const XSS = '<script>window.__pwned=1</script><img src=x onerror="alert(1);fetch(\'/pwned\')">';
const PAT_NEW_PASS = 'cobalt meadow lantern ferry 2031';
// A policy always open (every day, all day): a message is due exactly the
// reply window after it arrives.
const ALWAYS_OPEN = {time_zone: 'UTC', working_days: [1, 2, 3, 4, 5, 6, 7], day_start: '00:00',
                     day_end: '24:00'};


let root; let server; let therapistDesk; let clientDesk; let browser;
let tPage; let cPage; let other; let otherPort;
let patDesk; let patPage; let saved;
const dialogs = [];
const strayRequests = [];

function newPage(desk) {
  return openPage(browser, desk, {
    onPage: (page) => {
      page.on('dialog', (d) => { dialogs.push(d.message()); d.dismiss().catch(() => {}); });
      page.on('request', (r) => {
        const u = new URL(r.url());
        if (u.origin !== desk.origin || /pwned|^\/x$/.test(u.pathname)) strayRequests.push(r.url());
      });
    },
  });
}

async function shot(page, name) {
  if (!SHOTS) return;
  fs.mkdirSync(SHOTS, {recursive: true});
  await page.screenshot({path: path.join(SHOTS, name + '.png'), scale: 'css'});
}

// Waits until the client's letter shows `want` as its delivery state (live:
// the page is not reloaded).
async function letterState(page, want) {
  const shown = page.locator('.msg.out', {hasText: 'hard week'}).locator('.state');
  await until(`the letter ${want}`, async () => {
    const now = await shown.textContent();
    return now === want || (want === 'delivered' && now === 'read');
  }, 15000).catch(async (e) => {
    throw new Error(`${e.message}; the letter shows "${await shown.textContent()}"`);
  });
}

// A client of dr-rivera made with the CLI (the invite comes through the
// therapist desk's agent socket): its profile directory.
function newClient(name, dir = name) {
  const invite = sotto(path.join(root, 'rivera'), THERAPIST_PASS, ['invite'])
      .match(/Invite code: (\S+)/)[1];
  const profile = path.join(root, dir);
  sotto(profile, CLIENT_PASS, ['init', '--server', server.address, '--role', 'client',
                               '--name', name, '--invite', invite]);
  return profile;
}

// A fetch from inside `page` (its cookie, its Origin): {status, body}.
async function call(page, method, url, body) {
  return page.evaluate(async ([m, u, b]) => {
    const r = await fetch(u, {method: m, headers: b ? {'Content-Type': 'application/json'} : {},
                              body: b ? JSON.stringify(b) : undefined});
    const text = await r.text();
    return {status: r.status, body: text ? JSON.parse(text) : null};
  }, [method, url, body]);
}

// Waits until the queue on `page` (reloaded each try) satisfies `fn(entries)`.
async function queueWhere(page, what, fn, ms = 20000) {
  return until(what, async () => {
    const q = await call(page, 'GET', '/api/queue?all=1');
    return fn(q.body.entries || []) ? q.body.entries : null;
  }, ms);
}

// Horizontal overflow of the document at the current viewport: the pixels a
// phone would have to scroll sideways (0 when the layout fits).
async function overflow(page) {
  return page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
}

describe('Sotto Desk in the browser', () => {
  before(async () => {
    root = tempDir();
    server = await startServer(root);
    const code = enrolTherapist(server.dataDir, 'dr-rivera');
    const tProfile = path.join(root, 'rivera');
    sotto(tProfile, THERAPIST_PASS, ['init', '--server', server.address, '--role', 'therapist',
                                     '--name', 'dr-rivera', '--enrol', code]);
    therapistDesk = await startDesk(root, 'therapist', tProfile, THERAPIST_PASS);
    clientDesk = await startDesk(root, 'client', path.join(root, 'sam'), '');
    browser = await chromium.launch({executablePath: CHROMIUM, headless: true, args: FLAGS});
    tPage = await newPage(therapistDesk);
    cPage = await newPage(clientDesk);
    // Another origin (another port on the same machine) trying the API.
    other = http.createServer((req, res) => {
      res.writeHead(200, {'Content-Type': 'text/html'});
      res.end('<!doctype html><title>elsewhere</title>');
    });
    await new Promise((r) => other.listen(0, '127.0.0.1', r));
    otherPort = other.address().port;
  });

  after(async () => {
    if (browser) await browser.close();
    if (other) other.close();
    await stopAll();
    if (root && !process.env.SOTTO_DESK_KEEP) {
      fs.rmSync(root, {recursive: true, force: true, maxRetries: 5});
    }
  });

  it('the therapist creates an invite shown as code and QR', async () => {
    await tPage.locator('#queue-title').waitFor();
    await tPage.getByRole('link', {name: 'Invites'}).click();
    await tPage.getByRole('button', {name: 'Create invite'}).click();
    const code = (await tPage.locator('#invite-code').textContent()).trim();
    assert.match(code, /^[0-9A-Z]{4}(-[0-9A-Z]{4}){2,6}$/);
    const src = await tPage.locator('img.qr').getAttribute('src');
    assert.ok(src.startsWith('data:image/svg+xml;base64,'), src.slice(0, 40));
    await shot(tPage, 'invites');
    tPage.inviteCode = code;
  });

  it('the client joins with the invite on the setup page', async () => {
    await cPage.locator('#setup-title').waitFor();
    await axe(cPage, 'setup');
    await cPage.getByLabel('Server').fill(server.address);
    await cPage.getByLabel('Your name on Sotto (handle)').fill('sam');
    await cPage.getByLabel('Passphrase', {exact: true}).fill(CLIENT_PASS);
    await cPage.getByLabel('Passphrase again').fill(CLIENT_PASS);
    await cPage.getByLabel('Invite code').fill(tPage.inviteCode);
    await shot(cPage, 'setup');
    await cPage.getByRole('button', {name: 'Join'}).click();
    await cPage.locator('#conv-title').waitFor({timeout: 30000});
    assert.equal(await state(cPage), 'open');
    // The therapist's invite list now says it was used.
    await tPage.reload();
    await tPage.locator('#inv-list-title').waitFor();
    assert.equal(await tPage.locator('.list-error').count(), 0);
    await tPage.getByRole('row', {name: new RegExp(`${tPage.inviteCode}.*used by sam`)}).waitFor();
  });

  it('the client writes a letter (draft autosaved) and it appears live in the queue', async () => {
    await tPage.goto(therapistDesk.origin + '/#/queue');
    await tPage.locator('#queue-title').waitFor();
    await cPage.getByRole('link', {name: 'dr-rivera'}).click();
    await cPage.locator('.compose').waitFor();
    assert.match(await cPage.locator('.emergency').textContent(), /emergenc/i);
    await cPage.getByLabel('Letter', {exact: true}).check();
    await cPage.getByLabel('Subject').fill('Before Thursday');
    await cPage.locator('.compose textarea').fill('Dear Dr. Rivera,\nI had a hard week.\n— Sam');
    await cPage.locator('.saved').filter({hasText: 'Draft saved'}).waitFor();
    await cPage.reload();  // nothing is lost: the draft comes back from the profile
    await cPage.locator('.compose textarea').waitFor();
    await until('the draft back', async () =>
        (await cPage.locator('.compose textarea').inputValue()).includes('hard week'));
    assert.equal(await cPage.getByLabel('Subject').inputValue(), 'Before Thursday');
    await axe(cPage, 'compose');
    await shot(cPage, 'compose');
    await cPage.getByRole('button', {name: 'Send', exact: true}).click();
    await cPage.locator('.compose .status').filter({hasText: 'Sent.'}).waitFor();
    assert.match(await cPage.locator('.compose .status').textContent(), /Expect a reply by/);
    const drafts = await cPage.evaluate(async () => (await (await fetch('/api/drafts')).json()).drafts);
    assert.equal(drafts.length, 0, 'the draft is gone once sent');
    // Live: no reload on the therapist's side.
    await tPage.locator('tr[data-client="sam"]').waitFor({timeout: 15000});
    await tPage.locator('body').press('?');
    await tPage.getByRole('dialog', {name: 'Keyboard shortcuts'}).waitFor();
    await tPage.keyboard.press('Escape');
    await tPage.getByRole('dialog', {name: 'Keyboard shortcuts'}).waitFor({state: 'hidden'});
    await axe(tPage, 'queue');
    await shot(tPage, 'queue');
  });

  it('the therapist replies in the thread; the client sees it live with delivery states', async () => {
    await tPage.locator('body').press('r');
    await tPage.locator('.replying').filter({hasText: 'Before Thursday'}).waitFor();
    await tPage.locator('.compose textarea').fill('Thank you, Sam. Let us talk on Thursday.');
    await tPage.getByRole('button', {name: 'Send', exact: true}).click();
    await tPage.locator('.compose .status').filter({hasText: 'Sent.'}).waitFor();
    const reply = cPage.locator('.messages .msg.in', {hasText: 'Let us talk on Thursday'});
    await reply.waitFor({timeout: 15000});
    assert.match(await reply.textContent(), /In reply to “Before Thursday”/);
    // Delivered to the therapist's device, shown live.
    await letterState(cPage, 'delivered');
    await shot(cPage, 'conversation');
  });

  it('send later, then cancel from the scheduled list', async () => {
    await cPage.locator('.compose textarea').fill('Good morning — slept better.');
    await cPage.getByLabel('Short text').check();
    await cPage.getByLabel('Send later').check();
    const when = new Date(Date.now() + 26 * 3600000);
    const pad = (n) => String(n).padStart(2, '0');
    await cPage.getByLabel('Send at').fill(`${when.getFullYear()}-${pad(when.getMonth() + 1)}-` +
        `${pad(when.getDate())}T${pad(when.getHours())}:${pad(when.getMinutes())}`);
    await cPage.getByRole('button', {name: 'Send', exact: true}).click();
    await cPage.locator('.compose .status').filter({hasText: 'Scheduled for'}).waitFor();
    await cPage.getByRole('link', {name: 'Scheduled'}).click();
    const item = cPage.locator('.scheduled li', {hasText: 'slept better'});
    await item.waitFor();
    await shot(cPage, 'scheduled');
    await item.getByRole('button', {name: /Cancel/}).click();
    await cPage.getByText('Nothing is scheduled.').waitFor();
  });

  it('a message with <script> and <img onerror> is shown as text and runs nothing', async () => {
    const sent = await cPage.evaluate(async (text) => (await fetch('/api/send', {method: 'POST',
        headers: {'Content-Type': 'application/json'}, body: JSON.stringify({to: 'dr-rivera', text})})).status, XSS);
    assert.equal(sent, 200);
    await tPage.goto(therapistDesk.origin + '/#/c/sam');
    const msg = tPage.locator('.messages .msg.in .text', {hasText: '<script>'});
    await msg.waitFor({timeout: 15000});
    assert.equal(await msg.textContent(), XSS);
    assert.equal(await tPage.locator('.messages img, .messages script').count(), 0);
    await tPage.waitForTimeout(300);
    assert.equal(await tPage.evaluate(() => window.__pwned), undefined);
    assert.deepEqual(dialogs, []);
    assert.deepEqual(strayRequests, []);
    // The therapist's page read the letter earlier (the read receipt left
    // their desk then: Client::SendPendingReceipts after the read).
    await cPage.goto(clientDesk.origin + '/#/c/dr-rivera');
    await cPage.locator('.compose').waitFor();
    await letterState(cPage, 'read');
  });

  it('snooze and close from the queue', async () => {
    await tPage.goto(therapistDesk.origin + '/#/queue');
    const row = tPage.locator('tr[data-client="sam"]');
    await row.waitFor();
    await tPage.locator('body').press('s');
    await tPage.getByRole('button', {name: 'For 2 hours'}).click();
    await tPage.locator('#queue-status').filter({hasText: 'Snoozed sam until'}).waitFor();
    await tPage.getByLabel('Show answered and closed conversations too').check();
    await tPage.locator('tr[data-client="sam"]', {hasText: 'snoozed'}).waitFor();
    await tPage.getByRole('button', {name: 'Close sam'}).click();
    await tPage.locator('#queue-status').filter({hasText: 'Closed the conversation with sam'}).waitFor();
    await tPage.locator('tr[data-client="sam"]', {hasText: 'closed'}).waitFor();
  });

  it('eight tabs of one desk share one event stream; a message reaches all of them', async () => {
    // One EventSource per tab would hold one of the browser's 6 connections
    // to the desk each: the 7th tab would never load.
    const context = cPage.context();
    const tabs = [cPage];
    for (let i = 1; i < 8; i++) tabs.push(await context.newPage());
    for (const tab of tabs) {
      await tab.goto(clientDesk.origin + '/#/c/dr-rivera');
      await tab.locator('.compose').waitFor({timeout: 10000});
    }
    const text = 'To every tab ' + Date.now();
    const sent = await tPage.evaluate(async (t) => (await fetch('/api/send', {method: 'POST',
        headers: {'Content-Type': 'application/json'}, body: JSON.stringify({to: 'sam', text: t})})).status, text);
    assert.equal(sent, 200);
    for (const [i, tab] of tabs.entries()) {
      await tab.locator('.messages .msg.in', {hasText: text}).waitFor({timeout: 15000})
          .catch((e) => { throw new Error(`tab ${i + 1} of 8: ${e.message}`); });
    }
    // The first tab (the leader: it was open first) reloads, which lets go
    // of its lock: another tab takes the stream over.
    await tabs[0].reload();
    await tabs[0].locator('.compose').waitFor();
    const again = 'After the leader left ' + Date.now();
    await tPage.evaluate(async (t) => fetch('/api/send', {method: 'POST',
        headers: {'Content-Type': 'application/json'}, body: JSON.stringify({to: 'sam', text: t})}), again);
    for (const tab of [tabs[0], tabs[7]]) {
      await tab.locator('.messages .msg.in', {hasText: again}).waitFor({timeout: 15000});
    }
    for (const tab of tabs.slice(1)) await tab.close();
  });

  it('a policy change shows a new due time in the preview', async () => {
    await tPage.getByRole('link', {name: 'Policy'}).click();
    const preview = tPage.locator('#pol-preview');
    await preview.filter({hasText: 'would be due'}).waitFor();
    const first = await preview.textContent();
    await tPage.getByLabel('Reply window (business hours)').fill('40');
    await until('a new due time', async () => {
      const now = await preview.textContent();
      return now !== first && now.includes('would be due');
    });
    await axe(tPage, 'policy');
    await shot(tPage, 'policy');
    await tPage.getByRole('button', {name: 'Save policy'}).click();
    await tPage.locator('#pol-status').filter({hasText: 'saved'}).waitFor();
  });

  it('desktop notifications are opt-in and name no sender unless asked', async () => {
    // A recorder in place of the browser's Notification, and a page without
    // the focus (the page shows none while it has it).
    await tPage.addInitScript(() => {
      window.__notes = [];
      window.Notification = class {
        static permission = 'granted';
        static requestPermission() { return Promise.resolve('granted'); }
        constructor(title, options) { window.__notes.push({title, body: options.body}); }
      };
      document.hasFocus = () => false;
    });
    await tPage.goto(therapistDesk.origin + '/#/settings');
    await tPage.reload();
    const send = (text) => cPage.evaluate(async (t) => (await fetch('/api/send', {method: 'POST',
        headers: {'Content-Type': 'application/json'}, body: JSON.stringify({to: 'dr-rivera', text: t})})).status, text);
    assert.equal(await send('nobody asked for a notification'), 200);
    await tPage.waitForTimeout(1500);
    assert.deepEqual(await tPage.evaluate(() => window.__notes), [], 'off until turned on');
    await tPage.getByLabel('Notify me when a message arrives').check();
    assert.equal(await send('the first private line'), 200);
    await until('a notification', () => tPage.evaluate(() => window.__notes.length === 1));
    assert.deepEqual(await tPage.evaluate(() => window.__notes[0]),
                     {title: 'Sotto', body: 'A new message arrived.'});
    await tPage.getByLabel('Show who wrote and the text in the notification').check();
    assert.equal(await send('the second private line'), 200);
    await until('a second notification', () => tPage.evaluate(() => window.__notes.length === 2));
    assert.deepEqual(await tPage.evaluate(() => window.__notes[1]),
                     {title: 'Sotto: sam', body: 'the second private line'});
  });

  it('the idle auto-lock locks the page: the unlock page, no message text left', async () => {
    const invite = sotto(path.join(root, 'rivera'), THERAPIST_PASS, ['invite']).match(/Invite code: (\S+)/)[1];
    const kimProfile = path.join(root, 'kim');
    sotto(kimProfile, CLIENT_PASS, ['init', '--server', server.address, '--role', 'client',
                                    '--name', 'kim', '--invite', invite]);
    const secret = 'A private line for kim ' + Date.now();
    const sent = await tPage.evaluate(async (t) => (await fetch('/api/send', {method: 'POST',
        headers: {'Content-Type': 'application/json'}, body: JSON.stringify({to: 'kim', text: t})})).status, secret);
    assert.equal(sent, 200);
    const kimDesk = await startDesk(root, 'kim', kimProfile, CLIENT_PASS, ['--auto-lock', '4s']);
    const page = await newPage(kimDesk);
    await page.goto(kimDesk.origin + '/#/c/dr-rivera');
    await page.locator('.messages .msg.in', {hasText: secret}).waitFor({timeout: 15000});
    // Nobody touches it: the profile locks itself and the page follows.
    await page.locator('#unlock-title').waitFor({timeout: 20000});
    assert.equal(await page.locator('.msg').count(), 0);
    assert.ok(!(await page.content()).includes(secret), 'the message text left the DOM');
    assert.equal(await state(page), 'locked');
    const refused = await page.evaluate(async () => (await fetch('/api/conversations/dr-rivera')).status);
    assert.equal(refused, 423);
    await page.context().close();
  });

  it('a page on another origin can neither read nor change anything', async () => {
    const page = await tPage.context().newPage();
    await page.goto(`http://127.0.0.1:${otherPort}/`);
    const result = await page.evaluate(async (origin) => {
      const out = {};
      try {
        const r = await fetch(origin + '/api/conversations', {credentials: 'include'});
        out.read = 'status ' + r.status + ' ' + (await r.text()).slice(0, 40);
      } catch (e) { out.read = 'refused'; }
      try {
        await fetch(origin + '/api/lock', {method: 'POST', mode: 'no-cors', credentials: 'include',
                                           body: '{}'});
      } catch { /* blind */ }
      return out;
    }, therapistDesk.origin);
    assert.equal(result.read, 'refused');
    assert.equal(await state(tPage), 'open', 'a cross-origin POST did not lock the desk');
    await page.close();
  });

  it('the conversation list and a long conversation paint fast', async () => {
    await cPage.goto(clientDesk.origin + '/#/conversations');
    await cPage.locator('#conv-title').waitFor();
    await axe(cPage, 'conversations');
    await shot(cPage, 'conversations');
    // Many messages, sent through the API in parallel batches.
    await cPage.evaluate(async (count) => {
      const one = (i) => fetch('/api/send', {method: 'POST', headers: {'Content-Type': 'application/json'},
          body: JSON.stringify({to: 'dr-rivera', text: `Line ${i}: ` + 'a thought worth writing down. '.repeat(i % 4 + 1)})});
      for (let i = 0; i < count; i += 16) {
        await Promise.all(Array.from({length: Math.min(16, count - i)}, (_, j) => one(i + j)));
      }
    }, COUNT);
    // The page's part: from the API's answer to the newest message on screen.
    const started = Date.now();
    const answer = cPage.waitForResponse((r) => r.url().endsWith('/api/conversations/dr-rivera'),
                                         {timeout: 30000});
    await cPage.goto(clientDesk.origin + '/#/c/dr-rivera');
    await (await answer).finished();
    const answered = Date.now();
    await cPage.locator('.messages .msg', {hasText: `Line ${COUNT - 1}:`}).waitFor();
    const drawn = Date.now() - answered;
    console.log(`# ${COUNT} messages: the API answered in ${answered - started} ms, the page drew ` +
                `the newest in ${drawn} ms`);
    // The targets (1 s, scrolling adds little) are checked by
    // bench/desk-paint.sh (SOTTO_DESK_BENCH=1) on a quiet machine; in
    // `make test`, beside other suites on two cores, only a page ten times
    // slower fails.
    const slack = process.env.SOTTO_DESK_BENCH === '1' ? 1 : 10;
    assert.ok(drawn < 1000 * slack, `the page took ${drawn} ms to show the newest message`);
    const fcp = await cPage.evaluate(() =>
        (performance.getEntriesByName('first-contentful-paint')[0] || {startTime: 0}).startTime);
    console.log(`# first contentful paint at ${Math.round(fcp)} ms`);
    assert.ok(fcp > 0 && fcp < 1000 * slack, `first contentful paint at ${fcp} ms`);
    await until('every message drawn', async () =>
        (await cPage.locator('.messages .msg').count()) >= COUNT, 30000);
    // Scroll from the end to the top in steps; frames stay short.
    // Frame times while idle, then while scrolling 400 px a frame (a fast
    // fling) from the end upwards; scrolling must add little to a frame.
    const frames = await cPage.evaluate(async () => {
      const list = document.querySelector('.messages');
      const frame = () => new Promise((r) => requestAnimationFrame(r));
      const run = async (step) => {
        await frame();
        let last = performance.now(); const out = [];
        for (let i = 0; i < 90; i++) {
          step();
          await frame();
          const now = performance.now();
          out.push(now - last);
          last = now;
        }
        return out.sort((a, b) => a - b)[Math.floor(out.length * 0.9)];
      };
      const idle = await run(() => {});
      const scrolling = await run(() => { list.scrollTop -= 400; });
      return {idle, scrolling, top: list.scrollTop};
    });
    console.log(`# 90th percentile frame: idle ${Math.round(frames.idle)} ms, scrolling ` +
                `${Math.round(frames.scrolling)} ms`);
    assert.ok(frames.scrolling < frames.idle + 50 * slack,
              `scrolling the conversation: 1 frame in 10 took ${Math.round(frames.scrolling)} ms ` +
              `(idle: ${Math.round(frames.idle)} ms)`);
  });

  it('lock drops every message; the unlock page opens it again; storage stays empty', async () => {
    await cPage.getByRole('button', {name: 'Lock now'}).click();
    await cPage.locator('#unlock-title').waitFor();
    assert.equal(await cPage.locator('.msg').count(), 0);
    assert.ok(!(await cPage.content()).includes('Let us talk on Thursday'));
    await axe(cPage, 'unlock');
    await shot(cPage, 'unlock');
    await cPage.getByLabel('Passphrase').fill('not the passphrase');
    await cPage.getByRole('button', {name: 'Unlock'}).click();
    await cPage.locator('#unlock-status').filter({hasText: /passphrase/i}).waitFor();
    await cPage.getByLabel('Passphrase').fill(CLIENT_PASS);
    await cPage.getByRole('button', {name: 'Unlock'}).click();
    await cPage.locator('#conv-title').waitFor();
    for (const page of [cPage, tPage]) {
      const stored = await page.evaluate(async () => ({
        local: localStorage.length, session: sessionStorage.length,
        idb: (await indexedDB.databases()).length, caches: (await caches.keys()).length,
      }));
      assert.deepEqual(stored, {local: 0, session: 0, idb: 0, caches: 0});
    }
  });
  // ---- Trusting a changed key, Settings, the queue's tools, CSP, a11y ----

  it('a contact with a new key: the dialog says changed; trusting the new number lets the desk write again', async () => {
    // ovi writes now and waits, unanswered, for the overdue test below.
    sotto(newClient('ovi'), CLIENT_PASS, ['send', 'dr-rivera', 'ovi waits for an answer']);
    const lou = newClient('lou');
    sotto(lou, CLIENT_PASS, ['send', 'dr-rivera', 'hello from lou']);
    await tPage.goto(therapistDesk.origin + '/#/c/lou');
    await tPage.locator('.messages .msg.in', {hasText: 'hello from lou'}).waitFor({timeout: 15000});
    // lou deletes the account and joins again under the same name: a new key.
    sotto(lou, CLIENT_PASS, ['delete-account', '--confirm', 'lou']);
    const newLou = newClient('lou', 'lou-new-phone');
    sotto(newLou, CLIENT_PASS, ['send', 'dr-rivera', 'new phone, same lou']);
    await tPage.reload();
    await tPage.locator('.compose textarea').fill('Are you there?');
    await tPage.getByRole('button', {name: 'Send', exact: true}).click();
    await tPage.locator('.compose .status').filter({hasText: 'safety number changed, so nothing was sent'})
        .waitFor({timeout: 15000});
    await tPage.getByRole('button', {name: 'Safety number', exact: true}).click();
    const dialog = tPage.getByRole('dialog', {name: 'Safety number with lou'});
    await dialog.getByText("lou's safety number changed").waitFor();
    await dialog.getByText('Compare it with lou in person or by video first').waitFor();
    assert.equal(await dialog.getByRole('button', {name: 'Mark as verified'}).count(), 0);
    // The number shown is the one on lou's new phone.
    const shown = (await dialog.locator('.digits').textContent()).replace(/\s+/g, '');
    const atLu = JSON.parse(sotto(newLou, CLIENT_PASS, ['safety-number', 'dr-rivera', '--json']));
    assert.equal(shown, atLu.digits.replace(/\s+/g, ''));
    await axe(tPage, 'the changed safety number dialog over a conversation');
    await dialog.getByRole('button', {name: 'Trust the new number'}).click();
    await dialog.locator('.status').filter({hasText: "Accepted lou's new identity key"}).waitFor();
    await dialog.getByRole('button', {name: 'Close'}).click();
    await tPage.locator('.compose textarea').fill('Yes, it is still me.');
    await tPage.getByRole('button', {name: 'Send', exact: true}).click();
    await tPage.locator('.compose .status').filter({hasText: 'Sent.'}).waitFor();
    sotto(newLou, CLIENT_PASS, ['sync']);
    assert.match(sotto(newLou, CLIENT_PASS, ['read', 'dr-rivera']), /Yes, it is still me\./);
    // What lou's new phone sent while held arrives once the key is trusted.
    await tPage.locator('.messages .msg.in', {hasText: 'new phone, same lou'}).waitFor({timeout: 20000});
  });

  it('Settings: a wrong current passphrase is refused; the changed one unlocks', async () => {
    patDesk = await startDesk(root, 'pat', newClient('pat'), CLIENT_PASS);
    patPage = await newPage(patDesk);
    await patPage.goto(patDesk.origin + '/#/settings');
    const change = async (old) => {
      await patPage.getByLabel('Current passphrase').fill(old);
      await patPage.getByLabel('New passphrase', {exact: true}).fill(PAT_NEW_PASS);
      await patPage.getByLabel('New passphrase again').fill(PAT_NEW_PASS);
      await patPage.getByRole('button', {name: 'Change passphrase'}).click();
    };
    await change('not my passphrase at all');
    await patPage.locator('#set-pass-status.error')
        .filter({hasText: 'the current passphrase is wrong'}).waitFor();
    await change(CLIENT_PASS);
    await patPage.locator('#set-pass-status').filter({hasText: 'The passphrase is changed.'}).waitFor();
    await patPage.getByRole('button', {name: 'Lock now'}).click();
    await patPage.locator('#unlock-title').waitFor();
    await patPage.getByLabel('Passphrase').fill(CLIENT_PASS);
    await patPage.getByRole('button', {name: 'Unlock'}).click();
    await patPage.locator('#unlock-status').filter({hasText: /passphrase/i}).waitFor();
    assert.equal(await state(patPage), 'locked');
    await patPage.getByLabel('Passphrase').fill(PAT_NEW_PASS);
    await patPage.getByRole('button', {name: 'Unlock'}).click();
    await patPage.locator('#conv-title').waitFor();
    assert.equal(await state(patPage), 'open');
  });

  it('read receipts off in Settings: the therapist never sees "read"; on again, they do', async () => {
    await patPage.goto(patDesk.origin + '/#/settings');
    const box = patPage.getByLabel('Send read receipts');
    assert.equal(await box.isChecked(), true);
    await box.uncheck();
    await patPage.locator('#set-receipts-status').filter({hasText: 'no longer see'}).waitFor();
    assert.equal((await call(patPage, 'GET', '/api/state')).body.read_receipts, false);
    const stateOf = (text) => tPage.locator('.msg.out', {hasText: text}).locator('.state');
    const sendAndRead = async (text) => {
      assert.equal((await call(tPage, 'POST', '/api/send', {to: 'pat', text})).status, 200);
      await tPage.goto(therapistDesk.origin + '/#/c/pat');
      await tPage.reload();  // the page learns of its desk's own sends by fetching
      await until(`"${text}" delivered`, async () => (await stateOf(text).textContent()) === 'delivered');
      await patPage.goto(patDesk.origin + '/#/c/dr-rivera');
      await patPage.reload();  // reading the conversation marks it read
      await patPage.locator('.messages .msg.in', {hasText: text}).waitFor();
    };
    await sendAndRead('A line pat reads without a receipt');
    await patPage.goto(patDesk.origin + '/#/settings');
    await patPage.getByLabel('Send read receipts').check();
    await patPage.locator('#set-receipts-status').filter({hasText: 'Others see when'}).waitFor();
    await sendAndRead('A line pat reads with a receipt');
    await until('the second line read', async () =>
        (await stateOf('A line pat reads with a receipt').textContent()) === 'read');
    // Receipts arrive in order: the first would have been read by now.
    assert.equal(await stateOf('A line pat reads without a receipt').textContent(), 'delivered');
  });

  it('a client accepts another therapist\'s invite in Settings; the Links screen lists links', async () => {
    const ng = path.join(root, 'ng');
    sotto(ng, THERAPIST_PASS, ['init', '--server', server.address, '--role', 'therapist',
                               '--name', 'dr-ng', '--enrol', enrolTherapist(server.dataDir, 'dr-ng')]);
    const code = sotto(ng, THERAPIST_PASS, ['invite']).match(/Invite code: (\S+)/)[1];
    await patPage.goto(patDesk.origin + '/#/settings');
    await patPage.getByLabel('Invite code').fill('ABCD-EFGH-JKMN');
    await patPage.getByRole('button', {name: 'Accept'}).click();
    const status = patPage.locator('#set-invite-status');
    await until('the wrong code refused', async () => (await status.textContent()).length > 0);
    assert.equal(await status.getAttribute('class'), 'status error');
    await patPage.getByLabel('Invite code').fill(code);
    await patPage.getByRole('button', {name: 'Accept'}).click();
    await status.filter({hasText: 'Linked with dr-ng.'}).waitFor({timeout: 15000});
    const links = (await call(patPage, 'GET', '/api/links')).body.links;
    assert.deepEqual(links.filter((l) => l.active).map((l) => l.peer).sort(), ['dr-ng', 'dr-rivera']);
    await tPage.goto(therapistDesk.origin + '/#/links');
    await tPage.locator('#links-title').waitFor();
    await tPage.getByRole('row', {name: /^pat .* active\b/}).waitFor();
    await axe(tPage, 'links');
  });

  it('the safety-number dialog shows 12 groups of 5 digits and their QR code', async () => {
    await patPage.goto(patDesk.origin + '/#/settings');
    await patPage.getByRole('button', {name: 'Safety number with dr-rivera'}).click();
    const dialog = patPage.getByRole('dialog', {name: 'Safety number with dr-rivera'});
    const digits = dialog.locator('.digits');
    await digits.waitFor();
    assert.match(await digits.textContent(), /^\d{5}( \d{5}){11}$/);
    const atRivera = JSON.parse(sotto(path.join(root, 'rivera'), THERAPIST_PASS,
                                      ['safety-number', 'pat', '--json']));
    assert.equal((await digits.textContent()).replace(/ /g, ''), atRivera.digits);
    const qr = dialog.getByRole('img', {name: 'QR code of the safety number with dr-rivera'});
    const src = await qr.getAttribute('src');
    assert.ok(src.startsWith('data:image/svg+xml;base64,'), src.slice(0, 40));
    assert.match(Buffer.from(src.split(',')[1], 'base64').toString(), /<svg[\s\S]*<\/svg>/);
    assert.ok((await qr.boundingBox()).width >= 100, 'the QR code is drawn large enough to scan');
    // pat joined with an invite that committed to dr-rivera's key: verified
    // from the start, so there is nothing to mark.
    await dialog.getByText('Verified.', {exact: true}).waitFor();
    assert.equal(await dialog.getByRole('button', {name: 'Mark as verified'}).count(), 0);
    await axe(patPage, 'the safety number dialog over Settings');
    await shot(patPage, 'settings-safety-number');
    await dialog.getByRole('button', {name: 'Close'}).click();
    await axe(patPage, 'settings');
  });

  it('the therapist exports the record of a conversation and checks it; an edit is named', async () => {
    const dir = path.join(root, 'record-pat');
    await tPage.goto(therapistDesk.origin + '/#/c/pat');
    await tPage.locator('.messages .msg', {hasText: 'A line pat reads without a receipt'}).waitFor();
    await tPage.getByRole('button', {name: 'Export record'}).click();
    const dialog = tPage.getByRole('dialog', {name: 'Clinical record with pat'});
    await dialog.getByLabel('Directory').fill('record-pat');
    await dialog.getByRole('button', {name: 'Export', exact: true}).click();
    await dialog.locator('#record-status', {hasText: 'absolute path'}).waitFor();
    await dialog.getByLabel('Directory').fill(dir);
    await dialog.getByRole('button', {name: 'Export', exact: true}).click();
    await dialog.locator('#record-status', {hasText: `to ${dir}`}).waitFor();
    for (const f of ['record.html', 'record.json', 'record.sig']) {
      assert.ok(fs.existsSync(path.join(dir, f)), f);
    }
    await axe(tPage, 'the record dialog');
    await dialog.getByRole('button', {name: 'Check an export'}).click();
    await dialog.locator('#record-status', {hasText: 'The key is your own'}).waitFor();
    const json = path.join(dir, 'record.json');
    fs.writeFileSync(json, fs.readFileSync(json, 'utf8').replace(
        'A line pat reads without a receipt', 'A line pat reads WITHOUT a receipt'));
    await dialog.getByRole('button', {name: 'Check an export'}).click();
    await dialog.locator('#record-status', {hasText: 'Not as signed'}).waitFor();
    assert.match(await dialog.locator('.findings li').first().textContent(), /altered/);
    await dialog.getByRole('button', {name: 'Close'}).click();
    assert.equal(await tPage.getByRole('dialog').count(), 0);
  });

  it('the client sees the due time and the away note before sending, and the away note after', async () => {
    saved = saved || ((await call(tPage, 'GET', '/api/policy')).body.policies || [])[0] ||
        {...ALWAYS_OPEN, reply_window_minutes: 480};
    const now = Date.now();
    const away = {...ALWAYS_OPEN, reply_window_minutes: 120, away_from_ms: now - 3600000,
                  away_until_ms: now + 2 * 86400000, away_note: 'At a conference; back Thursday.'};
    assert.equal((await call(tPage, 'PUT', '/api/policy', away)).status, 200);
    await patPage.goto(patDesk.origin + '/#/c/dr-rivera');
    await patPage.reload();  // the page reads the policy once per load
    const expect = patPage.locator('.compose .expect');
    await expect.filter({hasText: 'would be due for a reply by'}).waitFor();
    const line = await expect.textContent();
    assert.match(line, /dr-rivera replies within 2 business hours\./);
    assert.match(line, /Away until .+: At a conference; back Thursday\./);
    // The due time shown is the one the server computes (from their return).
    const due = (await call(patPage, 'POST', '/api/policy/preview', away)).body.due_ms;
    assert.ok(due >= away.away_until_ms, `due ${due} before the return ${away.away_until_ms}`);
    const shownDue = await patPage.evaluate((ms) => new Intl.DateTimeFormat(undefined, {
      weekday: 'short', day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit',
    }).format(new Date(ms)), due);
    assert.ok(line.includes(`due for a reply by ${shownDue}.`), `"${line}" names ${shownDue}`);
    await patPage.locator('.compose textarea').fill('Checking in before the weekend.');
    await patPage.getByRole('button', {name: 'Send', exact: true}).click();
    const after = patPage.locator('.compose .status').filter({hasText: 'Sent.'});
    await after.waitFor();
    assert.match(await after.textContent(), /Expect a reply by .+ Away until .+: At a conference; back Thursday\./);
    assert.equal((await call(tPage, 'PUT', '/api/policy', {...saved, away_from_ms: 0,
                                                           away_until_ms: 0, away_note: ''})).status, 200);
  });

  it('the queue: j/k move the selection, claim, snooze until tomorrow 09:00 and until a date', async () => {
    const ola = newClient('ola');
    sotto(ola, CLIENT_PASS, ['send', 'dr-rivera', 'ola is waiting']);
    await queueWhere(tPage, 'pat and ola waiting', (es) =>
        ['pat', 'ola'].every((c) => es.some((e) => e.client === c && e.state === 'waiting')));
    await tPage.goto(therapistDesk.origin + '/#/queue');
    await tPage.reload();
    await tPage.locator('tr[data-client="ola"]').waitFor();
    const rows = tPage.locator('table.queue tbody tr');
    const current = () => tPage.locator('table.queue tbody tr[aria-current="true"]').getAttribute('data-client');
    const first = await rows.nth(0).getAttribute('data-client');
    const second = await rows.nth(1).getAttribute('data-client');
    assert.equal(await current(), first);
    await tPage.locator('body').press('j');
    await until('j selects the next row', async () => (await current()) === second);
    assert.equal(await tPage.evaluate(() => document.activeElement.dataset.client), second);
    await tPage.keyboard.press('k');
    await until('k selects the previous row', async () => (await current()) === first);

    await tPage.getByRole('button', {name: 'Claim ola'}).click();
    await tPage.locator('#queue-status').filter({hasText: 'Claimed the conversation with ola'}).waitFor();
    await tPage.locator('tr[data-client="ola"]', {hasText: 'claimed by dr-rivera'}).waitFor();

    await tPage.getByRole('button', {name: 'Snooze ola'}).click();
    let dialog = tPage.getByRole('dialog', {name: 'Snooze ola'});
    await dialog.waitFor();
    await axe(tPage, 'the snooze dialog');
    await dialog.getByRole('button', {name: 'Until tomorrow 09:00'}).click();
    await tPage.locator('#queue-status').filter({hasText: 'Snoozed ola until'}).waitFor();
    const nine = new Date();
    nine.setDate(nine.getDate() + 1);
    nine.setHours(9, 0, 0, 0);
    let entries = (await call(tPage, 'GET', '/api/queue?all=1')).body.entries;
    assert.deepEqual(entries.filter((e) => e.client === 'ola').map((e) => [e.state, e.snoozed_until_ms]),
                     [['snoozed', nine.getTime()]]);

    await tPage.getByRole('button', {name: 'Snooze pat'}).click();
    dialog = tPage.getByRole('dialog', {name: 'Snooze pat'});
    const pad = (n) => String(n).padStart(2, '0');
    const local = (d) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T` +
                         `${pad(d.getHours())}:${pad(d.getMinutes())}`;
    await dialog.getByLabel('Until', {exact: true}).fill(local(new Date(Date.now() - 86400000)));
    await dialog.getByRole('button', {name: 'Snooze until this time'}).click();
    await dialog.locator('#snooze-status').filter({hasText: 'Choose a time in the future.'}).waitFor();
    const later = new Date(Date.now() + 3 * 86400000);
    later.setHours(14, 30, 0, 0);
    await dialog.getByLabel('Until', {exact: true}).fill(local(later));
    await dialog.getByRole('button', {name: 'Snooze until this time'}).click();
    await tPage.locator('#queue-status').filter({hasText: 'Snoozed pat until'}).waitFor();
    entries = (await call(tPage, 'GET', '/api/queue?all=1')).body.entries;
    assert.deepEqual(entries.filter((e) => e.client === 'pat').map((e) => [e.state, e.snoozed_until_ms]),
                     [['snoozed', later.getTime()]]);
  });

  it('a conversation past its due time is marked overdue in the queue', async () => {
    // sotto-server computes `overdue` from its own clock: ovi has waited
    // since the first of these tests, longer than a one-minute window.
    saved = saved || ((await call(tPage, 'GET', '/api/policy')).body.policies || [])[0] ||
        {...ALWAYS_OPEN, reply_window_minutes: 480};
    assert.equal((await call(tPage, 'PUT', '/api/policy', {...ALWAYS_OPEN, reply_window_minutes: 1})).status, 200);
    await queueWhere(tPage, 'ovi overdue', (es) => es.some((e) => e.client === 'ovi' && e.overdue), 90000);
    await tPage.goto(therapistDesk.origin + '/#/queue');
    await tPage.reload();
    const row = tPage.locator('tr.overdue[data-client="ovi"]');
    await row.waitFor();
    assert.match(await row.textContent(), /overdue/);
    // Snoozed conversations are not overdue, however long they waited.
    const snoozed = (await call(tPage, 'GET', '/api/queue?all=1')).body.entries
        .filter((e) => e.client === 'pat' || e.client === 'ola');
    assert.deepEqual(snoozed.map((e) => [e.client, e.state, e.overdue]).sort(),
                     [['ola', 'snoozed', false], ['pat', 'snoozed', false]]);
    assert.equal((await call(tPage, 'PUT', '/api/policy', saved)).status, 200);
  });

  it('the CSP stops injected markup: an inline <script> and an onerror handler never run', async () => {
    await tPage.goto(therapistDesk.origin + '/#/queue');
    await tPage.locator('#queue-title').waitFor();
    await tPage.evaluate(() => {
      window.__violations = [];
      window.__ran = [];
      document.addEventListener('securitypolicyviolation', (e) => window.__violations.push(
          {directive: e.effectiveDirective, sample: e.sample}));
      // As an attacker who found an injection point would: a script element
      // (one parsed by innerHTML never runs anyway), a handler attribute on
      // an image that fails, both through the DOM and as parsed markup.
      const script = document.createElement('script');
      script.textContent = 'window.__ran.push("inline script")';
      document.body.appendChild(script);
      const img = document.createElement('img');
      img.setAttribute('onerror', 'window.__ran.push("onerror attribute")');
      img.src = 'data:,not-an-image';
      document.getElementById('main').appendChild(img);
      document.getElementById('main').insertAdjacentHTML('beforeend',
          '<img src="data:,x" onerror="window.__ran.push(\'parsed onerror\')">');
    });
    await until('three violations reported', () => tPage.evaluate(() => window.__violations.length >= 3));
    const got = await tPage.evaluate(() => ({ran: window.__ran, violations: window.__violations}));
    assert.deepEqual(got.ran, []);
    const directives = got.violations.map((v) => v.directive).sort();
    assert.ok(directives.includes('script-src-elem'), JSON.stringify(got.violations));
    assert.equal(directives.filter((d) => d === 'script-src-attr').length, 2, JSON.stringify(got.violations));
    await tPage.reload();  // nothing injected stays for the next test
  });

  it('axe on every screen and dialog at 1200 and 390 px; nothing scrolls sideways on a phone', async () => {
    // A conversation with letters and texts, and a scheduled message.
    assert.equal((await call(tPage, 'POST', '/api/letter', {to: 'pat', subject: 'For next week',
        body: 'Dear Pat,\nA few thoughts for our next session.\n— Dr. Rivera'})).status, 200);
    const at = Date.now() + 86400000;
    assert.equal((await call(tPage, 'POST', '/api/send', {to: 'pat', text: 'See you Thursday',
                                                          at_ms: at})).status, 200);
    const screens = [
      [tPage, therapistDesk, 'queue', '#queue-title'],
      [tPage, therapistDesk, 'c/pat', '.messages .msg.out .subject, .messages .msg.out'],
      [tPage, therapistDesk, 'policy', '#pol-preview'],
      [tPage, therapistDesk, 'invites', '#inv-list-title'],
      [tPage, therapistDesk, 'links', '#links-title'],
      [tPage, therapistDesk, 'scheduled', '.scheduled li'],
      [tPage, therapistDesk, 'settings', '#set-safety-title'],
      [tPage, therapistDesk, 'conversations', '#conv-title'],
      [patPage, patDesk, 'conversations', '#conv-title'],
      [patPage, patDesk, 'c/dr-rivera', '.messages .msg.in'],
      [patPage, patDesk, 'scheduled', '#scheduled-title'],
      [patPage, patDesk, 'settings', '#set-safety-title'],
    ];
    for (const [page, desk, hash, ready] of screens) {
      await page.goto(`${desk.origin}/#/${hash}`);
      await page.locator(ready).first().waitFor();
      await axe(page, hash);
      await page.setViewportSize(PHONE);
      assert.equal(await overflow(page), 0, `#/${hash} at 390 px scrolls sideways`);
      if (hash === 'queue') await shot(page, 'queue-phone');
      await page.setViewportSize(DESKTOP);
      if (hash === 'scheduled' && page === tPage) {
        // The time it goes, not the time it was written.
        const goes = await page.evaluate((ms) => new Intl.DateTimeFormat(undefined, {
          weekday: 'short', day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit',
        }).format(new Date(ms)), at);
        assert.equal(await page.locator('.scheduled li', {hasText: 'See you Thursday'})
            .locator('.meta strong').textContent(), goes);
        await shot(page, 'scheduled');
      }
      if (hash === 'invites') {
        await page.getByRole('button', {name: 'Create invite'}).click();
        await page.locator('#invite-code').waitFor();
        await shot(page, 'invites');
        await page.setViewportSize(PHONE);
        assert.equal(await overflow(page), 0, 'an invite code and its QR at 390 px');
        await page.setViewportSize(DESKTOP);
      }
    }
    await tPage.goto(therapistDesk.origin + '/#/queue');
    await tPage.locator('#queue-title').waitFor();
    await tPage.locator('body').press('?');
    await tPage.getByRole('dialog', {name: 'Keyboard shortcuts'}).waitFor();
    await axe(tPage, 'the shortcuts dialog');
    await tPage.keyboard.press('Escape');
  });

  it('keyboard only: Tab and Enter open the queue and a conversation, and send a reply', async () => {
    await tPage.goto(therapistDesk.origin + '/#/settings');
    await tPage.reload();
    await tPage.locator('#set-safety-title').waitFor();
    // Presses Tab until `test(activeElement)` holds: the element reached.
    const tabTo = async (what, test) => {
      for (let i = 0; i < 80; i++) {
        await tPage.keyboard.press('Tab');
        if (await tPage.evaluate(test)) return;
      }
      throw new Error(`Tab never reached ${what}`);
    };
    await tabTo('the Queue link', () => document.activeElement.textContent === 'Queue');
    await tPage.keyboard.press('Enter');
    await tPage.locator('#queue-title').waitFor();
    await tabTo('ovi in the queue', () => document.activeElement.getAttribute('href') === '#/c/ovi/reply');
    await tPage.keyboard.press('Enter');
    await tPage.locator('.messages .msg.in', {hasText: 'ovi waits for an answer'}).waitFor();
    await until('the reply box focused', () => tPage.evaluate(() =>
        document.activeElement.tagName === 'TEXTAREA'));
    await tPage.keyboard.type('Sorry for the wait, ovi.');
    await tabTo('Send', () => document.activeElement.textContent === 'Send');
    await tPage.keyboard.press('Enter');
    await tPage.locator('.compose .status').filter({hasText: 'Sent.'}).waitFor();
    await tPage.locator('.messages .msg.out', {hasText: 'Sorry for the wait, ovi.'}).waitFor();
  });
});
