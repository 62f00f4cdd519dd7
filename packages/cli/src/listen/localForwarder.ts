import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * The HTTP side of `listen`: a server on 127.0.0.1 that takes each delivery from Hookpost, sends the same
 * method, path, headers and body to http://127.0.0.1:<port>, and answers Hookpost with what the local service
 * answered (its status, headers and body), so the attempt log shows the local service's verdict.
 */

/** Connection-level headers, which belong to one hop and are not forwarded (RFC 9110 §7.6.1), and Host. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'host', 'content-length']);

export function forwardableHeaders(headers: http.IncomingHttpHeaders | http.OutgoingHttpHeaders): Record<string, string | string[]> {
  const named = new Set(
    String(headers.connection ?? '')
      .split(',')
      .map((name) => name.trim().toLowerCase())
      .filter(Boolean),
  );
  const result: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (value === undefined || HOP_BY_HOP.has(lower) || named.has(lower)) continue;
    result[lower] = Array.isArray(value) ? value.map(String) : String(value);
  }
  return result;
}

export type ForwardedDelivery = Readonly<{
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** The local service's status, or undefined when it could not be reached (then `error` says why). */
  status: number | undefined;
  error?: string;
  durationMs: number;
}>;

export type LocalForwarder = Readonly<{ port: number; close: () => Promise<void> }>;

/** Most a delivery body may be: well over Hookpost's own request limit (256 KiB by default). */
const MAX_BODY_BYTES = 16 * 1024 * 1024;
const FORWARD_TIMEOUT_MS = 60_000;

export async function startLocalForwarder(options: {
  listenPort: number;
  targetPort: number;
  onDelivery: (delivery: ForwardedDelivery) => void;
}): Promise<LocalForwarder> {
  const sockets = new Set<import('node:net').Socket>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        res.writeHead(413).end();
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const started = Date.now();
      const delivery = { method: req.method ?? 'POST', path: req.url ?? '/', headers: req.headers, body };
      const forward = http.request(
        {
          host: '127.0.0.1',
          port: options.targetPort,
          method: delivery.method,
          path: delivery.path,
          headers: { ...forwardableHeaders(req.headers), host: `127.0.0.1:${options.targetPort}`, 'content-length': String(body.length) },
          timeout: FORWARD_TIMEOUT_MS,
        },
        (answer) => {
          const answerChunks: Buffer[] = [];
          answer.on('data', (chunk: Buffer) => answerChunks.push(chunk));
          answer.on('end', () => {
            const answerBody = Buffer.concat(answerChunks);
            const status = answer.statusCode ?? 502;
            res.writeHead(status, { ...forwardableHeaders(answer.headers), 'content-length': String(answerBody.length) }).end(answerBody);
            options.onDelivery({ ...delivery, status, durationMs: Date.now() - started });
          });
          answer.on('error', (error) => fail(error));
        },
      );
      const fail = (error: Error & { code?: string }) => {
        const reason =
          error.code === 'ECONNREFUSED' ? `nothing listens on 127.0.0.1:${options.targetPort} (connection refused)` : error.code === 'ETIMEDOUT' ? 'no answer in time' : error.message;
        if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain; charset=utf-8' }).end(`hookpost listen: ${reason}\n`);
        options.onDelivery({ ...delivery, status: undefined, error: reason, durationMs: Date.now() - started });
      };
      forward.on('timeout', () => forward.destroy(Object.assign(new Error('no answer in time'), { code: 'ETIMEDOUT' })));
      forward.on('error', fail);
      forward.end(body);
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.listenPort, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
