// Settings → Backups: automatic backups (directory, how often, how many kept,
// off; the last backup and the last error), "Back up now" into a file, and a
// new recovery key. A recovery key is shown once, in the DOM only, and is
// removed when the person says they wrote it down (or the profile locks).
import {get, post, put, del} from './api.js';
import {h, replace, field, formatTime, statusLine, showError, showOk, passphrasesMatch} from './dom.js';

// The links between the parts of Settings (one nav item).
export function settingsNav(current) {
  const items = [['settings', 'General'], ['devices', 'Devices'], ['backup', 'Backups']];
  return h('nav', {class: 'subnav', 'aria-label': 'Settings'}, h('ul', {},
      items.map(([route, label]) => h('li', {}, h('a', {href: '#/' + route,
          'aria-current': route === current ? 'page' : null}, label)))));
}

const EVERY = [[60, 'Every hour'], [360, 'Every 6 hours'], [1440, 'Every day'], [10080, 'Every week']];

export async function showBackup(main) {
  const s = await get('/api/backup');
  const status = statusLine('backup-status', 'alert');
  const keyBox = h('div', {id: 'recovery-box'});
  replace(main, settingsNav('backup'), h('h1', {id: 'backup-title'}, 'Backups'),
      h('p', {}, 'A backup holds this profile — messages, contacts, keys — encrypted under a ' +
                 'recovery key. Keep backups somewhere else than this device.'),
      keyBox, autoSection(s, status, keyBox, main), nowSection(status, keyBox), status);
}

// The recovery key, once, with the advice; "I wrote it down" removes it.
function showKey(keyBox, answer, what) {
  if (!answer.recovery_key) return;
  const done = h('button', {type: 'button', class: 'primary'}, 'I have written it down');
  done.addEventListener('click', () => replace(keyBox));
  replace(keyBox, h('section', {class: 'card recovery', 'aria-labelledby': 'recovery-title'},
      h('h2', {id: 'recovery-title'}, 'Recovery key — shown only now'),
      h('p', {}, what),
      h('p', {class: 'code', id: 'recovery-key'}, answer.recovery_key),
      h('p', {}, answer.advice || ''), done));
  done.focus();
}

function autoSection(s, status, keyBox, main) {
  const dir = h('input', {id: 'backup-dir', required: true, autocomplete: 'off',
                          placeholder: '/media/usb/sotto-backups', value: s.dir || ''});
  const every = h('select', {id: 'backup-every'}, EVERY.map(([m, label]) =>
      h('option', {value: String(m), selected: m === (s.every_minutes || 1440)}, label)));
  if (s.every_minutes && !EVERY.some(([m]) => m === s.every_minutes)) {
    every.appendChild(h('option', {value: String(s.every_minutes), selected: true},
                        `Every ${s.every_minutes} minutes`));
  }
  const keep = h('input', {id: 'backup-keep', type: 'number', min: '1', max: '1000',
                           value: String(s.keep || 7)});
  const save = h('button', {type: 'submit', class: 'primary'},
                 s.enabled ? 'Save' : 'Turn on automatic backups');
  const off = h('button', {type: 'button', hidden: !s.enabled}, 'Turn off');
  const newKey = h('button', {type: 'button', hidden: !s.enabled}, 'New recovery key');
  const state = h('p', {id: 'backup-state', role: 'status'}, !s.enabled ? 'Automatic backups are off.' :
      `On. Last backup: ${s.last_backup_ms ? formatTime(s.last_backup_ms) : 'none yet'}.`);
  const lastError = s.last_error ? h('p', {class: 'error', id: 'backup-error'},
      'The last attempt failed: ' + s.last_error) : null;
  const form = h('form', {class: 'card', 'aria-labelledby': 'backup-auto-title'},
      h('h2', {id: 'backup-auto-title'}, 'Automatic backups'), state, lastError,
      field('Directory', dir, 'An absolute path, e.g. a USB stick or a synced folder.'),
      field('How often', every), field('How many to keep', keep),
      h('div', {class: 'actions'}, save, off, newKey));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      const r = await put('/api/backup', {dir: dir.value.trim(), every_minutes: Number(every.value),
                                          keep: Number(keep.value)});
      await showBackup(main);
      const box = document.getElementById('recovery-box');
      showKey(box, r, 'Every automatic backup opens with this key.');
      const line = document.getElementById('backup-status');
      if (r.write_error) showError(line, 'Saved, but the first backup failed: ' + r.write_error);
      else showOk(line, r.written ? `Saved. Backup written to ${r.written}.` : 'Saved.');
    } catch (err) {
      showError(status, err);
    }
  });
  off.addEventListener('click', async () => {
    try {
      await del('/api/backup');
      await showBackup(main);
      showOk(document.getElementById('backup-status'),
             'Automatic backups are off. The files already written stay.');
    } catch (err) {
      showError(status, err);
    }
  });
  newKey.addEventListener('click', async () => {
    try {
      const r = await post('/api/backup/recovery-key');
      showKey(keyBox, r, 'Backups from now on open with this key; those written before still ' +
                         'open with the old one.');
    } catch (err) {
      showError(status, err);
    }
  });
  return form;
}

function nowSection(status, keyBox) {
  const path = h('input', {id: 'backup-path', required: true, autocomplete: 'off',
                           placeholder: '/media/usb/sotto.sottobackup'});
  const go = h('button', {type: 'submit'}, 'Back up now');
  const form = h('form', {class: 'card', 'aria-labelledby': 'backup-now-title'},
      h('h2', {id: 'backup-now-title'}, 'Back up now'),
      field('File to write', path, 'An absolute path to a file that does not exist yet.'), go);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    go.disabled = true;
    try {
      const r = await post('/api/backup/now', {path: path.value.trim()});
      showOk(status, `Backup written to ${r.path} (${r.records} records).`);
      showKey(keyBox, r, 'This backup opens only with this key.');
    } catch (err) {
      showError(status, err);
    } finally {
      go.disabled = false;
    }
  });
  return form;
}

// Setup: this desk's profile comes back from a backup (`sotto restore`).
export function showRestore(main, onOpened, back) {
  const file = h('input', {id: 'restore-file', required: true, autocomplete: 'off',
                           placeholder: '/media/usb/sotto.sottobackup'});
  const key = h('input', {id: 'restore-key', required: true, autocomplete: 'off',
                          spellcheck: 'false'});
  const pass = h('input', {id: 'restore-passphrase', type: 'password', required: true,
                           autocomplete: 'new-password', minlength: '10'});
  const pass2 = h('input', {id: 'restore-passphrase2', type: 'password', required: true,
                            autocomplete: 'new-password'});
  const server = h('input', {id: 'restore-server', autocomplete: 'off'});
  const status = statusLine('restore-status', 'alert');
  const button = h('button', {type: 'submit', class: 'primary'}, 'Restore');
  const form = h('form', {class: 'card narrow', 'aria-labelledby': 'restore-title'},
      h('h1', {id: 'restore-title'}, 'Restore from a backup'),
      h('p', {}, 'Brings back your messages, contacts and keys from a backup file, with the ' +
                 'recovery key you wrote down when it was made.'),
      field('Backup file', file, 'An absolute path.'),
      field('Recovery key', key, '40 digits; spaces and dashes do not matter.'),
      field('New passphrase for this device', pass,
            'At least 10 characters: several unrelated words work well.'),
      field('Passphrase again', pass2),
      field('Server (optional)', server, 'Only if it moved: else the backup’s own.'),
      h('div', {class: 'actions'}, button,
        h('button', {type: 'button', onclick: back}, 'Join with an invite instead')),
      status);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    status.textContent = '';
    if (!passphrasesMatch(pass, pass2, status)) return;
    button.disabled = true;
    status.textContent = 'Restoring…';
    try {
      await post('/api/setup/restore', {backup_path: file.value.trim(), recovery_key: key.value,
                                        passphrase: pass.value, server: server.value.trim()});
      pass.value = pass2.value = key.value = '';
      onOpened(await get('/api/state'));
    } catch (err) {
      key.value = '';
      showError(status, err);
    } finally {
      button.disabled = false;
    }
  });
  replace(main, form);
  file.focus();
}
