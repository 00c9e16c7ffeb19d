// Conversations: the list, and one conversation with its composer. A long
// conversation is drawn newest first, then older messages in chunks per frame,
// so the newest show at once and the page never stalls.
import {get, getInBackground, post, enc} from './api.js';
import {h, replace, formatTime, announce, debounce, whenVisible} from './dom.js';
import {session} from './session.js';
import {createComposer} from './compose.js';
import {showSafetyNumber} from './settings.js';
import {showRecordDialog} from './record.js';
import {confirmAction} from './confirm.js';

const FIRST_CHUNK = 60;
const CHUNK = 250;

// The conversation on screen: {peer, list, byId, composer}; null elsewhere.
let view = null;

const STATE_LABEL = {
  scheduled: 'scheduled', sent: 'sent', delivered: 'delivered', read: 'read',
  cancelled: 'cancelled', not_sent: 'not sent', 'not sent': 'not sent', failed: 'failed',
};

// `background`: a refetch after a live event, not the person's doing.
export async function showConversations(main, background = false) {
  view = null;
  const load = background ? getInBackground : get;
  const [inbox, links] = await Promise.all([load('/api/conversations'),
                                            load('/api/links').catch(() => ({links: []}))]);
  const list = h('ul', {class: 'conversations', 'aria-labelledby': 'conv-title'});
  for (const c of inbox.conversations || []) {
    const unread = c.unread_count > 0 ? `${c.unread_count} unread` : '';
    list.appendChild(h('li', {class: c.unread_count > 0 ? 'unread' : ''},
        h('a', {href: '#/c/' + enc(c.peer), class: 'conv'},
            h('span', {class: 'peer'}, c.peer),
            h('span', {class: 'when'}, formatTime(c.last_activity_ms)),
            unread ? h('span', {class: 'badge'}, unread) : null,
            h('span', {class: 'preview'}, (c.last_outgoing ? 'You: ' : '') + (c.preview || '')))));
  }
  const known = new Set((inbox.conversations || []).map((c) => c.peer));
  const others = (links.links || []).filter((l) => l.active && !known.has(l.peer));
  replace(main,
      h('h1', {id: 'conv-title'}, 'Conversations'),
      list.children.length ? list : h('p', {}, 'No messages yet.'),
      others.length ? h('section', {'aria-labelledby': 'write-title'},
          h('h2', {id: 'write-title'}, 'Write to'),
          h('ul', {class: 'plain'}, others.map((l) => h('li', {},
              h('a', {href: '#/c/' + enc(l.peer)}, l.peer))))) : null);
}

function messageTime(m) { return m.sent_at_ms || m.server_time_ms || 0; }

// Receipts seen live, by message id: one that arrives while the conversation
// is being fetched again must not be lost to a read of the store made just
// before it (kept in memory, dropped on lock with session.cache).
const RANK = {sent: 1, delivered: 2, read: 3};
function latestState(m) {
  const live = session.cache.get('receipt:' + m.id);
  return live && (RANK[live] || 0) > (RANK[m.state] || 0) ? live : m.state;
}

function renderMessage(m) {
  const li = h('li', {class: 'msg ' + (m.outgoing ? 'out' : 'in') +
                              (m.kind === 'letter' ? ' letter' : ''), 'data-id': m.id});
  const head = h('p', {class: 'meta'},
      h('span', {class: 'from'}, m.outgoing ? 'You' : m.peer), ' · ',
      h('time', {}, formatTime(messageTime(m))));
  li.appendChild(head);
  if (m.in_reply_to && view) {
    const parent = view.byId.get(m.in_reply_to);
    const about = parent && parent.subject ? `“${parent.subject}”` : 'a letter';
    li.appendChild(h('p', {class: 'thread'}, 'In reply to ' + about));
  }
  if (m.subject) li.appendChild(h('h2', {class: 'subject'}, m.subject));
  li.appendChild(h('div', {class: 'text'}, m.text || ''));
  const foot = h('p', {class: 'foot'});
  if (m.outgoing) {
    const state = latestState(m);
    foot.appendChild(h('span', {class: 'state state-' + String(state).replace(' ', '_')},
                       STATE_LABEL[state] || state || ''));
    if (m.failure) foot.appendChild(h('span', {class: 'failure'}, ' — ' + m.failure));
    if (m.state === 'failed' || m.state === 'not_sent' || m.state === 'not sent') {
      foot.appendChild(h('button', {type: 'button', class: 'small', 'data-retry': m.id,
                                    'aria-label': 'Retry sending this message',
                                    onclick: (e) => retryUnsent(e.currentTarget)}, 'Retry'));
      foot.appendChild(h('button', {type: 'button', class: 'small', 'data-discard': m.id,
                                    'aria-label': 'Discard this message',
                                    onclick: () => discardUnsent(m.id)}, 'Discard'));
    }
    if (m.state === 'scheduled') {
      foot.appendChild(h('button', {type: 'button', class: 'small', 'data-cancel': m.id,
                                    'aria-label': 'Cancel the scheduled message',
                                    onclick: () => cancelScheduled(m.id)}, 'Cancel'));
    }
  } else if (m.kind === 'letter') {
    foot.appendChild(h('button', {type: 'button', class: 'small',
        'aria-label': 'Reply in thread: ' + (m.subject ? `“${m.subject}”` : 'this letter'),
        onclick: () => view && view.composer.replyTo(m)}, 'Reply in thread'));
  }
  if (foot.childNodes.length) li.appendChild(foot);
  return li;
}

async function cancelScheduled(id) {
  try {
    await post('/api/cancel', {id});
    announce('The scheduled message was cancelled.');
    if (view) reload();
  } catch (err) {
    announce(err.message);
  }
}

// Sends again every message kept as not sent or failed (as `sotto retry`).
async function retryUnsent(button) {
  button.disabled = true;
  try {
    const r = await post('/api/retry');
    announce(r.sent === 1 ? 'The message was sent.' :
             r.sent ? `${r.sent} messages were sent.` : 'Nothing was waiting to be sent.');
  } catch (err) {
    announce('Still not sent: ' + err.message);
  } finally {
    button.disabled = false;
    if (view) reload();
  }
}

// Discards a message kept as not sent or failed (nothing goes to the server).
async function discardUnsent(id) {
  const sure = await confirmAction('Discard this message?',
      'It was not delivered and will not be sent. Its text is removed from this conversation.',
      'Discard');
  if (!sure) return;
  try {
    await post('/api/cancel', {id});
    announce('The message was discarded.');
  } catch (err) {
    announce(err.message);
  }
  if (view) reload();
}

function nearBottom(el) { return el.scrollHeight - el.scrollTop - el.clientHeight < 80; }

// Draws `messages` into `list`: the newest FIRST_CHUNK at once (scrolled to the
// end), the older ones prepended a chunk per frame keeping the scroll position.
function drawChunked(list, messages) {
  let end = Math.max(0, messages.length - FIRST_CHUNK);
  list.replaceChildren(...messages.slice(end).map(renderMessage));
  list.scrollTop = list.scrollHeight;
  const step = () => {
    if (end <= 0 || !list.isConnected) {
      list.setAttribute('aria-busy', 'false');
      return;
    }
    const start = Math.max(0, end - CHUNK);
    const frag = document.createDocumentFragment();
    for (const m of messages.slice(start, end)) frag.appendChild(renderMessage(m));
    const before = list.scrollHeight;
    const top = list.scrollTop;
    list.prepend(frag);
    list.scrollTop = top + (list.scrollHeight - before);
    end = start;
    requestAnimationFrame(step);
  };
  list.setAttribute('aria-busy', end > 0 ? 'true' : 'false');
  requestAnimationFrame(step);
}

export async function showConversation(main, arg) {
  const [peer, mode] = arg.split('/');
  const data = await fetchConversation(peer);
  const messages = data.messages || [];
  const list = h('ol', {class: 'messages', tabindex: '0', 'aria-label': 'Messages with ' + peer});
  const byId = new Map(messages.map((m) => [m.id, m]));
  const composer = await createComposer({to: peer, onSent: () => reload(),
                                         parent: (id) => byId.get(id) || null});
  view = {peer, list, byId: new Map(messages.map((m) => [m.id, m])), composer};
  replace(main,
      h('div', {class: 'conv-head'},
          h('h1', {}, 'Conversation with ', peer),
          h('div', {class: 'actions'},
              h('button', {type: 'button', onclick: () => showSafetyNumber(peer)}, 'Safety number'),
              h('button', {type: 'button', onclick: () => showRecordDialog(peer)},
                'Export record'))),
      messages.length ? null : h('p', {class: 'empty'}, 'No messages yet.'),
      list,
      composer.element);
  drawChunked(list, messages);
  if (mode === 'reply') {
    const letter = [...messages].reverse().find((m) => !m.outgoing && m.kind === 'letter');
    if (letter) composer.replyTo(letter); else composer.focus();
  }
}

// A peer with no messages yet is a 404 from the API: an empty conversation.
async function fetchConversation(peer) {
  try {
    return await get('/api/conversations/' + enc(peer));
  } catch (err) {
    if (err.status === 404) return {peer, messages: []};
    throw err;
  }
}

async function reload() {
  if (!view) return;
  const data = await fetchConversation(view.peer);
  const messages = data.messages || [];
  view.byId = new Map(messages.map((m) => [m.id, m]));
  const atBottom = nearBottom(view.list);
  view.list.replaceChildren(...messages.map(renderMessage));
  if (atBottom) view.list.scrollTop = view.list.scrollHeight;
}

// Marks what arrived as read (GET marks read) without redrawing the list.
const markRead = debounce((peer) => whenVisible(() => {
  getInBackground('/api/conversations/' + enc(peer)).catch(() => {});
}), 400);

// A live `message` event.
export function onMessage(m) {
  const name = location.hash.replace(/^#\/?/, '').split('/')[0];
  if (view && view.list.isConnected && m.peer === view.peer) {
    if (view.byId.has(m.id)) return;
    view.byId.set(m.id, m);
    const atBottom = nearBottom(view.list);
    view.list.appendChild(renderMessage(m));
    if (atBottom) view.list.scrollTop = view.list.scrollHeight;
    const empty = document.querySelector('#main .empty');
    if (empty) empty.remove();
    if (!m.outgoing) {
      announce(`New message from ${m.peer}.`);
      markRead(m.peer);
    }
    return;
  }
  if (!m.outgoing) announce(`New message from ${m.peer}.`);
  if (name === 'conversations' || (name === '' && session.role === 'client')) {
    whenVisible(() => showConversations(document.getElementById('main'), true).catch(() => {}));
  }
}

// A live `receipt` event: {message_id, peer, state}.
export function onReceipt(r) {
  const key = 'receipt:' + r.message_id;
  if ((RANK[r.state] || 0) > (RANK[session.cache.get(key)] || 0)) session.cache.set(key, r.state);
  if (!view || !view.list.isConnected) return;
  const li = view.list.querySelector(`li[data-id="${CSS.escape(r.message_id || '')}"]`);
  const state = li && li.querySelector('.state');
  if (!state) return;
  state.textContent = STATE_LABEL[r.state] || r.state;
  state.className = 'state state-' + String(r.state).replace(' ', '_');
  const m = view.byId.get(r.message_id);
  if (m) m.state = r.state;
}
