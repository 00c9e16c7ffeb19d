// Placeholder until the real page lands (helper deskui): shows the state.
const r = await fetch('/api/state');
document.getElementById('app').textContent = 'Sotto Desk: ' + (await r.json()).state;
