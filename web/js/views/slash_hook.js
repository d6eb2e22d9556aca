// The composer's door to slash commands: slash.js (autocomplete, invoking, answers) loads with the
// first `/` typed in a composer, so the first page load does not carry it.

let loading = null;

export function slashHook(composer) {
  let real = null;
  const load = () => {
    loading ||= import('./slash.js');
    loading.then((m) => {
      real ||= new m.Slash(composer);
      real.update();
    }).catch(() => {});
  };
  return {
    get real() {
      return real;
    },
    /** On input: true when slash commands own the autocomplete. */
    update() {
      if (real) return real.update();
      if (!composer.input.value.startsWith('/')) return false;
      load();
      return true;
    },
    /** On send: true when the text was a command (until slash.js is loaded, none is known). */
    submit() {
      return real ? real.submit() : false;
    },
    pick(option) {
      return real ? real.pick(option) : false;
    },
  };
}
