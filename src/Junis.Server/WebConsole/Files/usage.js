// Usage: the organization's requests and tokens per day (UTC), as a chart and as the table it is drawn from.
import uPlot from "./vendor/uPlot-1.6.32.esm.js";
import { call } from "./api.js";
import { el, heading, number, problem, table } from "./dom.js";

const day = date => date.toISOString().slice(0, 10);

/** Every day from `from` to `to`, both included, with the report's figures or zeros: a quiet day is a day too. */
function everyDay(report) {
  const byDay = new Map(report.data.map(line => [line.day, line]));
  const days = [];
  for (let at = new Date(`${report.from}T00:00:00Z`); day(at) <= report.to; at.setUTCDate(at.getUTCDate() + 1))
    days.push(byDay.get(day(at)) ?? { day: day(at), requests: 0, total_tokens: 0 });
  return days;
}

// Requests and tokens are counted, never fractions of one.
const wholeSteps = [1, 2, 5].flatMap(step => [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8].map(scale => step * scale)).sort((a, b) => a - b);

function chart(container, days) {
  const options = {
    width: Math.max(280, container.clientWidth),
    height: 280,
    scales: { x: { time: true }, tokens: {} },
    series: [
      {},
      { label: "Requests", stroke: "#1d5fbf", width: 2, fill: "rgba(29, 95, 191, 0.08)" },
      { label: "Tokens", stroke: "#b3471d", width: 2, scale: "tokens" },
    ],
    axes: [{}, { label: "Requests", incrs: wholeSteps }, { label: "Tokens", side: 1, scale: "tokens", incrs: wholeSteps, grid: { show: false } }],
  };
  const data = [
    days.map(d => Date.parse(`${d.day}T00:00:00Z`) / 1000),
    days.map(d => d.requests),
    days.map(d => d.total_tokens),
  ];
  const plot = new uPlot(options, data, container);
  const resize = new ResizeObserver(() => {
    if (container.isConnected) plot.setSize({ width: Math.max(280, container.clientWidth), height: 280 });
    else resize.disconnect();
  });
  resize.observe(container);
}

export async function render(view) {
  const to = new Date();
  const from = new Date(to);
  from.setUTCDate(from.getUTCDate() - 29);
  const form = el("form", { class: "filters", method: "post" },
    el("label", {}, "From", el("input", { name: "from", type: "date", value: day(from), required: true })),
    el("label", {}, "To", el("input", { name: "to", type: "date", value: day(to), required: true })),
    el("button", { type: "submit" }, "Show"));
  const results = el("div", { "aria-live": "polite" });
  view.append(heading("Usage"), form, results);

  const load = async () => {
    const data = new FormData(form);
    const report = await call("/usage", { query: { group_by: "day", from: data.get("from"), to: data.get("to") } });
    const plot = el("figure", { class: "chart" },
      el("figcaption", {}, `Requests and tokens per day (UTC), ${report.from} to ${report.to}`));
    const line = (label, l) => el("tr", {},
      el(label ? "th" : "td", label ? { scope: "row" } : {}, label ?? l.day),
      ["requests", "errors", "prompt_tokens", "completion_tokens", "total_tokens"].map(f => el("td", { class: "figure" }, number(l[f]))),
      el("td", { class: "figure" }, l.avg_time_to_first_token_ms === undefined ? "—" : `${number(l.avg_time_to_first_token_ms)} ms`));
    results.replaceChildren(plot,
      table("Usage per day", ["Day", "Requests", "Errors", "Prompt tokens", "Completion tokens", "Total tokens", "Time to first token"],
        [...report.data.map(l => line(null, l)), line("Total", report.total)]));
    chart(plot, everyDay(report));
  };
  form.addEventListener("submit", event => {
    event.preventDefault();
    load().catch(error => results.replaceChildren(problem(error)));
  });
  await load();
}
