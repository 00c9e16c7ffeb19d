// The desk's HTTP/JSON API (docs/DESK.md). The session cookie is HttpOnly and
// SameSite=Strict: fetch sends it on its own; the page never sees it.

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.error) || `the desk answered HTTP ${status}`);
    this.status = status;
    this.code = body && body.code;
    this.locked = status === 423 || Boolean(body && body.locked);
  }
}

let onLocked = () => {};
// `fn` runs when any call finds the profile locked (423).
export function setLockedHandler(fn) { onLocked = fn; }

// `background`: the page makes this request by itself (a refetch after a live
// event, a timer), not because the person did something. The desk then does
// not count it as activity for the idle auto-lock, so a screen left open that
// keeps receiving messages still locks (docs/DESK.md, "Idle auto-lock").
export async function api(method, path, body, {background = false} = {}) {
  const init = {method, headers: {}, credentials: 'same-origin', cache: 'no-store'};
  if (background) init.headers['X-Sotto-Background'] = '1';
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  let data = null;
  const text = await response.text();
  if (text) {
    try { data = JSON.parse(text); } catch { data = null; }
  }
  if (!response.ok) {
    const err = new ApiError(response.status, data);
    if (err.locked && !path.startsWith('/api/unlock')) onLocked();
    throw err;
  }
  return data || {};
}

export const get = (path) => api('GET', path);
// A GET the page makes by itself (see `background` above).
export const getInBackground = (path) => api('GET', path, undefined, {background: true});
export const post = (path, body) => api('POST', path, body === undefined ? {} : body);
export const put = (path, body) => api('PUT', path, body);
export const del = (path) => api('DELETE', path);
export const enc = encodeURIComponent;
