// The therapist's response policy: days, hours, time zone, reply window, away
// period and note, with a live preview of when a message sent now would be due.
import {get, put, post, enc} from './api.js';
import {h, replace, field, formatTime, statusLine, showError, showOk, debounce,
        localInputToMs, msToLocalInput} from './dom.js';
import {session} from './session.js';

const DAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];

function zones() {
  try { return Intl.supportedValuesOf('timeZone'); } catch { return ['UTC']; }
}

export async function showPolicy(main) {
  // No policy published yet (404): the form starts from the defaults.
  const data = await get('/api/policy?therapist=' + enc(session.handle)).catch((err) => {
    if (err.status === 404) return {policies: []};
    throw err;
  });
  const p = (data.policies || [])[0] || {};
  const tz = h('input', {id: 'pol-tz', list: 'pol-tz-list', autocomplete: 'off',
                         value: p.time_zone || Intl.DateTimeFormat().resolvedOptions().timeZone});
  const tzList = h('datalist', {id: 'pol-tz-list'}, zones().map((z) => h('option', {value: z})));
  const working = new Set(p.working_days || [1, 2, 3, 4, 5]);
  const dayBoxes = DAYS.map((name, i) => h('input', {type: 'checkbox', id: 'pol-day-' + (i + 1),
                                                      value: String(i + 1), checked: working.has(i + 1)}));
  const days = h('fieldset', {class: 'days'}, h('legend', {}, 'Working days'),
      dayBoxes.map((box, i) => h('span', {class: 'day'}, box, h('label', {for: box.id}, DAYS[i]))));
  const start = h('input', {type: 'time', id: 'pol-start', value: p.day_start || '09:00'});
  const end = h('input', {type: 'time', id: 'pol-end', value: p.day_end || '17:00'});
  const windowHours = h('input', {type: 'number', id: 'pol-window', min: '0.25', step: '0.25',
                                  value: String((p.reply_window_minutes || 480) / 60)});
  const awayFrom = h('input', {type: 'datetime-local', id: 'pol-away-from',
                               value: msToLocalInput(p.away_from_ms)});
  const awayUntil = h('input', {type: 'datetime-local', id: 'pol-away-until',
                                value: msToLocalInput(p.away_until_ms)});
  const note = h('textarea', {id: 'pol-note', rows: '3', maxlength: '500'});
  note.value = p.away_note || '';
  const preview = h('p', {id: 'pol-preview', class: 'preview-due', 'aria-live': 'polite'});
  const status = statusLine('pol-status', 'status');

  const policy = () => ({
    time_zone: tz.value.trim(),
    working_days: dayBoxes.filter((b) => b.checked).map((b) => Number(b.value)),
    day_start: start.value,
    day_end: end.value,
    reply_window_minutes: Math.round(Number(windowHours.value) * 60),
    away_from_ms: localInputToMs(awayFrom.value),
    away_until_ms: localInputToMs(awayUntil.value),
    away_note: note.value,
  });
  const refresh = debounce(async () => {
    try {
      const {due_ms: due} = await post('/api/policy/preview', policy());
      preview.classList.remove('error');
      preview.textContent = `A message sent now would be due ${formatTime(due)}.`;
    } catch (err) {
      showError(preview, err);
    }
  }, 300);

  const form = h('form', {class: 'policy', 'aria-labelledby': 'policy-title'},
      h('h1', {id: 'policy-title'}, 'Response policy'),
      h('p', {}, 'Clients see when to expect a reply. Due times count only working hours.'),
      preview,
      field('Time zone', tz, 'An IANA name such as Europe/Berlin.'), tzList,
      days,
      h('div', {class: 'row'}, field('Day starts', start), field('Day ends', end)),
      field('Reply window (business hours)', windowHours),
      h('fieldset', {}, h('legend', {}, 'Away'),
          h('div', {class: 'row'}, field('Away from', awayFrom), field('Away until', awayUntil)),
          field('Away note shown to clients', note)),
      h('div', {class: 'actions'}, h('button', {type: 'submit', class: 'primary'}, 'Save policy')),
      status);
  form.addEventListener('input', () => refresh());
  form.addEventListener('change', () => refresh());
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      await put('/api/policy', policy());
      session.cache.clear();
      showOk(status, 'The policy is saved and published.');
    } catch (err) {
      showError(status, err);
    }
  });
  replace(main, form);
  refresh.flush();
}
