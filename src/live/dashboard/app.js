// @ts-check
import { Api, Unauthorized } from './api.js';
import { LiveState } from './live-state.js';
import { LiveStream } from './stream.js';
import {
  HourChart,
  renderMinute,
  renderTop,
  showChartNote,
  showSignedIn,
  showSignInError,
  showStatus,
} from './view.js';

/** The live page: sign in, read the last hour, then follow the stream. */

const HOUR = 3_600_000;

const api = new Api();
const state = new LiveState();
const chart = new HourChart();
/** @type {LiveStream | undefined} */
let stream;
/** Stream events that arrive while the history loads; applied on top of it. */
/** @type {import('./live-state.js').Envelope[] | null} */
let waiting = null;
let dirty = true;

const STATUS_TEXT = {
  live: 'live',
  connecting: 'connecting…',
  'signed-out': 'signed out',
  error: 'error',
};

async function reload() {
  waiting = [];
  try {
    const now = Date.now();
    const history = await api.history(now - HOUR - 60_000, now + 60_000);
    state.load(history.buckets);
    showChartNote(
      history.truncated ? 'Too many windows in the last hour: the chart shows part of it.' : '',
    );
  } catch (error) {
    if (error instanceof Unauthorized) return signOut(error.message);
    showChartNote('The last hour could not be read; showing the stream only.');
  }
  for (const envelope of waiting ?? []) state.apply(envelope);
  waiting = null;
  dirty = true;
}

function onEvent(/** @type {import('./live-state.js').Envelope} */ envelope) {
  if (waiting) waiting.push(envelope);
  else state.apply(envelope);
  dirty = true;
}

function signOut(/** @type {string} */ reason = '') {
  stream?.close();
  stream = undefined;
  api.signOut();
  showSignedIn(false);
  showStatus('signed-out', STATUS_TEXT['signed-out']);
  showSignInError(reason);
}

let minute = 0;

/** Redraws at most once a second, and every second (the current minute moves on). */
function draw() {
  const now = Date.now();
  if (Math.floor(now / 60_000) !== minute) {
    minute = Math.floor(now / 60_000);
    dirty = true; // the hour's window has moved by a minute
  }
  state.prune(now);
  renderMinute(state.currentMinute(now), now);
  if (dirty) {
    chart.render(state.perMinute(now));
    renderTop(state.top(now));
    dirty = false;
  }
}

const form = /** @type {HTMLFormElement} */ (document.getElementById('sign-in-form'));
form.addEventListener('submit', (submit) => {
  submit.preventDefault();
  const input = /** @type {HTMLInputElement} */ (form.elements.namedItem('apiKey'));
  const key = input.value.trim();
  void (async () => {
    try {
      await api.signIn(key);
    } catch (error) {
      return showSignInError(error instanceof Error ? error.message : 'Sign-in failed.');
    }
    input.value = '';
    showSignInError('');
    showSignedIn(true);
    stream = new LiveStream(api, {
      onEvent,
      onReset: () => void reload(),
      onStatus: (status, detail) => {
        if (status === 'signed-out') return signOut(detail);
        showStatus(status, STATUS_TEXT[status]);
      },
    });
    await stream.open();
  })();
});

document.getElementById('sign-out')?.addEventListener('click', () => signOut());
setInterval(draw, 1000);
