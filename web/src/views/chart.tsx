import { ACTIVITY_SOURCES, type ActivitySource, type Bucket } from '../state/activity.js';
import { formatNumber, formatTime } from '../ui/format.js';

export const SOURCE_LABEL: Record<ActivitySource, string> = {
  history_sync: 'History sync',
  backfill: 'Backfill',
  recent_sync: 'Recent sync',
  realtime: 'Realtime',
};

const W = 900;
const H = 170;
const PAD_LEFT = 44;
const PAD_BOTTOM = 20;
const SLOTS = 30;

/**
 * Messages stored per time slot, stacked by source: a small SVG drawn here (styles from the
 * stylesheet, so the CSP needs no inline style). The last `SLOTS` slots up to now; the legend
 * carries the totals, for screen readers too.
 */
export function ActivityChart({ buckets, bucketMs, now }: { buckets: readonly Bucket[]; bucketMs: number; now: number }) {
  const end = Math.floor(now / bucketMs) * bucketMs;
  const start = end - (SLOTS - 1) * bucketMs;
  const bySlot = new Map(buckets.filter((b) => b.start >= start).map((b) => [b.start, b]));
  const totals: Record<ActivitySource, number> = { history_sync: 0, backfill: 0, recent_sync: 0, realtime: 0 };
  for (const b of buckets) for (const s of ACTIVITY_SOURCES) totals[s] += b.counts[s];
  let max = 1;
  for (const b of bySlot.values())
    max = Math.max(
      max,
      ACTIVITY_SOURCES.reduce((n, s) => n + b.counts[s], 0),
    );
  const plotW = W - PAD_LEFT;
  const plotH = H - PAD_BOTTOM;
  const barW = plotW / SLOTS;
  const summary = ACTIVITY_SOURCES.map((s) => `${SOURCE_LABEL[s]} ${formatNumber(totals[s])}`).join(', ');

  return (
    <figure class="chart">
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={`Messages stored since this page opened: ${summary}`}>
        <line class="axis" x1={PAD_LEFT} y1={plotH} x2={W} y2={plotH} />
        <text class="tick" x={PAD_LEFT - 6} y={10} text-anchor="end">
          {formatNumber(max)}
        </text>
        <text class="tick" x={PAD_LEFT - 6} y={plotH} text-anchor="end">
          0
        </text>
        <text class="tick" x={PAD_LEFT} y={H - 4}>
          {formatTime(new Date(start))}
        </text>
        <text class="tick" x={W} y={H - 4} text-anchor="end">
          {formatTime(new Date(end))}
        </text>
        {Array.from({ length: SLOTS }, (_, i) => {
          const b = bySlot.get(start + i * bucketMs);
          if (!b) return null;
          let y = plotH;
          return ACTIVITY_SOURCES.map((s) => {
            const n = b.counts[s];
            if (n === 0) return null;
            const h = Math.max(1, (n / max) * (plotH - 12));
            y -= h;
            return (
              <rect key={`${i}-${s}`} class={`bar ${s}`} x={PAD_LEFT + i * barW + 1} y={y} width={Math.max(1, barW - 2)} height={h}>
                <title>{`${SOURCE_LABEL[s]}: ${formatNumber(n)} at ${formatTime(new Date(b.start))}`}</title>
              </rect>
            );
          });
        })}
      </svg>
      <figcaption>
        <ul class="legend">
          {ACTIVITY_SOURCES.map((s) => (
            <li key={s}>
              <span class={`swatch ${s}`} aria-hidden="true" />
              {SOURCE_LABEL[s]}: <strong>{formatNumber(totals[s])}</strong>
            </li>
          ))}
        </ul>
        <span class="muted small">
          Since this page opened, per {bucketMs / 1000} s. Realtime counts every message with the live feed, at least one per poll without
          it.
        </span>
      </figcaption>
    </figure>
  );
}
