import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type ReceivedRequest = { method: string; url: string; headers: http.IncomingHttpHeaders; body: string; at: number; answered?: number };
export type Reply = { status: number; headers?: Record<string, string>; body?: string } | 'hang' | 'reset';

/**
 * A real webhook endpoint on 127.0.0.1 for end-to-end tests: records every request and answers with
 * whatever `reply` says for the nth request (1-based), including hanging or resetting the connection.
 */
export class Receiver {
  readonly requests: ReceivedRequest[] = [];
  connections = 0;
  private readonly sockets = new Set<import('node:net').Socket>();
  private server: http.Server;
  reply: (request: ReceivedRequest, n: number) => Reply = () => ({ status: 200, body: 'ok' });

  private constructor() {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const request: ReceivedRequest = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() };
        this.requests.push(request);
        const reply = this.reply(request, this.requests.length);
        if (reply === 'hang') return;
        if (reply === 'reset') {
          req.socket.resetAndDestroy();
          return;
        }
        request.answered = reply.status;
        res.writeHead(reply.status, reply.headers);
        res.end(reply.body ?? '');
      });
    });
    this.server.on('connection', (socket) => {
      this.connections += 1;
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  static async start(): Promise<Receiver> {
    const receiver = new Receiver();
    await new Promise<void>((resolve) => receiver.server.listen(0, '127.0.0.1', resolve));
    return receiver;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/webhook`;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
