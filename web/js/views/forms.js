// Accessible form pieces: labelled fields whose errors are announced and tied to the input.

import { h } from '../dom.js';

let seq = 0;

/** A labelled input; returns {row, input, setError}. */
export function field(label, attrs = {}, hint = '') {
  const id = `f${++seq}`;
  const errId = `${id}-err`;
  const hintId = hint ? `${id}-hint` : null;
  const input = h(attrs.multiline ? 'textarea' : 'input', {
    id,
    name: attrs.name,
    type: attrs.multiline ? undefined : attrs.type || 'text',
    autocomplete: attrs.autocomplete,
    required: attrs.required,
    minlength: attrs.minlength,
    maxlength: attrs.maxlength,
    inputmode: attrs.inputmode,
    pattern: attrs.pattern,
    placeholder: attrs.placeholder,
    value: attrs.value,
    rows: attrs.rows,
    'aria-describedby': [hintId, errId].filter(Boolean).join(' '),
  });
  const error = h('p', { class: 'field-error', id: errId, role: 'alert' });
  const row = h('div', { class: 'field' },
    h('label', { for: id }, label),
    input,
    hint ? h('p', { class: 'field-hint', id: hintId }, hint) : null,
    error);
  const setError = (message) => {
    error.textContent = message || '';
    if (message) input.setAttribute('aria-invalid', 'true');
    else input.removeAttribute('aria-invalid');
  };
  input.addEventListener('input', () => setError(''));
  return { row, input, setError };
}

/** Show an API error on the field it names, else on the form's banner; focus the culprit. */
export function showError(err, fields, banner) {
  const f = err.field && fields[err.field];
  if (f) {
    f.setError(err.message);
    f.input.focus();
    banner.textContent = '';
  } else {
    banner.textContent = err.message;
  }
}

export function banner() {
  return h('p', { class: 'form-banner', role: 'alert' });
}

export function submitButton(text) {
  return h('button', { type: 'submit', class: 'btn primary' }, text);
}

/** Disable a form's submit button while `work` runs. */
export async function busy(form, work) {
  const button = form.querySelector('button[type=submit]');
  if (button) {
    button.disabled = true;
    button.setAttribute('aria-busy', 'true');
  }
  try {
    return await work();
  } finally {
    if (button) {
      button.disabled = false;
      button.removeAttribute('aria-busy');
    }
  }
}
