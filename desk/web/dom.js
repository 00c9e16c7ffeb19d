// Small DOM helpers. Every piece of text goes in through createTextNode or
// textContent: nothing the server or a peer wrote is ever parsed as HTML.

// h('p', {class: 'x', onclick: fn}, 'text', child...) -> Element.
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2), value);
    } else if (key === 'class') {
      el.className = value;
    } else if (key === 'text') {
      el.textContent = String(value);
    } else if (key in el && typeof value !== 'string') {
      el[key] = value;  // properties such as checked, value (booleans, numbers)
    } else {
      el.setAttribute(key, value === true ? '' : String(value));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) {
      append(el, child);
    } else if (child instanceof Node) {
      el.appendChild(child);
    } else {
      el.appendChild(document.createTextNode(String(child)));
    }
  }
}

// Replaces everything inside `el`.
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

const dateTime = new Intl.DateTimeFormat(undefined, {
  weekday: 'short', day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit',
});

export function formatTime(ms) {
  if (!ms) return '';
  return dateTime.format(new Date(ms));
}

// "2d 3h", "6h 41m", "5m", "just now".
export function formatDuration(ms) {
  if (ms < 60000) return 'less than a minute';
  const minutes = Math.floor(ms / 60000);
  const days = Math.floor(minutes / 1440);
  const hours = Math.floor((minutes % 1440) / 60);
  const mins = minutes % 60;
  if (days > 0) return `${days}d ${hours}h`;
  if (hours > 0) return `${hours}h ${mins}m`;
  return `${mins}m`;
}

// <input type=datetime-local> value (local time) <-> Unix ms.
export function localInputToMs(value) {
  if (!value) return 0;
  const ms = new Date(value).getTime();
  return Number.isNaN(ms) ? 0 : ms;
}

export function msToLocalInput(ms) {
  if (!ms) return '';
  const d = new Date(ms);
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}` +
         `T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

// A QR code from the API as an <img>: the SVG travels as a data: URL, so no
// markup from the server is ever inserted into this document.
export function svgImage(svg, alt) {
  const bytes = new TextEncoder().encode(svg || '');
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return h('img', {class: 'qr', alt, src: 'data:image/svg+xml;base64,' + btoa(binary)});
}

// 16 random hex digits (draft ids are chosen by the page).
export function randomId() {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

let liveTimer = 0;
// Says `text` to screen readers through the polite live region.
export function announce(text) {
  const live = document.getElementById('live');
  live.textContent = '';
  clearTimeout(liveTimer);
  liveTimer = setTimeout(() => { live.textContent = text; }, 50);
}

export function debounce(fn, ms) {
  let timer = 0;
  const wrapped = (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
  wrapped.flush = (...args) => { clearTimeout(timer); fn(...args); };
  wrapped.cancel = () => clearTimeout(timer);
  return wrapped;
}

// A form field: <label for=id>text</label> followed by the control.
export function field(labelText, control, hint) {
  const hintEl = hint ? h('span', {class: 'hint', id: control.id + '-hint'}, hint) : null;
  if (hintEl) control.setAttribute('aria-describedby', hintEl.id);
  return h('div', {class: 'field'}, h('label', {for: control.id}, labelText), control, hintEl);
}

// A status line for errors (role=alert) or results (role=status).
export function statusLine(id, kind) {
  return h('p', {id, class: 'status', role: kind === 'alert' ? 'alert' : 'status'});
}

export function showError(el, err) {
  el.classList.add('error');
  el.textContent = err && err.message ? err.message : String(err);
}

// A new passphrase typed twice: false (and says so in `status`, with the
// second field focused) when the two differ.
export function passphrasesMatch(pass, pass2, status) {
  if (pass.value === pass2.value) return true;
  showError(status, 'The two passphrases differ: type the same one twice.');
  pass2.focus();
  return false;
}

export function showOk(el, text) {
  el.classList.remove('error');
  el.textContent = text;
}

// Runs `fn` now if the page is on screen, else once it is shown again.
// Background work must not run for a page nobody is looking at: marking read
// tells the sender it was read. (It is sent as background, api.js, so it does
// not keep the profile's idle auto-lock from firing either way.)
export function whenVisible(fn) {
  if (document.visibilityState === 'visible') return fn();
  const shown = () => {
    if (document.visibilityState !== 'visible') return;
    document.removeEventListener('visibilitychange', shown);
    fn();
  };
  document.addEventListener('visibilitychange', shown);
}
