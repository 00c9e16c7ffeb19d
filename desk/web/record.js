// The clinical record of a conversation (docs/RECORD.md): exported into a
// directory on this machine, as `sotto export`, and an export checked, as
// `sotto verify-export`. Made from this device's history; nothing goes
// through the server.
import {post} from './api.js';
import {h, replace, field, statusLine, showError, showOk} from './dom.js';

// What the profile knows of the signer's key (/api/record/verify's
// "signer_match"), as a sentence.
function matchSentence(match, who) {
  switch (match) {
    case 'own': return 'The key is your own: you signed this record.';
    case 'verified': return `The key is the one you verified for ${who}.`;
    case 'unverified':
      return `The key is the one your profile holds for ${who} (not verified: compare the ` +
             'safety number with them).';
    case 'different':
      return `The key is NOT the one your profile holds for ${who}: someone else signed this ` +
             'record.';
    default: return `Your profile knows no key of ${who}: compare the fingerprint with them.`;
  }
}

// <input type=date> values as a range of Unix ms: from the first day's
// local midnight to the midnight after the last day (0: no bound).
function dayStart(value, after) {
  if (!value) return 0;
  const d = new Date(value + 'T00:00');
  if (after) d.setDate(d.getDate() + 1);
  return Number.isNaN(d.getTime()) ? 0 : d.getTime();
}

export function showRecordDialog(peer) {
  const dialog = h('dialog', {class: 'record', 'aria-labelledby': 'record-title'});
  dialog.addEventListener('close', () => dialog.remove());
  const dir = h('input', {id: 'record-dir', type: 'text', required: true, autocomplete: 'off',
                          spellcheck: 'false'});
  const from = h('input', {id: 'record-from', type: 'date'});
  const to = h('input', {id: 'record-to', type: 'date'});
  const status = statusLine('record-status', 'status');
  const findings = h('ul', {class: 'findings'});
  const form = h('form', {},
      field('Directory', dir, 'An absolute path on this computer, e.g. /home/you/records/' +
            peer + '. It is created; an existing export there is never overwritten.'),
      field('From (optional)', from),
      field('To (optional, included)', to),
      h('div', {class: 'actions'},
          h('button', {type: 'submit', class: 'primary'}, 'Export'),
          h('button', {type: 'button', onclick: () => check()}, 'Check an export'),
          h('button', {type: 'button', onclick: () => dialog.close()}, 'Close')),
      status, findings);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    replace(findings);
    try {
      const r = await post('/api/record/export', {
        peer, dir: dir.value.trim(), from_ms: dayStart(from.value, false),
        to_ms: dayStart(to.value, true)});
      showOk(status, `Exported ${r.message_count} message${r.message_count === 1 ? '' : 's'} ` +
             `to ${r.dir}: record.html to read and print, record.json, and record.sig signed ` +
             `with your identity key (fingerprint ${r.signer_fingerprint}).`);
    } catch (err) {
      showError(status, err);
    }
  });
  async function check() {
    replace(findings);
    try {
      const r = await post('/api/record/verify', {dir: dir.value.trim()});
      const who = r.signer_handle || 'the signer';
      if (r.ok) {
        showOk(status, `Intact: ${r.message_count} message${r.message_count === 1 ? '' : 's'} ` +
               `with ${r.peer}, signed by ${who} (fingerprint ${r.signer_fingerprint}). ` +
               matchSentence(r.signer_match, who));
      } else {
        showError(status, `Not as signed: ${r.problems.length} finding` +
                  `${r.problems.length === 1 ? '' : 's'}.`);
        replace(findings, ...r.problems.map((p) => h('li', {}, p)));
      }
    } catch (err) {
      showError(status, err);
    }
  }
  replace(dialog, h('h2', {id: 'record-title'}, 'Clinical record with ', peer),
          h('p', {}, 'The conversation as a document to read and print, with every message in ' +
                     'machine-readable form and your signature over it. Made from this ' +
                     "device's history: nothing goes through the server."),
          form);
  document.body.appendChild(dialog);
  dialog.showModal();
  dir.focus();
}
