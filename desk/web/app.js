// Sotto Desk: the page. Plain ES modules, served by `sotto desk` itself.
// Nothing is written to browser storage; message text lives only in the DOM
// and is dropped when the profile locks.
import {get, post, setLockedHandler} from './api.js';
import {h, replace, announce} from './dom.js';
import {session} from './session.js';
import {showUnlock, showSetup} from './unlock.js';
import {showConversations, showConversation, onMessage, onReceipt} from './conversations.js';
import {showScheduled} from './scheduled.js';
import {showQueue, onQueueChanged, queueKeys} from './queue.js';
import {showPolicy} from './policy.js';
import {showInvites, showLinks} from './invites.js';
import {showSettings, notifyArrival} from './settings.js';
import {showDevices, onLinkEvent} from './devices.js';
import {showBackup} from './backup.js';

const main = () => document.getElementById('main');

const ROUTES = {
  client: [
    ['conversations', 'Conversations'], ['scheduled', 'Scheduled'], ['links', 'Links'],
    ['settings', 'Settings'],
  ],
  therapist: [
    ['queue', 'Queue'], ['conversations', 'Conversations'], ['policy', 'Policy'],
    ['invites', 'Invites'], ['links', 'Links'], ['scheduled', 'Scheduled'],
    ['settings', 'Settings'],
  ],
};

function renderNav() {
  const nav = document.getElementById('nav');
  const lock = document.getElementById('lock');
  const who = document.getElementById('who');
  if (session.state !== 'open') {
    replace(nav);
    who.textContent = '';
    lock.hidden = true;
    return;
  }
  let current = location.hash.replace(/^#\/?/, '').split('/')[0] || home();
  // Devices and Backups are parts of Settings (settingsNav in backup.js).
  if (current === 'devices' || current === 'backup') current = 'settings';
  const items = ROUTES[session.role] || ROUTES.client;
  replace(nav, h('ul', {}, items.map(([route, label]) => h('li', {},
      h('a', {href: '#/' + route, 'aria-current': current === route ? 'page' : null}, label)))));
  who.textContent = `${session.handle} (${session.role})`;
  lock.hidden = false;
}

function home() { return session.role === 'therapist' ? 'queue' : 'conversations'; }

// Shows the screen the location hash names.
export async function route() {
  renderNav();
  if (session.state === 'locked') return showUnlock(main(), onOpened);
  if (session.state === 'setup') return showSetup(main(), onOpened);
  const [name, ...rest] = location.hash.replace(/^#\/?/, '').split('/');
  const arg = rest.map(decodeURIComponent).join('/');
  const el = main();
  try {
    switch (name || home()) {
      case 'conversations': return await showConversations(el);
      case 'c': return await showConversation(el, arg);
      case 'scheduled': return await showScheduled(el);
      case 'queue': return await showQueue(el);
      case 'policy': return await showPolicy(el);
      case 'invites': return await showInvites(el);
      case 'links': return await showLinks(el);
      case 'settings': return await showSettings(el);
      case 'devices': return await showDevices(el);
      case 'backup': return await showBackup(el);
      default: location.hash = '#/' + home();
    }
  } catch (err) {
    if (err.locked) return;
    replace(el, h('h1', {}, 'Something went wrong'), h('p', {role: 'alert'}, err.message));
  }
}

async function onOpened(state) {
  Object.assign(session, state);
  document.getElementById('main').focus();
  await route();
}

// Locked: drop every message from the DOM, then show the unlock page.
function onLockedNow() {
  if (session.state === 'locked') return;
  session.state = 'locked';
  // A fresh <main>: a screen still awaiting the API when the lock came
  // draws into the old, detached one, never over the unlock page.
  const old = main();
  const fresh = old.cloneNode(false);
  old.replaceWith(fresh);
  for (const dialog of document.querySelectorAll('dialog')) {
    if (dialog.open) dialog.close();
    if (dialog.id !== 'help') dialog.remove();
  }
  session.clear();
  location.hash = '';
  route();
  announce('The profile is locked.');
}

// What each event of /api/events does in this tab.
const EVENT_HANDLERS = {
  // A stream that was cut may have missed a `locked`: ask again on every
  // (re)connection rather than go on showing messages of a locked profile.
  open: async () => {
    const now = await get('/api/state').catch(() => null);
    if (now && now.state !== 'open' && session.state === 'open') onLockedNow();
  },
  message: (message) => {
    if (session.state !== 'open') return;
    onMessage(message);
    if (!message.outgoing) notifyArrival(message);
  },
  receipt: (receipt) => onReceipt(receipt),
  queue: () => onQueueChanged(),
  identity: (d) => { if (d.text) announce(d.text); },
  link: (d) => { if (session.state === 'open') onLinkEvent(d); },
  locked: () => onLockedNow(),
  unlocked: async () => {
    if (session.state === 'open') return;
    Object.assign(session, await get('/api/state'));
    route();
  },
};
const EVENT_NAMES = ['message', 'receipt', 'queue', 'identity', 'link', 'locked', 'unlocked'];

// Every tab of this desk shares ONE event stream: the browser allows 6
// connections to a host, and an EventSource per tab would hold one each, so
// a seventh tab's requests would wait forever. The tab holding the Web Lock
// "sotto-desk-events" (the leader; the lock passes to another tab when it
// closes) opens the stream and hands each event to the others over a
// BroadcastChannel, which carries it only between this origin's tabs, in
// memory. Without those APIs each tab has its own stream.
function listen() {
  // Without Web Locks every tab leads: a channel would hand each event to
  // every tab once per tab.
  const channel = typeof BroadcastChannel === 'function' && navigator.locks ?
    new BroadcastChannel('sotto-desk-events') : null;
  const dispatch = (name, data) => {
    const handler = EVENT_HANDLERS[name];
    if (handler) handler(data);
  };
  if (channel) channel.onmessage = (e) => e.data && dispatch(e.data.name, e.data.data);
  const lead = () => {
    const events = new EventSource('/api/events');
    const pass = (name, data) => {
      dispatch(name, data);
      if (channel) channel.postMessage({name, data});
    };
    events.addEventListener('open', () => pass('open', {}));
    for (const name of EVENT_NAMES) {
      events.addEventListener(name, (e) => {
        let data = {};
        try { data = JSON.parse(e.data || '{}'); } catch { data = {}; }
        pass(name, data);
      });
    }
  };
  if (channel && navigator.locks) {
    // Held for the tab's life: the promise never settles.
    navigator.locks.request('sotto-desk-events', () => new Promise(() => lead()));
  } else {
    lead();
  }
}

function keys(e) {
  const target = e.target;
  const typing = target instanceof HTMLElement &&
      (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
  if (typing || e.ctrlKey || e.metaKey || e.altKey) return;
  if (document.querySelector('dialog[open]')) return;
  if (e.key === '?') {
    e.preventDefault();
    document.getElementById('help').showModal();
    return;
  }
  if (session.state === 'open' && session.role === 'therapist') queueKeys(e);
}

// The person's own clicks, keys, scrolling and touches count for the idle
// auto-lock even when they need no other call (reading a long letter): at
// most one POST /api/activity per quarter of the auto-lock time (1 s..60 s).
// The page's own refreshes are sent as background and do not count.
let lastActivity = 0;
function noteActivity() {
  if (session.state !== 'open' || !session.auto_lock_ms) return;
  const every = Math.min(60000, Math.max(1000, session.auto_lock_ms / 4));
  const now = Date.now();
  if (now - lastActivity < every) return;
  lastActivity = now;
  post('/api/activity').catch(() => {});
}

async function start() {
  setLockedHandler(onLockedNow);
  for (const name of ['keydown', 'pointerdown', 'wheel', 'touchstart']) {
    document.addEventListener(name, noteActivity, {capture: true, passive: true});
  }
  document.getElementById('lock').addEventListener('click', async () => {
    await post('/api/lock').catch(() => {});
    onLockedNow();
  });
  document.addEventListener('keydown', keys);
  window.addEventListener('hashchange', route);
  Object.assign(session, await get('/api/state'));
  listen();
  await route();
}

start().catch((err) => {
  replace(main(), h('h1', {}, 'Sotto Desk could not start'), h('p', {role: 'alert'}, err.message));
});
