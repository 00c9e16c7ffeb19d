// Starts the real parts the browser tests drive: sotto-server on a loopback
// port, profiles made with the real `sotto` CLI, and `sotto desk` processes.
// Paths come from the environment (tests/desk/CMakeLists.txt sets them):
//   SOTTO_CLI_BINARY, SOTTO_SERVER_BINARY, CHROMIUM (default /usr/bin/chromium).
import {spawn, execFileSync} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const CLI = process.env.SOTTO_CLI_BINARY || 'sotto';
export const SERVER = process.env.SOTTO_SERVER_BINARY || 'sotto-server';
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

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

export async function startServer(root) {
  const dataDir = path.join(root, 'data');
  const child = spawn(SERVER, ['--data-dir', dataDir, '--listen', '127.0.0.1:0', ...rateLimitsOff()],
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
  child.stderr.pipe(fs.createWriteStream(path.join(root, 'server.log')));
  return {address, dataDir};
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

export {until};
