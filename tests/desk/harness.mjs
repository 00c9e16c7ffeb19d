// Starts the real parts the browser tests drive: sotto-server on a loopback
// port, profiles made with the real `sotto` CLI, and `sotto desk` processes.
// Paths come from the environment (tests/desk/CMakeLists.txt sets them):
//   SOTTO_CLI_BINARY, SOTTO_SERVER_BINARY, CHROMIUM (default /usr/bin/chromium).
import assert from 'node:assert/strict';
import {spawn, execFileSync} from 'node:child_process';
import fs from 'node:fs';
import {createRequire} from 'node:module';
import os from 'node:os';
import path from 'node:path';

export const CLI = process.env.SOTTO_CLI_BINARY || 'sotto';
export const SERVER = process.env.SOTTO_SERVER_BINARY || 'sotto-server';
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const THERAPIST_PASS = 'amber lantern orchard 1979';
export const CLIENT_PASS = 'violet harbor quantum pencil 47';
export const DESKTOP = {width: 1200, height: 800};
export const PHONE = {width: 390, height: 800};
// Launch flags for Debian's chromium on this machine (its closed network
// refuses background connections). Playwright's launch() gives the browser a
// fresh temporary --user-data-dir of its own and removes it on close.
export const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
                      '--no-first-run', '--disable-background-networking',
                      '--disable-component-update', '--disable-sync'];
const AXE = fs.readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

const children = [];

export function tempDir() {
  return fs.mkdtempSync(path.join(process.env.TMPDIR || os.tmpdir(), 'sotto-desk-'));
}

function logTo(child, file) {
  const out = fs.createWriteStream(file);
  child.stdout && child.stdout.pipe(out);
  child.stderr && child.stderr.pipe(out);
}

async function until(what, fn, ms = 20000) {
  const end = Date.now() + ms;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

// The flags that turn every --rate-* limit off (as tests/testing/server_process.h).
function rateLimitsOff() {
  let help = '';
  try { help = execFileSync(SERVER, ['--help'], {encoding: 'utf8'}); } catch (e) { help = e.stdout || ''; }
  const flags = new Set((help.match(/--rate-[a-z0-9-]+/g) || []).map((f) => f + '=0/0'));
  if (help.includes('--log-level')) flags.add('--log-level=warn');
  return [...flags];
}

// sotto-server over `root`/data on `listen` (a free port unless a test
// restarts it on the address it had): {address, dataDir, child}.
export async function startServer(root, listen = '127.0.0.1:0') {
  const dataDir = path.join(root, 'data');
  const child = spawn(SERVER, ['--data-dir', dataDir, '--listen', listen, ...rateLimitsOff()],
                      {stdio: ['ignore', 'pipe', 'pipe']});
  children.push(child);
  let out = '';
  const address = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('sotto-server did not report listening: ' + out)), 30000);
    child.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/sotto-server listening on (\S+)/);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
    child.on('exit', (code) => reject(new Error(`sotto-server exited (${code}): ${out}`)));
  });
  child.stderr.pipe(fs.createWriteStream(path.join(root, 'server.log'), {flags: 'a'}));
  return {address, dataDir, child};
}

export function enrolTherapist(dataDir, name) {
  return execFileSync(SERVER, ['enrol-therapist', '--data-dir', dataDir, '--name', name, '--quiet'],
                      {encoding: 'utf8'}).trim();
}

export function sotto(profile, passphrase, args) {
  return execFileSync(CLI, ['--profile', profile, ...args], {
    encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'],
    env: {...process.env, SOTTO_PASSPHRASE: passphrase, SOTTO_ALLOW_WEAK_PASSPHRASE: '1'},
  });
}

// `sotto desk --no-open --print-url-to FILE`; resolves to {url, port, child}.
// With no passphrase the desk starts locked (or in setup for an empty profile).
// `flags`: more of `sotto desk`'s flags (e.g. ['--auto-lock', '4s']).
export async function startDesk(root, name, profile, passphrase, flags = []) {
  const urlFile = path.join(root, name + '.url');
  const env = {...process.env, SOTTO_ALLOW_WEAK_PASSPHRASE: '1'};
  delete env.SOTTO_PASSPHRASE;
  if (passphrase) env.SOTTO_PASSPHRASE = passphrase;
  const child = spawn(CLI, ['--profile', profile, 'desk', '--no-open', '--print-url-to', urlFile,
                           ...flags],
                      {stdio: ['ignore', 'pipe', 'pipe'], env});
  children.push(child);
  logTo(child, path.join(root, name + '.log'));
  let exited = null;
  child.on('exit', (code) => { exited = code; });
  const url = await until(`the ${name} desk's URL`, () => {
    if (exited !== null) {
      throw new Error(`sotto desk (${name}) exited with ${exited}: ` +
                      fs.readFileSync(path.join(root, name + '.log'), 'utf8'));
    }
    try { return fs.readFileSync(urlFile, 'utf8').trim(); } catch { return null; }
  });
  return {url, origin: new URL(url).origin, port: Number(new URL(url).port), child};
}

// SIGTERM to every process started here, waiting (5 s, then SIGKILL) until
// each has exited, so nothing still writes into the temporary directory.
export async function stopAll() {
  const running = children.reverse().filter((c) => c.exitCode === null && c.signalCode === null);
  await Promise.all(running.map((child) => new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => { clearTimeout(timer); resolve(); });
    child.kill('SIGTERM');
  })));
  children.length = 0;
}

// A fresh browser context on `desk`'s launch URL, left on "/" once /open
// has set the cookie. `onPage(page)` attaches a file's own listeners
// (dialogs, requests) before the first navigation.
export async function openPage(browser, desk, {timeout = 10000, onPage = null} = {}) {
  const context = await browser.newContext({viewport: DESKTOP});
  context.setDefaultTimeout(timeout);
  const page = await context.newPage();
  if (onPage) onPage(page);
  page.on('pageerror', (e) => console.error('page error:', e.message));
  await page.goto(desk.url);
  await page.waitForURL((u) => u.pathname === '/');
  await page.waitForLoadState('load');
  return page;
}

// axe-core's WCAG 2.1 AA and best-practice rules on what `page` shows, at
// desktop and at phone width: any violation fails, named with its nodes.
export async function axe(page, label) {
  for (const [name, size] of [['desktop', DESKTOP], ['phone', PHONE]]) {
    await page.setViewportSize(size);
    await page.evaluate(AXE);
    const result = await page.evaluate(() => window.axe.run(document, {
      runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']},
    }));
    const problems = result.violations.map((v) => `${v.id}: ${v.help} — ` +
        v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | '));
    assert.deepEqual(problems, [], `axe on ${label} (${name})`);
  }
  await page.setViewportSize(DESKTOP);
}

// The desk's state as the page sees it: "open", "locked" or "setup".
export async function state(page) {
  return page.evaluate(async () => (await (await fetch('/api/state')).json()).state);
}

export {until};
