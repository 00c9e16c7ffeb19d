// The compose form: a short text or a letter (subject, multi-line body), now or
// later, autosaved as a draft through /api/drafts (kept encrypted in the
// profile, never in the browser). Shows the expected reply time and away note
// before sending (from the therapist's policy) and after (the send result),
// and the "not for emergencies" notice, always.
import {get, post, put, del, enc} from './api.js';
import {h, field, formatTime, statusLine, showError, showOk, debounce, randomId,
        localInputToMs, msToLocalInput, announce} from './dom.js';
import {session} from './session.js';

const DEFAULT_EMERGENCY = 'Sotto is not for emergencies. If you are in crisis or in danger, ' +
    'call your local emergency number.';
const TEXT_LIMIT = 4096;

async function policyFor(peer) {
  const key = 'policy:' + peer;
  if (!session.cache.has(key)) {
    session.cache.set(key, get('/api/policy?therapist=' + enc(peer)).catch(() => null));
  }
  return session.cache.get(key);
}

function awayNow(p, now) {
  return p && p.away_until_ms && now < p.away_until_ms && (!p.away_from_ms || now >= p.away_from_ms);
}

// The ResponsePolicy fields of a `policy --json` entry, as PUT /api/policy and
// the preview take them.
export function policyFields(p) {
  return {
    time_zone: p.time_zone || 'UTC', working_days: p.working_days || [],
    day_start: p.day_start || '09:00', day_end: p.day_end || '17:00',
    reply_window_minutes: p.reply_window_minutes || 0,
    away_from_ms: p.away_from_ms || 0, away_until_ms: p.away_until_ms || 0,
    away_note: p.away_note || '',
  };
}

// The expectation before sending: due time from the therapist's policy.
async function expectationBefore(peer, el) {
  const data = await policyFor(peer);
  const policy = data && (data.policies || []).find((p) => p.therapist === peer);
  if (!policy) return data;
  let due = null;
  try {
    due = (await post('/api/policy/preview', policyFields(policy))).due_ms;
  } catch { due = null; }
  el.replaceChildren();
  if (due) el.append(`A message sent now would be due for a reply by ${formatTime(due)}.`);
  if (policy.reply_window_minutes) {
    el.append(` ${peer} replies within ${Math.round(policy.reply_window_minutes / 60 * 10) / 10}` +
              ' business hours.');
  }
  if (awayNow(policy, Date.now())) {
    el.append(h('br'), `Away until ${formatTime(policy.away_until_ms)}`,
              policy.away_note ? `: ${policy.away_note}` : '.');
  }
  return data;
}

function expectationAfter(result) {
  const m = result.message || {};
  const lines = [];
  if (m.state === 'scheduled') {
    lines.push(`Scheduled for ${formatTime(m.server_time_ms)}. You can cancel it until then.`);
  } else {
    lines.push('Sent.');
  }
  const x = result.expectation;
  if (x && x.due_ms) lines.push(`Expect a reply by ${formatTime(x.due_ms)}.`);
  if (x && x.away_note) {
    lines.push((x.away_until_ms ? `Away until ${formatTime(x.away_until_ms)}: ` : '') +
               x.away_note);
  }
  if (result.team) lines.push(`Sent to your care team: ${result.team.join(', ')}.`);
  for (const n of result.notices || []) lines.push(n.text);
  return lines.join(' ');
}

// `parent(id)` finds a message of this conversation (for a reply's draft).
export async function createComposer({to, onSent, parent = () => null}) {
  const uid = randomId().slice(0, 6);
  let draftId = randomId();
  let draftSaved = false;  // whether draftId exists in the profile
  let replying = null;
  const kindText = h('input', {type: 'radio', name: 'kind-' + uid, id: 'kind-text-' + uid,
                               value: 'text', checked: true});
  const kindLetter = h('input', {type: 'radio', name: 'kind-' + uid, id: 'kind-letter-' + uid,
                                 value: 'letter'});
  const kinds = h('fieldset', {class: 'kinds'}, h('legend', {}, 'Kind'),
      kindText, h('label', {for: kindText.id}, 'Short text'),
      kindLetter, h('label', {for: kindLetter.id}, 'Letter'));
  const subject = h('input', {id: 'subject-' + uid, maxlength: '200', autocomplete: 'off'});
  const subjectField = field('Subject', subject);
  const body = h('textarea', {id: 'body-' + uid, rows: '5', required: true});
  const bodyLabel = h('label', {for: body.id}, 'Your message');
  // A client's short text to every therapist of the care team (`sotto send --team`).
  const team = h('input', {type: 'checkbox', id: 'team-' + uid});
  const teamField = h('div', {class: 'field inline'}, team,
      h('label', {for: team.id}, 'Send to my whole care team'));
  const later = h('input', {type: 'checkbox', id: 'later-' + uid});
  const at = h('input', {type: 'datetime-local', id: 'at-' + uid});
  const atField = field('Send at', at, 'Your local time.');
  const replyNote = h('p', {class: 'replying', hidden: true});
  const cancelReply = h('button', {type: 'button', class: 'small', hidden: true}, 'Write a new message instead');
  const before = h('p', {class: 'expect', id: 'expect-' + uid});
  const emergency = h('aside', {class: 'emergency', role: 'note', 'aria-label': 'Not for emergencies'},
                      DEFAULT_EMERGENCY);
  const saved = h('span', {class: 'saved hint'});
  const status = statusLine('send-status-' + uid, 'status');
  const send = h('button', {type: 'submit', class: 'primary'}, 'Send');
  const form = h('form', {class: 'compose', 'aria-labelledby': 'compose-title-' + uid},
      h('h2', {id: 'compose-title-' + uid}, 'Write to ', to),
      emergency, before, replyNote, cancelReply, kinds, subjectField,
      h('div', {class: 'field'}, bodyLabel, body),
      teamField,
      h('div', {class: 'field inline'}, later, h('label', {for: later.id}, 'Send later')),
      atField,
      h('div', {class: 'actions'}, send, saved),
      status);

  const kind = () => (replying || kindLetter.checked ? 'letter' : 'text');
  const sync = () => {
    subjectField.hidden = kind() !== 'letter' || Boolean(replying);
    kinds.hidden = Boolean(replying);
    atField.hidden = !later.checked;
    teamField.hidden = session.role !== 'client' || kind() !== 'text' || Boolean(replying);
    if (teamField.hidden) team.checked = false;
    bodyLabel.textContent = kind() === 'letter' ? 'Your letter' : 'Your message';
    replyNote.hidden = cancelReply.hidden = !replying;
    if (replying) {
      replyNote.textContent = 'Replying in the thread of ' +
          (replying.subject ? `“${replying.subject}”` : 'a letter') + '.';
    }
    if (later.checked && !at.value) at.value = msToLocalInput(Date.now() + 3600000);
    at.min = msToLocalInput(Date.now());
  };

  const draft = () => ({to, kind: kind(), subject: subject.value, body: body.value,
                        in_reply_to: replying ? replying.id : ''});
  const save = debounce(async () => {
    if (!body.value && !subject.value) return;
    try {
      await put('/api/drafts/' + draftId, draft());
      draftSaved = true;
      saved.textContent = 'Draft saved ' + formatTime(Date.now());
    } catch (err) {
      saved.textContent = 'The draft was not saved: ' + err.message;
    }
  }, 800);

  const restore = (d) => {
    draftId = d.id;
    draftSaved = true;
    if (d.kind === 'letter') kindLetter.checked = true; else kindText.checked = true;
    subject.value = d.subject || '';
    body.value = d.body || '';
    saved.textContent = 'Draft from ' + formatTime(d.updated_ms);
  };

  for (const el of [subject, body]) el.addEventListener('input', () => { save(); });
  for (const el of [kindText, kindLetter, later, team]) el.addEventListener('change', () => { sync(); save(); });
  cancelReply.addEventListener('click', () => { replying = null; sync(); body.focus(); });

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    save.cancel();
    const atMs = later.checked ? localInputToMs(at.value) : 0;
    if (later.checked && atMs <= Date.now()) {
      showError(status, 'Choose a time in the future to send later.');
      at.focus();
      return;
    }
    if (kind() === 'text' && new TextEncoder().encode(body.value).length > TEXT_LIMIT) {
      showError(status, 'A text holds up to 4096 bytes: choose Letter for anything longer.');
      return;
    }
    // The desk deletes a saved draft in the same local write as the message.
    const extra = {...(atMs ? {at_ms: atMs} : {}), ...(draftSaved ? {draft_id: draftId} : {})};
    send.disabled = true;
    try {
      let result;
      if (team.checked && kind() === 'text' && !replying) {
        // One message per therapist; the draft goes once they are all sent.
        const sent = await post('/api/send-team', {text: body.value, ...(atMs ? {at_ms: atMs} : {})});
        if (draftSaved) await del('/api/drafts/' + draftId).catch(() => {});
        const results = sent.results || [];
        result = {...(results.find((r) => r.message && r.message.peer === to) || results[0] || {}),
                  team: results.map((r) => r.message && r.message.peer).filter(Boolean)};
      } else if (replying) {
        result = await post('/api/reply', {id: replying.id, body: body.value, ...extra});
      } else if (kind() === 'letter') {
        result = await post('/api/letter', {to, subject: subject.value, body: body.value, ...extra});
      } else {
        result = await post('/api/send', {to, text: body.value, ...extra});
      }
      draftId = randomId();
      draftSaved = false;
      body.value = subject.value = '';
      replying = null;
      later.checked = false;
      team.checked = false;
      saved.textContent = '';
      sync();
      const text = expectationAfter(result);
      showOk(status, text);
      announce(text);
      if (onSent) onSent(result);
    } catch (err) {
      // The library's sentence names `sotto` commands; say it the desk's way.
      showError(status, /safety number changed/.test(err.message || '')
          ? `${to}'s safety number changed, so nothing was sent. Open “Safety number” above, ` +
            `compare it with ${to} in person or by video, and trust the new number to write again.`
          : err);
      save();
    } finally {
      send.disabled = false;
    }
  });

  sync();
  const [, drafts] = await Promise.all([
    expectationBefore(to, before).then((data) => {
      if (data && data.emergency_note) emergency.textContent = data.emergency_note;
    }).catch(() => {}),
    get('/api/drafts').catch(() => ({drafts: []})),
  ]);
  // The newest draft to this person: a new message, or a reply whose letter
  // is still in the conversation (a reply written at 2 a.m. comes back too).
  const mine = (drafts.drafts || []).find((d) => d.to === to &&
      (!d.in_reply_to || parent(d.in_reply_to)));
  if (mine) {
    if (mine.in_reply_to) replying = parent(mine.in_reply_to);
    restore(mine);
    sync();
  }

  return {
    element: form,
    focus: () => body.focus(),
    replyTo(message) {
      replying = message;
      sync();
      body.focus();
    },
  };
}
