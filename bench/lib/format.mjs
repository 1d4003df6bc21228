// Number formats shared by the tables, the target sentences and the chart.
export const ratioText = (value) => (Number.isFinite(value) ? `${value.toFixed(2)}×` : '–');
export const rpsText = (value) => (Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : '–');
export const msText = (value) => (Number.isFinite(value) ? value.toFixed(value < 10 ? 2 : 1) : '–');
export const mibText = (value) => (Number.isFinite(value) ? value.toFixed(0) : '–');
export const percentText = (value) => (Number.isFinite(value) ? `${value >= 0 ? '+' : ''}${value.toFixed(1)} %` : '–');
export const isSuccess = (status) => Number(status) >= 200 && Number(status) < 300;
/** `{"200": 5, "503": 2}` as `200: 5, 503: 2`; `failuresOnly` leaves the 2xx out. */
export const statusesText = (statuses, { failuresOnly = false } = {}) =>
  Object.entries(statuses)
    .filter(([status]) => !failuresOnly || !isSuccess(status))
    .map(([status, count]) => `${status}: ${rpsText(count)}`)
    .join(', ');
