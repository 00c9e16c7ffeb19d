// Therapists: invites (create, show as code and QR, which are used); both
// roles: care links, and ending one.
import {get, post, enc} from './api.js';
import {h, replace, field, formatTime, statusLine, showError, showOk, svgImage, announce} from './dom.js';
import {session} from './session.js';
import {confirmAction} from './confirm.js';

export async function showInvites(main) {
  // The list may be unavailable (a server without invite listing: 501);
  // creating an invite still works.
  const data = await get('/api/invites').catch((err) => ({error: err}));
  const hours = h('select', {id: 'inv-hours'},
      [[24, '1 day'], [72, '3 days'], [168, '7 days']].map(([v, t]) =>
          h('option', {value: String(v), selected: v === 168}, t)));
  const status = statusLine('inv-status', 'alert');
  const created = h('section', {class: 'created', 'aria-live': 'polite'});
  const form = h('form', {class: 'card', 'aria-labelledby': 'inv-new-title'},
      h('h2', {id: 'inv-new-title'}, 'New invite'),
      h('p', {}, 'Hand the code over yourself — in person, on paper or by phone — not through Sotto.'),
      field('Valid for', hours),
      h('button', {type: 'submit', class: 'primary'}, 'Create invite'), status);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      const invite = await post('/api/invites', {valid_for_hours: Number(hours.value)});
      replace(created,
          h('h2', {}, 'Invite code'),
          h('p', {class: 'code', id: 'invite-code'}, invite.code),
          h('p', {}, 'Valid until ', formatTime(invite.expires_at_ms), '.'),
          invite.qr_svg ? svgImage(invite.qr_svg, 'QR code of the invite ' + invite.code) : null);
      announce('Invite created: ' + invite.code);
      refreshList(list);
    } catch (err) {
      showError(status, err);
    }
  });
  const list = h('div');
  if (data.error) replace(list, h('p', {class: 'list-error'}, 'The list is not available: ', data.error.message));
  else drawList(list, data.invites || []);
  replace(main, h('h1', {}, 'Invites'), form, created,
          h('h2', {id: 'inv-list-title'}, 'Invites from this device'), list);
}

async function refreshList(list) {
  try { drawList(list, (await get('/api/invites')).invites || []); } catch { /* shown next time */ }
}

function drawList(list, invites) {
  if (!invites.length) {
    replace(list, h('p', {}, 'None yet.'));
    return;
  }
  replace(list, h('div', {class: 'table-wrap'}, h('table', {'aria-labelledby': 'inv-list-title'},
      h('thead', {}, h('tr', {}, ['Code', 'Expires', 'Used'].map((t) => h('th', {scope: 'col'}, t)))),
      h('tbody', {}, invites.map((i) => h('tr', {},
          h('td', {class: 'code'}, i.code || '(made on another device)'), h('td', {}, formatTime(i.expires_at_ms)),
          h('td', {}, i.used ? 'used' + (i.used_by ? ` by ${i.used_by}` : '') : 'not used')))))));
}

export async function showLinks(main) {
  const data = await get('/api/links');
  const links = data.links || [];
  const status = statusLine('links-status', 'status');
  replace(main, h('h1', {id: 'links-title'}, 'Links'),
      links.length ? h('div', {class: 'table-wrap'}, h('table', {'aria-labelledby': 'links-title'},
          h('thead', {}, h('tr', {}, ['With', 'Since', 'Status', 'Actions'].map((t) => h('th', {scope: 'col'}, t)))),
          h('tbody', {}, links.map((l) => h('tr', {},
              h('td', {}, h('a', {href: '#/c/' + enc(l.peer)}, l.peer)),
              h('td', {}, formatTime(l.since_ms)),
              h('td', {}, l.active ? 'active' : `ended ${formatTime(l.ended_ms)}` +
                                               (l.ended_by ? ` by ${l.ended_by}` : '')),
              h('td', {}, l.active ? h('button', {type: 'button', class: 'small',
                  'aria-label': 'End link with ' + l.peer,
                  onclick: () => unlink(main, l.peer, status)}, 'End link') : null))))))
        : h('p', {}, session.role === 'therapist' ? 'No links yet: create an invite.' : 'No links yet.'),
      status);
}

// Ends a care link (`sotto unlink`), after asking.
async function unlink(main, peer, status) {
  const sure = await confirmAction(`End the link with ${peer}?`,
      `You and ${peer} can no longer write to each other. The messages so far stay on this ` +
      'device. A new invite is needed to link again.', 'End link');
  if (!sure) return;
  try {
    await post('/api/unlink', {peer});
    await showLinks(main);
    showOk(document.getElementById('links-status'), `The link with ${peer} has ended.`);
  } catch (err) {
    showError(status, err);
  }
}
