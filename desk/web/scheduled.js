// Messages waiting to be sent later, soonest first, each with Cancel.
import {get, post, enc} from './api.js';
import {h, replace, formatTime, statusLine, showError, showOk, announce} from './dom.js';

export async function showScheduled(main) {
  const data = await get('/api/scheduled');
  const messages = data.messages || [];
  const status = statusLine('scheduled-status', 'status');
  const list = h('ul', {class: 'scheduled plain', 'aria-labelledby': 'scheduled-title'});
  for (const m of messages) {
    const what = m.kind === 'letter' ? `Letter “${m.subject || ''}”` : 'Text';
    const cancel = h('button', {type: 'button', class: 'small',
                                'aria-label': `Cancel the message to ${m.peer} at ${formatTime(m.server_time_ms)}`},
                     'Cancel');
    cancel.addEventListener('click', async () => {
      cancel.disabled = true;
      try {
        await post('/api/cancel', {id: m.id});
        announce('Cancelled.');
        await showScheduled(main);
        showOk(document.getElementById('scheduled-status'), 'Cancelled the message to ' + m.peer + '.');
      } catch (err) {
        cancel.disabled = false;
        showError(status, err);
      }
    });
    list.appendChild(h('li', {class: 'card', 'data-id': m.id},
        h('p', {class: 'meta'}, h('strong', {}, formatTime(m.server_time_ms)), ' to ',
          h('a', {href: '#/c/' + enc(m.peer)}, m.peer), ' · ', what),
        h('div', {class: 'text'}, m.text || ''),
        cancel));
  }
  replace(main, h('h1', {id: 'scheduled-title'}, 'Scheduled messages'),
          messages.length ? list : h('p', {}, 'Nothing is scheduled.'), status);
}
