// A yes/no question in a native <dialog> (keyboard and screen readers handle
// it; window.confirm would block the page and cannot be styled or labelled).
import {h} from './dom.js';

// Resolves true when the person chose `yes`, false on No or Escape.
export function confirmAction(title, text, yes) {
  return new Promise((resolve) => {
    const dialog = h('dialog', {class: 'confirm', 'aria-labelledby': 'confirm-title',
                                'aria-describedby': 'confirm-text'});
    let answer = false;
    const ok = h('button', {type: 'button', class: 'primary danger',
                            onclick: () => { answer = true; dialog.close(); }}, yes);
    const no = h('button', {type: 'button', onclick: () => dialog.close()}, 'No, keep it');
    dialog.append(h('h2', {id: 'confirm-title'}, title), h('p', {id: 'confirm-text'}, text),
                  h('div', {class: 'actions'}, ok, no));
    dialog.addEventListener('close', () => { dialog.remove(); resolve(answer); });
    document.body.appendChild(dialog);
    dialog.showModal();
    no.focus();
  });
}
