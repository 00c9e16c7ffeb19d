// Settings for both roles: read receipts, notifications (kept in memory for
// this launch only), passphrase change, accept an invite, safety numbers.
import {get, post, put, enc} from './api.js';
import {h, replace, field, statusLine, showError, showOk, svgImage} from './dom.js';
import {session} from './session.js';
import {settingsNav} from './backup.js';

export async function showSettings(main) {
  const links = await get('/api/links').catch(() => ({links: []}));
  replace(main, settingsNav('settings'), h('h1', {}, 'Settings'),
      receiptsSection(), notifySection(), passphraseSection(),
      session.role === 'client' ? acceptSection() : null,
      safetySection(links.links || []));
}

function receiptsSection() {
  const box = h('input', {type: 'checkbox', id: 'set-receipts', checked: session.read_receipts});
  const status = statusLine('set-receipts-status', 'status');
  box.addEventListener('change', async () => {
    try {
      await put('/api/settings/read-receipts', {enabled: box.checked});
      session.read_receipts = box.checked;
      showOk(status, box.checked ? 'Others see when you have read their messages.'
                                 : 'Others no longer see when you have read their messages.');
    } catch (err) {
      box.checked = !box.checked;
      showError(status, err);
    }
  });
  return h('section', {class: 'card', 'aria-labelledby': 'set-receipts-title'},
      h('h2', {id: 'set-receipts-title'}, 'Read receipts'),
      h('div', {class: 'field inline'}, box, h('label', {for: box.id}, 'Send read receipts')),
      status);
}

function notifySection() {
  const on = h('input', {type: 'checkbox', id: 'set-notify', checked: session.notify});
  const details = h('input', {type: 'checkbox', id: 'set-notify-details',
                              checked: session.notifyDetails, disabled: !session.notify});
  const status = statusLine('set-notify-status', 'status');
  const supported = typeof Notification !== 'undefined';
  on.disabled = !supported;
  on.addEventListener('change', async () => {
    if (on.checked && Notification.permission !== 'granted') {
      const answer = await Notification.requestPermission();
      if (answer !== 'granted') {
        on.checked = false;
        showError(status, 'The browser did not allow notifications.');
      }
    }
    session.notify = on.checked;
    details.disabled = !on.checked;
  });
  details.addEventListener('change', () => { session.notifyDetails = details.checked; });
  return h('section', {class: 'card', 'aria-labelledby': 'set-notify-title'},
      h('h2', {id: 'set-notify-title'}, 'Desktop notifications'),
      h('p', {class: 'hint'}, supported
          ? 'For this launch only. By default a notification says only that something arrived.'
          : 'This browser cannot show notifications.'),
      h('div', {class: 'field inline'}, on, h('label', {for: on.id}, 'Notify me when a message arrives')),
      h('div', {class: 'field inline'}, details,
        h('label', {for: details.id}, 'Show who wrote and the text in the notification')),
      status);
}

// A desktop notification for an arriving message, if turned on.
export function notifyArrival(m) {
  if (!session.notify || typeof Notification === 'undefined' ||
      Notification.permission !== 'granted') return;
  if (document.visibilityState === 'visible' && document.hasFocus()) return;
  const title = session.notifyDetails ? `Sotto: ${m.peer}` : 'Sotto';
  const body = session.notifyDetails ? (m.subject || m.text || '').slice(0, 140)
                                     : 'A new message arrived.';
  try { new Notification(title, {body, tag: 'sotto'}); } catch { /* not shown */ }
}

function passphraseSection() {
  const old = h('input', {type: 'password', id: 'set-old', autocomplete: 'current-password', required: true});
  const neu = h('input', {type: 'password', id: 'set-new', autocomplete: 'new-password', required: true,
                          minlength: '10'});
  const again = h('input', {type: 'password', id: 'set-again', autocomplete: 'new-password', required: true});
  const status = statusLine('set-pass-status', 'alert');
  const form = h('form', {class: 'card', 'aria-labelledby': 'set-pass-title'},
      h('h2', {id: 'set-pass-title'}, 'Change passphrase'),
      field('Current passphrase', old), field('New passphrase', neu), field('New passphrase again', again),
      h('button', {type: 'submit'}, 'Change passphrase'), status);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (neu.value !== again.value) return showError(status, 'The new passphrases differ.');
    try {
      await post('/api/passphrase', {old: old.value, new: neu.value});
      showOk(status, 'The passphrase is changed.');
    } catch (err) {
      showError(status, err);
    } finally {
      old.value = neu.value = again.value = '';
    }
  });
  return form;
}

function acceptSection() {
  const code = h('input', {id: 'set-invite', autocomplete: 'off', spellcheck: 'false', required: true});
  const status = statusLine('set-invite-status', 'alert');
  const form = h('form', {class: 'card', 'aria-labelledby': 'set-invite-title'},
      h('h2', {id: 'set-invite-title'}, 'Accept an invite'),
      field('Invite code', code), h('button', {type: 'submit'}, 'Accept'), status);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      const r = await post('/api/accept-invite', {code: code.value.trim()});
      code.value = '';
      showOk(status, `Linked with ${r.therapist}.`);
    } catch (err) {
      showError(status, err);
    }
  });
  return form;
}

function safetySection(links) {
  return h('section', {class: 'card', 'aria-labelledby': 'set-safety-title'},
      h('h2', {id: 'set-safety-title'}, 'Safety numbers'),
      h('p', {}, 'Compare in person or by video: if the numbers match, nobody is in between.'),
      links.length ? h('ul', {class: 'plain'}, links.map((l) => h('li', {},
          h('button', {type: 'button', onclick: () => showSafetyNumber(l.peer)}, 'Safety number with ', l.peer))))
        : h('p', {}, 'No contacts yet.'));
}

// A dialog with the safety number (digits and QR) and a Verify button, or,
// when the contact's key changed, a Trust button that accepts exactly the
// number shown (as `sotto trust PEER --safety-number DIGITS`).
export async function showSafetyNumber(peer) {
  const dialog = h('dialog', {class: 'safety', 'aria-labelledby': 'safety-title'});
  const status = statusLine('safety-status', 'status');
  dialog.addEventListener('close', () => dialog.remove());
  document.body.appendChild(dialog);
  try {
    const n = await get('/api/safety-number/' + enc(peer));
    const groups = (n.digits || '').replace(/\s+/g, '').match(/.{1,5}/g) || [];
    const action = n.changed ? trustButton(peer, n.digits, status) : verifyButton(peer, status);
    replace(dialog, h('h2', {id: 'safety-title'}, 'Safety number with ', peer),
        n.changed ? changedWarning(peer) : null,
        h('p', {class: 'digits'}, groups.join(' ')),
        n.qr_svg ? svgImage(n.qr_svg, 'QR code of the safety number with ' + peer) : null,
        n.changed ? null : h('p', {}, n.verified ? 'Verified.' : 'Not verified yet.'),
        h('div', {class: 'actions'}, n.verified && !n.changed ? null : action,
          h('button', {type: 'button', onclick: () => dialog.close()}, 'Close')),
        status);
  } catch (err) {
    replace(dialog, h('h2', {id: 'safety-title'}, 'Safety number'), h('p', {role: 'alert'}, err.message),
            h('button', {type: 'button', onclick: () => dialog.close()}, 'Close'));
  }
  dialog.showModal();
}

function changedWarning(peer) {
  return h('div', {class: 'warn'},
      h('p', {}, `${peer}'s safety number changed: their identity key is not the one you had ` +
                 '(a new phone, a reinstall — or someone in between). Their messages are held ' +
                 'and nothing is sent to them until you trust the new number.'),
      h('p', {}, `Compare it with ${peer} in person or by video first. If it matches, trust ` +
                 'exactly this number.'));
}

function verifyButton(peer, status) {
  const verify = h('button', {type: 'button', class: 'primary'}, 'Mark as verified');
  verify.addEventListener('click', async () => {
    try {
      await post('/api/safety-number/' + enc(peer) + '/verify');
      showOk(status, `${peer} is verified.`);
      verify.disabled = true;
    } catch (err) {
      showError(status, err);
    }
  });
  return verify;
}

function trustButton(peer, digits, status) {
  const trust = h('button', {type: 'button', class: 'primary'}, 'Trust the new number');
  trust.addEventListener('click', async () => {
    try {
      await post('/api/safety-number/' + enc(peer) + '/trust', {digits});
      showOk(status, `Accepted ${peer}'s new identity key (not verified: compare it, then ` +
                     'open this again to mark it as verified). Sending to them works again.');
      trust.disabled = true;
    } catch (err) {
      showError(status, err);
    }
  });
  return trust;
}
