// Settings → Devices: this account's devices (name, linked, last seen),
// removing another one, and linking a new one — the one-time code and its QR
// while the desk waits for the new device, its progress arriving as `link`
// events. In setup: joining an existing account as a new device.
import {get, post, del, enc} from './api.js';
import {h, replace, field, formatTime, statusLine, showError, showOk, svgImage, announce,
        passphrasesMatch} from './dom.js';
import {confirmAction} from './confirm.js';
import {settingsNav} from './backup.js';

// The linking box on screen, or null.
let linkBox = null;
// How far the linking on screen has got: the answer to POST /api/devices/link
// ("starting") can arrive after the `link` event saying "waiting", and must
// not draw over it.
const RANK = {none: 0, starting: 1, waiting: 2, sending_keys: 3, sent: 4, failed: 4, cancelled: 4};
let shownRank = 0;

const STAGE_TEXT = {
  starting: 'Opening a one-time code…',
  sending_keys: 'The new device answered with the code; sending it this account’s keys…',
  sent: 'Sent. The new device finishes joining by itself.',
  cancelled: 'Linking was cancelled; the code no longer works.',
};

export async function showDevices(main) {
  const [data, link] = await Promise.all([get('/api/devices'),
                                          get('/api/devices/link').catch(() => ({stage: 'none'}))]);
  const status = statusLine('devices-status', 'status');
  const list = h('div', {id: 'device-list'});
  drawDevices(list, data.devices || [], status, main);
  const start = h('button', {type: 'button', class: 'primary', id: 'link-start'}, 'Link a new device');
  linkBox = h('div', {id: 'link-box', 'aria-live': 'polite'});
  start.addEventListener('click', async () => {
    start.disabled = true;
    shownRank = 0;  // a new linking: every stage may be drawn again
    try {
      renderLink(await post('/api/devices/link'));
    } catch (err) {
      showError(status, err);
      start.disabled = false;
    }
  });
  shownRank = 0;
  replace(main, settingsNav('devices'), h('h1', {id: 'devices-title'}, 'Devices'),
      h('p', {}, 'Every device here holds this account’s keys and gets its messages.'),
      list, status,
      h('section', {class: 'card', 'aria-labelledby': 'link-title'},
          h('h2', {id: 'link-title'}, 'Link a new device'),
          h('p', {}, 'Shows a one-time code to enter (or scan) on the new device.'),
          start, linkBox));
  renderLink(link);
}

function drawDevices(list, devices, status, main) {
  replace(list, h('div', {class: 'table-wrap'}, h('table', {'aria-labelledby': 'devices-title'},
      h('thead', {}, h('tr', {}, ['Device', 'Linked', 'Last seen', 'Actions'].map(
          (t) => h('th', {scope: 'col'}, t)))),
      h('tbody', {}, devices.map((d) => h('tr', {'data-device': String(d.device_id)},
          h('td', {}, deviceName(d), d.this_device ? h('strong', {}, ' (this device)') : null),
          h('td', {}, d.linked_at_ms ? formatTime(d.linked_at_ms) : 'first device'),
          h('td', {}, d.last_seen_ms ? 'around ' + formatTime(d.last_seen_ms) : 'not yet'),
          h('td', {}, d.this_device ? null : h('button', {type: 'button', class: 'small',
              'aria-label': 'Remove ' + deviceName(d),
              onclick: () => removeDevice(d, status, main)}, 'Remove'))))))));
}

function deviceName(d) { return d.name || `Device ${d.device_id}`; }

async function removeDevice(d, status, main) {
  const sure = await confirmAction(`Remove ${deviceName(d)}?`,
      'It can no longer reach this account: its messages stop and contacts stop writing to it. ' +
      'It cannot be undone (link it again to use it).', 'Remove');
  if (!sure) return;
  try {
    await del('/api/devices/' + enc(String(d.device_id)));
    await showDevices(main);
    showOk(document.getElementById('devices-status'), `${deviceName(d)} was removed.`);
  } catch (err) {
    showError(status, err);
  }
}

// Draws where a linking stands ({stage, code, qr_svg, expires_at_ms, error}).
function renderLink(s) {
  if (!linkBox || !linkBox.isConnected || !s) return;
  const rank = RANK[s.stage] || 0;
  if (rank < shownRank && shownRank < 4) return;  // after an end, a new linking (another tab)
  shownRank = rank;
  const start = document.getElementById('link-start');
  const running = ['starting', 'waiting', 'sending_keys'].includes(s.stage);
  if (start) start.disabled = running;
  if (!s.stage || s.stage === 'none') return replace(linkBox);
  const cancel = running ? h('button', {type: 'button', id: 'link-cancel', onclick: async () => {
    await post('/api/devices/link/cancel').catch(() => {});
  }}, 'Cancel') : null;
  if (s.stage === 'waiting') {
    replace(linkBox,
        h('p', {}, 'On the new device, open Sotto Desk and choose “Add this device to an ' +
                   'account you already use”, then enter this code (or scan it):'),
        h('p', {class: 'code', id: 'link-code'}, s.code || ''),
        s.qr_svg ? svgImage(s.qr_svg, 'QR code of the one-time link code') : null,
        h('p', {class: 'hint'}, `It works once, until ${formatTime(s.expires_at_ms)}. It gives ` +
                                'the new device this account’s keys: show it to no one else.'),
        h('p', {class: 'stage', id: 'link-stage', role: 'status'}, 'Waiting for the new device…'),
        cancel);
    return;
  }
  const text = s.stage === 'failed' ? 'Linking failed: ' + (s.error || 'unknown error')
                                    : STAGE_TEXT[s.stage] || s.stage;
  replace(linkBox, h('p', {class: 'stage' + (s.stage === 'failed' ? ' error' : ''),
                           id: 'link-stage', role: 'status'}, text), cancel);
  if (s.stage === 'sent') {
    announce(text);
    get('/api/devices').then((d) => {
      const list = document.getElementById('device-list');
      if (list) drawDevices(list, d.devices || [], document.getElementById('devices-status'),
                            document.getElementById('main'));
    }).catch(() => {});
  }
}

// A live `link` event.
export function onLinkEvent(s) { renderLink(s); }

// Setup: this desk joins an existing account as a new device (`sotto init
// --link`), with the code another device of the account shows.
export function showJoin(main, onOpened, back) {
  const server = h('input', {id: 'join-server', required: true, autocomplete: 'off',
                             placeholder: 'sotto.example.org:443'});
  const name = h('input', {id: 'join-name', autocomplete: 'off', maxlength: '64'});
  const pass = h('input', {id: 'join-passphrase', type: 'password', required: true,
                           autocomplete: 'new-password', minlength: '10'});
  const pass2 = h('input', {id: 'join-passphrase2', type: 'password', required: true,
                            autocomplete: 'new-password'});
  const code = h('input', {id: 'join-code', required: true, autocomplete: 'off',
                           spellcheck: 'false'});
  const status = statusLine('join-status', 'alert');
  const button = h('button', {type: 'submit', class: 'primary'}, 'Join as a new device');
  const form = h('form', {class: 'card narrow', 'aria-labelledby': 'join-title'},
      h('h1', {id: 'join-title'}, 'Join an existing account as a new device'),
      h('p', {}, 'On a device that has your account, open Devices and choose “Link a new ' +
                 'device”: it shows a one-time code. This device gets the account’s keys ' +
                 'and its own passphrase.'),
      field('Server', server, 'The same server as your other device.'),
      field('Name of this device', name, 'Shown in the list of devices, e.g. “office laptop”.'),
      field('Passphrase for this device', pass,
            'At least 10 characters: several unrelated words work well.'),
      field('Passphrase again', pass2),
      field('Link code', code, 'As shown on the other device.'),
      h('div', {class: 'actions'}, button,
        h('button', {type: 'button', onclick: back}, 'Join with an invite instead')),
      status);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    status.textContent = '';
    if (!passphrasesMatch(pass, pass2, status)) return;
    button.disabled = true;
    status.textContent = 'Waiting for your other device…';
    try {
      await post('/api/setup/join', {server: server.value.trim(), code: code.value.trim(),
                                     device_name: name.value.trim(), passphrase: pass.value});
      pass.value = pass2.value = code.value = '';
      onOpened(await get('/api/state'));
    } catch (err) {
      showError(status, err);
    } finally {
      button.disabled = false;
    }
  });
  replace(main, form);
  server.focus();
}
