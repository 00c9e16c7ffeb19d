// What the page knows about this launch, in memory only (never in browser
// storage): the profile's state and the person's choices for this launch.
export const session = {
  state: 'locked',   // "setup" | "locked" | "open"
  handle: '',
  role: 'client',
  server: '',
  read_receipts: true,
  auto_lock_minutes: 0,
  auto_lock_ms: 0,        // 0 or null: no idle auto-lock
  notify: false,          // desktop notifications on arrival
  notifyDetails: false,   // name the sender and show the text in them
  cache: new Map(),       // short-lived lookups (e.g. a therapist's policy)

  // Forgets everything derived from the profile (on lock).
  clear() {
    this.cache.clear();
    this.handle = '';
  },
};
