import { useEffect, useRef } from 'react';
import uPlot from 'uplot';

export type Series = { label: string; color: string; values: (number | null)[] };

/**
 * A time series chart (uPlot, canvas). A canvas says nothing to a screen reader, so the chart is an image with
 * `summary` as its name; the figures it draws are in the page's text too.
 */
export function TimeChart({ title, times, series, summary, unit }: { title: string; times: number[]; series: Series[]; summary: string; unit: string }) {
  const element = useRef<HTMLDivElement>(null);
  useEffect(() => {
    // (a value or two in a whole window would be invisible as a line: those get dots)
    const sparse = (values: (number | null)[]) => {
      const shown = values.filter((value) => value !== null && value !== 0).length;
      return shown > 0 && shown < 3;
    };
    const target = element.current;
    if (!target) return undefined;
    const width = Math.max(300, target.clientWidth);
    const chart = new uPlot(
      {
        width,
        height: 220,
        scales: { x: { time: true } },
        axes: [{ stroke: '#5a6375' }, { stroke: '#5a6375', label: unit, size: 60 }],
        series: [{}, ...series.map((item) => ({ label: item.label, stroke: item.color, width: 2, fill: `${item.color}22`, points: { show: sparse(item.values), size: 6 } }))],
        legend: { live: false },
      },
      [times, ...series.map((item) => item.values)],
      target,
    );
    return () => chart.destroy();
  }, [times, series, unit]);
  return (
    <figure className="chart">
      <figcaption>{title}</figcaption>
      <div ref={element} role="img" aria-label={`${title}: ${summary}`} />
    </figure>
  );
}
