import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { isIP } from 'node:net';

/** One listening TCP socket, with the processes that hold it. Read from the kernel: no traffic is sent. */
export type Listener = { address: string; port: number; pids: number[]; commands: string[] };

/** `127.0.0.1:5432`, `[::1]:4369`, `[::ffff:127.0.0.1]:9092`, `*:80`, `127.0.0.53%lo:53` → address and port. */
function splitLocal(local: string): { address: string; port: number } {
  const at = local.lastIndexOf(':');
  const address = local.slice(0, at).replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  return { address: address === '*' ? '0.0.0.0' : address, port: Number(local.slice(at + 1)) };
}

function fromSs(): Listener[] {
  // -p names the processes; as root it sees every user's (postgres, rabbitmq), which this test needs.
  const table = execFileSync('ss', ['-ltnpH'], { encoding: 'utf8' });
  return table
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => {
      const columns = line.trim().split(/\s+/);
      const owners = [...(columns.slice(5).join(' ').matchAll(/\("([^"]*)",pid=(\d+),/g))];
      return { ...splitLocal(columns[3]!), pids: owners.map((owner) => Number(owner[2])), commands: owners.map((owner) => owner[1]!) };
    });
}

/** /proc/net/tcp holds addresses as hex in host byte order (little-endian words here). */
function hexAddress(hex: string): string {
  const words = hex.match(/.{8}/g)!.map((word) => Buffer.from(word, 'hex').reverse());
  if (words.length === 1) return [...words[0]!].join('.');
  const bytes = Buffer.concat(words);
  const groups = Array.from({ length: 8 }, (_, i) => bytes.readUInt16BE(i * 2).toString(16));
  return new URL(`http://[${groups.join(':')}]/`).hostname.slice(1, -1);
}

function fromProc(): Listener[] {
  const byInode = new Map<string, Listener>();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(file, 'utf8').split('\n').slice(1)) {
      const columns = line.trim().split(/\s+/);
      if (columns[3] !== '0A') continue; // TCP_LISTEN
      const [hex, port] = columns[1]!.split(':');
      byInode.set(columns[9]!, { address: hexAddress(hex!), port: parseInt(port!, 16), pids: [], commands: [] });
    }
  }
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue; // gone, or not ours to read
    }
    for (const fd of fds) {
      let target: string;
      try {
        target = readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        continue;
      }
      const listener = byInode.get(/^socket:\[(\d+)\]$/.exec(target)?.[1] ?? '');
      if (listener && !listener.pids.includes(Number(pid))) {
        listener.pids.push(Number(pid));
        listener.commands.push(readFileSync(`/proc/${pid}/comm`, 'utf8').trim());
      }
    }
  }
  return [...byInode.values()];
}

/** Every listening TCP socket of this machine: from `ss -ltnp` (iproute2), or /proc where it is missing. */
export function tcpListeners(): Listener[] {
  try {
    return fromSs();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    return fromProc();
  }
}

/** 127.0.0.0/8, ::1, or loopback written as IPv4-mapped IPv6 (Java's listeners show as [::ffff:127.0.0.1]). */
export function isLoopback(address: string): boolean {
  if (isIP(address) === 4) return address.startsWith('127.');
  if (isIP(address) !== 6) return false;
  // (the URL serializer writes every IPv6 form the same way: ::ffff:127.0.0.1 as ::ffff:7f00:1)
  const canonical = new URL(`http://[${address}]/`).hostname.slice(1, -1);
  return canonical === '::1' || /^::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}$/.test(canonical);
}
