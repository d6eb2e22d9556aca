// Light and dark themes: follow the system (prefers-color-scheme) until the user picks one.

const KEY = 'cryb-theme';

export function savedTheme() {
  try {
    return localStorage.getItem(KEY) || 'system';
  } catch {
    return 'system';
  }
}

export function effectiveTheme() {
  const saved = savedTheme();
  if (saved !== 'system') return saved;
  return matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
}

export function applyTheme(choice = savedTheme()) {
  try {
    if (choice === 'system') localStorage.removeItem(KEY);
    else localStorage.setItem(KEY, choice);
  } catch {
    // storage disabled: the choice lasts for this page only
  }
  const root = document.documentElement;
  if (choice === 'system') root.removeAttribute('data-theme');
  else root.setAttribute('data-theme', choice);
}

export function toggleTheme() {
  applyTheme(effectiveTheme() === 'dark' ? 'light' : 'dark');
  return effectiveTheme();
}
