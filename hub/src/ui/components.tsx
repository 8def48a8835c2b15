import type { Child } from "hono/jsx";

export function Badge(props: { state: string; children?: Child; id?: string }) {
  return <span id={props.id} class={`badge ${props.state}`}>{props.children ?? props.state}</span>;
}

/** "12 s ago" (with the exact time on hover): what an operator scanning a table wants. */
export function Ago(props: { at: string | null; now: Date }) {
  if (!props.at) return <span class="muted">never</span>;
  const s = Math.max(0, Math.round((props.now.getTime() - Date.parse(props.at)) / 1000));
  const text = s < 90 ? `${s} s ago` : s < 5400 ? `${Math.round(s / 60)} min ago` : s < 129_600 ? `${Math.round(s / 3600)} h ago` : `${Math.round(s / 86_400)} d ago`;
  return <time datetime={props.at} title={props.at}>{text}</time>;
}

export function Labels(props: { labels: Record<string, string> }) {
  const entries = Object.entries(props.labels);
  if (!entries.length) return <span class="muted">none</span>;
  return <span class="labels">{entries.map(([k, v]) => <code>{k}={v}</code>)}</span>;
}

/**
 * A telemetry sparkline as inline SVG (no script, no library): the series scaled into a 200x40
 * box, oldest on the left. One point draws a flat line so a new site still shows something.
 */
export function Sparkline(props: { values: number[]; label: string }) {
  const v = props.values;
  if (!v.length) return <p class="muted">No telemetry yet.</p>;
  const min = Math.min(...v), max = Math.max(...v);
  const span = max - min || 1;
  const pts = (v.length === 1 ? [v[0]!, v[0]!] : v).map((x, i, a) => `${((i / (a.length - 1)) * 200).toFixed(1)},${(38 - ((x - min) / span) * 36).toFixed(1)}`);
  return (
    <figure style="margin:0">
      <svg class="spark" viewBox="0 0 200 40" preserveAspectRatio="none" role="img" aria-label={`${props.label}: ${v.length} samples`}>
        <polyline points={pts.join(" ")} fill="none" stroke="#2456c6" stroke-width="1.5" vector-effect="non-scaling-stroke" />
      </svg>
      <figcaption class="muted">{props.label}: last {fmt(v[v.length - 1]!)}, min {fmt(min)}, max {fmt(max)} ({v.length} samples)</figcaption>
    </figure>
  );
}

export function fmt(n: number): string {
  if (Math.abs(n) >= 1e9) return `${(n / 1e9).toFixed(2)} G`;
  if (Math.abs(n) >= 1e6) return `${(n / 1e6).toFixed(1)} M`;
  if (Math.abs(n) >= 1e4) return `${(n / 1e3).toFixed(1)} k`;
  return Number.isInteger(n) ? String(n) : n.toFixed(2);
}
