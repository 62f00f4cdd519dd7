/**
 * How results are printed: JSON for machines (`--json`), aligned tables and lines for people, coloured only
 * when a person is likely to look at a terminal.
 */

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Colour or not: `--no-color` and NO_COLOR (https://no-color.org: any non-empty value) turn it off, FORCE_COLOR
 * (not "0") turns it on, otherwise only on a terminal that is not TERM=dumb.
 */
export function colorEnabled(options: { noColorFlag: boolean; env: Env; isTTY: boolean }): boolean {
  if (options.noColorFlag) return false;
  if (options.env.NO_COLOR) return false;
  if (options.env.FORCE_COLOR !== undefined && options.env.FORCE_COLOR !== '0') return true;
  return options.isTTY && options.env.TERM !== 'dumb';
}

export type Style = 'green' | 'red' | 'yellow' | 'dim' | 'bold' | 'cyan';

const CODES: Record<Style, [number, number]> = {
  green: [32, 39],
  red: [31, 39],
  yellow: [33, 39],
  cyan: [36, 39],
  dim: [2, 22],
  bold: [1, 22],
};

export type Paint = (style: Style | undefined, text: string) => string;

export function painter(enabled: boolean): Paint {
  return (style, text) => {
    if (!enabled || !style || text === '') return text;
    const [open, close] = CODES[style];
    return `\u001b[${open}m${text}\u001b[${close}m`;
  };
}

/** The colour of a delivery or attempt by its Svix status text. */
export function statusStyle(statusText: string): Style | undefined {
  switch (statusText) {
    case 'success':
      return 'green';
    case 'fail':
      return 'red';
    case 'pending':
    case 'sending':
      return 'yellow';
    case 'canceled':
      return 'dim';
    default:
      return undefined;
  }
}

/** The colour of an HTTP status a receiver answered (0: no answer). */
export function httpStatusStyle(status: number): Style {
  if (status >= 200 && status < 300) return 'green';
  if (status >= 300 && status < 400) return 'yellow';
  return 'red';
}

/** An ISO time as `2025-01-02 03:04:05Z`: to the second, which is what a person compares. */
export function shortTime(iso: string | null | undefined): string {
  if (!iso) return '';
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return iso;
  return new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

/** A local wall-clock time with milliseconds, for lines printed as things happen (tail, listen). */
export function clockTime(date: Date): string {
  const pad = (value: number, width = 2) => String(value).padStart(width, '0');
  return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}`;
}

export type Column<Row> = Readonly<{ header: string; value: (row: Row) => string; style?: (row: Row) => Style | undefined }>;

/** Rows as aligned columns under a header; widths are measured before colour is added. */
export function table<Row>(rows: readonly Row[], columns: readonly Column<Row>[], paint: Paint): string {
  const cells = rows.map((row) => columns.map((column) => printable(column.value(row))));
  const widths = columns.map((column, i) => Math.max(column.header.length, ...cells.map((line) => line[i]!.length)));
  const render = (line: string[], styles: (Style | undefined)[]) =>
    line
      .map((cell, i) => {
        const padded = i === line.length - 1 ? cell : cell.padEnd(widths[i]!);
        return paint(styles[i], padded);
      })
      .join('  ')
      .trimEnd();
  const header = render(
    columns.map((column) => column.header),
    columns.map(() => 'bold'),
  );
  const body = cells.map((line, r) => render(line, columns.map((column) => column.style?.(rows[r]!))));
  return [header, ...body].join('\n');
}

/** Fields of one object as `name  value` lines. */
export function details(fields: readonly (readonly [string, string])[], paint: Paint): string {
  const width = Math.max(...fields.map(([name]) => name.length));
  return fields.map(([name, value]) => `${paint('bold', name.padEnd(width))}  ${printable(value)}`).join('\n');
}

/** Control characters (a terminal escape in a name or a response body) are shown, never sent to the terminal. */
export function printable(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (char) => (char === '\n' ? '\\n' : char === '\t' ? ' ' : `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`));
}

/** A long value cut to `max` characters, marked. */
export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, Math.max(0, max - 1))}…`;
}

export function list(values: readonly unknown[] | null | undefined): string {
  return values && values.length > 0 ? values.map(String).join(',') : '';
}

/** JSON as `--json` prints it: one document, two-space indented, ending in a newline. */
export function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/** One JSON document per line, for streams (tail, listen) that other programs read as they go. */
export function jsonLine(value: unknown): string {
  return `${JSON.stringify(value)}\n`;
}
