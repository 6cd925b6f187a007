// Colours: day (light), night (dim, dark) and red (red on black: keeps a helmsman's night vision).
// "Automatic" follows the browser's prefers-color-scheme (light → day, dark → night) and changes
// with it; a manual choice is kept in local storage.

export type Theme = 'day' | 'night' | 'red';
export type ThemeChoice = 'auto' | Theme;

const KEY = 'halpi2-theme';
const CHOICES: ThemeChoice[] = ['auto', 'day', 'night', 'red'];

export function setupTheme(select: HTMLSelectElement): void {
  const dark = matchMedia('(prefers-color-scheme: dark)');
  const stored = localStorage.getItem(KEY) as ThemeChoice | null;
  let choice: ThemeChoice = stored && CHOICES.includes(stored) ? stored : 'auto';
  const apply = (): void => {
    const theme: Theme = choice === 'auto' ? (dark.matches ? 'night' : 'day') : choice;
    document.documentElement.dataset.theme = theme;
    document.documentElement.dataset.themeChoice = choice;
    select.value = choice;
    // The browser's own widgets (scrollbars, the select's list) in the theme's scheme.
    document.documentElement.style.colorScheme = theme === 'day' ? 'light' : 'dark';
    document.dispatchEvent(new CustomEvent('halpi2-theme', { detail: theme }));
  };
  dark.addEventListener('change', () => {
    if (choice === 'auto') apply();
  });
  select.addEventListener('change', () => {
    choice = CHOICES.includes(select.value as ThemeChoice) ? (select.value as ThemeChoice) : 'auto';
    localStorage.setItem(KEY, choice);
    apply();
  });
  apply();
}
