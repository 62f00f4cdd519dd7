import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type ReceivedRequest = { method: string; url: string; headers: http.IncomingHttpHeaders; body: string; at: number; answered?: number };
export type Reply = { status: number; headers?: Record<string, string>; body?: string; /** Answer after this long (a slow endpoint). */ delayMs?: number } | 'hang' | 'reset';

/**
 * A real webhook endpoint on 127.0.0.1 for end-to-end tests: records every request and answers with
 * whatever `reply` says for the nth request (1-based), including hanging or resetting the connection.
 */
export class Receiver {
  readonly requests: ReceivedRequest[] = [];
  connections = 0;
  /** Requests it is hanging on now (until the client gives up), and the most there were at once. */
  hanging = 0;
  mostHanging = 0;
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
        if (reply === 'hang') {
          this.hanging += 1;
          this.mostHanging = Math.max(this.mostHanging, this.hanging);
          req.socket.once('close', () => (this.hanging -= 1));
          return;
        }
        if (reply === 'reset') {
          req.socket.resetAndDestroy();
          return;
        }
        const answer = () => {
          request.answered = reply.status;
          res.writeHead(reply.status, reply.headers);
          res.end(reply.body ?? '');
        };
        if (reply.delayMs) setTimeout(answer, reply.delayMs);
        else answer();
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

/**
 * A URL on 127.0.0.1 where nothing listens, so a POST gets "connection refused". A port freed by closing a
 * listener is no good: listen(0) in a test running alongside may be handed it. Ports under 1024 are outside
 * the kernel's ephemeral range and nothing in the stack binds one, so a refused one stays refused.
 */
export async function refusedUrl(): Promise<string> {
  const net = await import('node:net');
  for (let port = 1; port < 1024; port += 1) {
    const refused = await new Promise<boolean>((resolve) => {
      const socket = net.connect({ host: '127.0.0.1', port });
      socket.once('connect', () => {
        socket.destroy();
        resolve(false);
      });
      socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED'));
    });
    if (refused) return `http://127.0.0.1:${port}/hook`;
  }
  throw new Error('no refused port under 1024 on 127.0.0.1');
}
