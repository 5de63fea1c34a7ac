// @ts-check
/** Drawing: the minute's table, the hour's chart (uPlot, loaded as a global), the top list. */

/** @typedef {import('./live-state.js').CustomerTotals} CustomerTotals */

const number = new Intl.NumberFormat('en');

/** @param {string} id */
function element(id) {
  const found = document.getElementById(id);
  if (!found) throw new Error(`#${id} is missing from the page`);
  return found;
}

export function showSignedIn(/** @type {boolean} */ signedIn) {
  element('sign-in').hidden = signedIn;
  element('live').hidden = !signedIn;
  element('sign-out').hidden = !signedIn;
}

/** @param {string} state @param {string} text */
export function showStatus(state, text) {
  const status = element('status');
  status.dataset.state = state;
  status.textContent = text;
}

export function showSignInError(/** @type {string} */ text) {
  element('sign-in-error').textContent = text;
}

/**
 * One row per customer, rows kept (and flashed when their numbers change) so the table
 * does not flicker at every update.
 * @param {CustomerTotals[]} rows @param {number} nowMs
 */
export function renderMinute(rows, nowMs) {
  const start = new Date(Math.floor(nowMs / 60_000) * 60_000);
  element('minute-label').textContent = start.toISOString().slice(11, 16) + ' UTC';
  const body = /** @type {HTMLTableSectionElement} */ (element('minute').querySelector('tbody'));
  /** @type {Map<string, HTMLTableRowElement>} */
  const existing = new Map();
  for (const tr of body.rows) existing.set(tr.dataset.customer ?? '', tr);
  rows.forEach((row, i) => {
    let tr = existing.get(row.customerId);
    existing.delete(row.customerId);
    if (!tr) {
      tr = document.createElement('tr');
      tr.dataset.customer = row.customerId;
      for (const field of ['customer', 'calls', 'tokens']) {
        const td = tr.insertCell();
        td.dataset.field = field;
        if (field !== 'customer') td.className = 'num';
      }
      tr.cells[0].textContent = row.customerId;
    }
    const calls = number.format(row.calls);
    if (tr.cells[1].textContent !== calls) {
      tr.classList.remove('changed');
      void tr.offsetWidth; // restart the flash
      tr.classList.add('changed');
    }
    tr.cells[1].textContent = calls;
    tr.cells[2].textContent = number.format(row.tokens);
    if (body.rows[i] !== tr) body.insertBefore(tr, body.rows[i] ?? null);
  });
  for (const tr of existing.values()) tr.remove();
  element('minute-empty').hidden = rows.length > 0;
}

/** @param {CustomerTotals[]} rows */
export function renderTop(rows) {
  const list = element('top');
  const most = Math.max(1, ...rows.map((r) => r.calls));
  list.replaceChildren(
    ...rows.map((row) => {
      const li = document.createElement('li');
      li.dataset.customer = row.customerId;
      li.textContent = `${row.customerId} · ${number.format(row.calls)} calls · ${number.format(row.tokens)} tokens`;
      const bar = document.createElement('div');
      bar.className = 'bar';
      bar.style.width = `${(100 * row.calls) / most}%`;
      li.append(bar);
      return li;
    }),
  );
}

export function showChartNote(/** @type {string} */ text) {
  element('chart-note').textContent = text;
}

export class HourChart {
  /** @type {uPlot | undefined} */
  #plot;

  /** @param {{ minutes: number[], calls: number[], tokens: number[] }} series */
  render(series) {
    /** @type {uPlot.AlignedData} */
    const data = [series.minutes, series.calls, series.tokens];
    if (this.#plot) return this.#plot.setData(data);
    const host = element('chart');
    this.#plot = new uPlot(
      {
        width: host.clientWidth || 600,
        height: 240,
        scales: { x: { time: true } },
        series: [
          {},
          {
            label: 'Calls',
            scale: 'calls',
            stroke: '#2563eb',
            width: 2,
            fill: 'rgba(37,99,235,0.08)',
          },
          { label: 'Tokens', scale: 'tokens', stroke: '#0f9d58', width: 2 },
        ],
        axes: [
          {},
          { scale: 'calls', label: 'calls', size: 55 },
          { scale: 'tokens', side: 1, label: 'tokens', size: 75, grid: { show: false } },
        ],
      },
      data,
      host,
    );
    window.addEventListener('resize', () =>
      this.#plot?.setSize({ width: host.clientWidth || 600, height: 240 }),
    );
  }
}
