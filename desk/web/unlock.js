// The unlock page (a locked profile) and setup (a new profile joining with an
// invite).
import {post} from './api.js';
import {h, replace, field, statusLine, showError, passphrasesMatch} from './dom.js';
import {showJoin} from './devices.js';
import {showRestore} from './backup.js';

export function showUnlock(main, onOpened) {
  const pass = h('input', {id: 'passphrase', type: 'password', autocomplete: 'current-password',
                           required: true});
  const status = statusLine('unlock-status', 'alert');
  const form = h('form', {class: 'card narrow', 'aria-labelledby': 'unlock-title'},
      h('h1', {id: 'unlock-title'}, 'Sotto is locked'),
      h('p', {}, 'Enter your passphrase to open your messages on this device.'),
      field('Passphrase', pass),
      h('button', {type: 'submit', class: 'primary'}, 'Unlock'),
      status);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    status.textContent = '';
    try {
      const state = await post('/api/unlock', {passphrase: pass.value});
      pass.value = '';
      onOpened(state);
    } catch (err) {
      pass.value = '';
      showError(status, err);
      pass.focus();
    }
  });
  replace(main, form);
  pass.focus();
}

export function showSetup(main, onOpened) {
  const server = h('input', {id: 'setup-server', required: true, autocomplete: 'off',
                             placeholder: 'sotto.example.org:443'});
  const handle = h('input', {id: 'setup-handle', required: true, autocomplete: 'username'});
  const pass = h('input', {id: 'setup-passphrase', type: 'password', required: true,
                           autocomplete: 'new-password', minlength: '10'});
  const pass2 = h('input', {id: 'setup-passphrase2', type: 'password', required: true,
                            autocomplete: 'new-password'});
  const code = h('input', {id: 'setup-code', required: true, autocomplete: 'off',
                           spellcheck: 'false'});
  const status = statusLine('setup-status', 'alert');
  const button = h('button', {type: 'submit', class: 'primary'}, 'Join');
  const form = h('form', {class: 'card narrow', 'aria-labelledby': 'setup-title'},
      h('h1', {id: 'setup-title'}, 'Join with an invite'),
      h('p', {}, 'Your therapist gave you an invite code. Your keys are made on this device ' +
                 'and your messages can be read only here and by your therapist.'),
      field('Server', server, 'As your practice told you, e.g. sotto.example.org:443'),
      field('Your name on Sotto (handle)', handle),
      field('Passphrase', pass, 'At least 10 characters: several unrelated words work well.'),
      field('Passphrase again', pass2),
      field('Invite code', code, 'As typed: case, dashes and spaces do not matter.'),
      button, status,
      h('p', {class: 'alt'}, 'Already using Sotto on another device? ',
        h('button', {type: 'button', class: 'link', id: 'setup-join-device',
                     onclick: () => showJoin(main, onOpened, () => showSetup(main, onOpened))},
          'Add this device to an account you already use')),
      h('p', {class: 'alt'}, 'Have a backup? ',
        h('button', {type: 'button', class: 'link', id: 'setup-restore',
                     onclick: () => showRestore(main, onOpened, () => showSetup(main, onOpened))},
          'Restore from a backup')));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    status.textContent = '';
    if (!passphrasesMatch(pass, pass2, status)) return;
    button.disabled = true;
    status.textContent = 'Joining…';
    try {
      const state = await post('/api/setup', {server: server.value.trim(),
          handle: handle.value.trim(), passphrase: pass.value, invite_code: code.value.trim()});
      pass.value = pass2.value = '';
      onOpened(state);
    } catch (err) {
      showError(status, err);
    } finally {
      button.disabled = false;
    }
  });
  replace(main, form);
  server.focus();
}
