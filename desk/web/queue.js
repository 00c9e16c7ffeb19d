// The therapist's queue: waiting conversations oldest first, how long each has
// waited, the due time, overdue ones marked; snooze, close, claim; j/k/r/s.
import {get, getInBackground, post, enc} from './api.js';
import {h, replace, formatTime, formatDuration, field, statusLine, showError, showOk,
        localInputToMs, msToLocalInput, announce, whenVisible} from './dom.js';

let state = null;  // {entries, selected, rows, main, all}

function stateLabel(e) {
  if (e.state === 'snoozed') return `snoozed until ${formatTime(e.snoozed_until_ms)}`;
  return e.state;
}

// `background`: a refetch after a live event, not the person's doing.
export async function showQueue(main, keepSelection, background = false) {
  const all = state ? state.all : false;
  const data = await (background ? getInBackground : get)('/api/queue' + (all ? '?all=1' : ''));
  const now = data.now_ms || Date.now();
  const previous = keepSelection && state ? state.entries[state.selected] : null;
  state = {entries: data.entries || [], selected: 0, rows: [], main, all};
  const status = statusLine('queue-status', 'status');
  const table = h('table', {class: 'queue', 'aria-labelledby': 'queue-title'},
      h('thead', {}, h('tr', {},
          ['Client', 'Waiting', 'Waited for', 'Due', 'State', 'Actions'].map(
              (t) => h('th', {scope: 'col'}, t)))));
  const tbody = h('tbody');
  state.entries.forEach((e, i) => {
    const waited = e.oldest_waiting_ms ? formatDuration(now - e.oldest_waiting_ms) : '';
    const row = h('tr', {class: e.overdue ? 'overdue' : '', tabindex: '-1', 'data-client': e.client},
        h('th', {scope: 'row'}, h('a', {href: '#/c/' + enc(e.client) + '/reply'}, e.client)),
        // data-label: the column's name, shown before the value when a
        // phone-width screen turns each row into a card (app.css).
        h('td', {'data-label': 'Waiting'}, String(e.waiting_count || 0)),
        h('td', {'data-label': 'Waited for'}, waited),
        h('td', {'data-label': 'Due'}, formatTime(e.due_ms),
          e.overdue ? h('strong', {class: 'tag'}, ' overdue') : null),
        h('td', {'data-label': 'State'}, stateLabel(e), e.claimed_by ? ` · claimed by ${e.claimed_by}` : ''),
        h('td', {class: 'row-actions'},
            h('button', {type: 'button', class: 'small', onclick: () => snooze(i),
                          'aria-label': 'Snooze ' + e.client}, 'Snooze'),
            h('button', {type: 'button', class: 'small', onclick: () => act(i, 'close'),
                          'aria-label': 'Close ' + e.client}, 'Close'),
            h('button', {type: 'button', class: 'small', onclick: () => act(i, 'claim'),
                          'aria-label': 'Claim ' + e.client}, 'Claim')));
    row.addEventListener('focus', () => select(i, false));
    state.rows.push(row);
    tbody.appendChild(row);
  });
  table.appendChild(tbody);
  const toggle = h('input', {type: 'checkbox', id: 'queue-all', checked: all});
  toggle.addEventListener('change', () => {
    state.all = toggle.checked;
    showQueue(main).catch(() => {});
  });
  replace(main,
      h('h1', {id: 'queue-title'}, 'Queue'),
      h('p', {class: 'hint'}, 'Oldest waiting first. Keys: j / k move, r reply, s snooze, ? help.'),
      h('div', {class: 'field inline'}, toggle,
        h('label', {for: 'queue-all'}, 'Show answered and closed conversations too')),
      state.entries.length ? h('div', {class: 'table-wrap'}, table)
                           : h('p', {}, 'Nobody is waiting for a reply.'),
      status);
  if (previous) {
    const i = state.entries.findIndex((e) => e.client === previous.client);
    if (i >= 0) select(i, false);
  } else if (state.rows.length) {
    select(0, false);
  }
}

function select(i, focus) {
  if (!state || !state.rows.length) return;
  state.selected = Math.max(0, Math.min(i, state.rows.length - 1));
  state.rows.forEach((r, j) => {
    r.classList.toggle('selected', j === state.selected);
    if (j === state.selected) r.setAttribute('aria-current', 'true');
    else r.removeAttribute('aria-current');
  });
  if (focus) state.rows[state.selected].focus();
}

async function act(i, what) {
  const e = state.entries[i];
  const status = document.getElementById('queue-status');
  try {
    await post(`/api/queue/${enc(e.client)}/${what}`);
    await showQueue(state.main, true);
    const done = what === 'close' ? 'Closed' : 'Claimed';
    showOk(document.getElementById('queue-status'), `${done} the conversation with ${e.client}.`);
  } catch (err) {
    showError(status, err);
  }
}

function tomorrowMorning() {
  const d = new Date();
  d.setDate(d.getDate() + 1);
  d.setHours(9, 0, 0, 0);
  return d.getTime();
}

// The snooze dialog: 2 hours, tomorrow 09:00, or a chosen date and time.
function snooze(i) {
  const e = state.entries[i];
  const at = h('input', {type: 'datetime-local', id: 'snooze-at',
                         value: msToLocalInput(tomorrowMorning()), min: msToLocalInput(Date.now())});
  const status = statusLine('snooze-status', 'alert');
  const dialog = h('dialog', {class: 'snooze', 'aria-labelledby': 'snooze-title'});
  const done = async (untilMs) => {
    if (!untilMs || untilMs <= Date.now()) {
      showError(status, 'Choose a time in the future.');
      return;
    }
    try {
      await post(`/api/queue/${enc(e.client)}/snooze`, {until_ms: untilMs});
      dialog.close();
      await showQueue(state.main, true);
      const text = `Snoozed ${e.client} until ${formatTime(untilMs)}.`;
      showOk(document.getElementById('queue-status'), text);
      announce(text);
    } catch (err) {
      showError(status, err);
    }
  };
  dialog.append(
      h('h2', {id: 'snooze-title'}, 'Snooze ', e.client),
      h('div', {class: 'actions'},
          h('button', {type: 'button', onclick: () => done(Date.now() + 2 * 3600000)}, 'For 2 hours'),
          h('button', {type: 'button', onclick: () => done(tomorrowMorning())}, 'Until tomorrow 09:00')),
      field('Until', at),
      h('div', {class: 'actions'},
          h('button', {type: 'button', class: 'primary', onclick: () => done(localInputToMs(at.value))},
            'Snooze until this time'),
          h('button', {type: 'button', onclick: () => dialog.close()}, 'Cancel')),
      status);
  dialog.addEventListener('close', () => {
    dialog.remove();
    if (state && state.rows[state.selected]) state.rows[state.selected].focus();
  });
  document.body.appendChild(dialog);
  dialog.showModal();
}

// The queue's shortcuts (app.js ignores keys typed into fields).
export function queueKeys(e) {
  const onQueue = state && state.main && state.rows.length && state.rows[0].isConnected;
  if (!onQueue) return;
  const k = e.key;
  if (k === 'j') select(state.selected + 1, true);
  else if (k === 'k') select(state.selected - 1, true);
  else if (k === 'r') location.hash = '#/c/' + enc(state.entries[state.selected].client) + '/reply';
  else if (k === 's') snooze(state.selected);
  else return;
  e.preventDefault();
}

// A live `queue` event: refetch if the queue is on screen.
export function onQueueChanged() {
  if (state && state.main && document.querySelector('#main table.queue, #queue-title')) {
    whenVisible(() => showQueue(state.main, true, true).catch(() => {}));
  }
}
