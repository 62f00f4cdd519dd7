import { existsSync } from 'node:fs';
import path from 'node:path';
import { Client, Pool } from 'pg';
import { runner } from 'node-pg-migrate';

export function createPool(databaseUrl: string, schema: string, max = 10, onError: (error: Error) => void = () => undefined): Pool {
  if (!/^[a-z_][a-z0-9_]*$/.test(schema)) throw new Error(`invalid schema name ${schema}`);
  // No statement runs longer than 30 s (a read that would is a 5xx, not a connection held forever), and a
  // transaction left idle by a stuck client is ended after 60 s instead of holding its row locks.
  const pool = new Pool({
    connectionString: databaseUrl,
    max,
    options: `-c search_path=${schema} -c statement_timeout=30000 -c idle_in_transaction_session_timeout=60000`,
    connectionTimeoutMillis: 10_000,
  });
  // An idle client whose server went away emits 'error'; without a listener that would end the process.
  pool.on('error', onError);
  return pool;
}

/**
 * Applies node-pg-migrate migrations (services/projector/migrations) to the read model's schema.
 * node-pg-migrate's own lock is one advisory lock for the whole database and fails at once when taken, so
 * two projectors starting together (or two schemas migrating at once) would crash; instead we wait on a
 * lock of our own, per schema.
 */
export async function migrate(databaseUrl: string, schema: string, log: (message: string) => void = () => undefined): Promise<void> {
  const lock = new Client({ connectionString: databaseUrl });
  await lock.connect();
  try {
    await lock.query('SELECT pg_advisory_lock(hashtext($1))', [`hookpost-migrate:${schema}`]);
    await runMigrations(databaseUrl, schema, log);
  } finally {
    await lock.end();
  }
}

/**
 * The projector's migrations folder, beside its package.json: found from this file's folder upwards, so it is
 * the same from the source (src/adapters/) and from the build (dist/, one bundle).
 */
const MIGRATIONS_DIR = ((): string => {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json')) && existsSync(path.join(dir, 'migrations'))) return path.join(dir, 'migrations');
    if (path.dirname(dir) === dir) throw new Error(`no migrations folder above ${__dirname}`);
  }
})();

async function runMigrations(databaseUrl: string, schema: string, log: (message: string) => void): Promise<void> {
  await runner({
    noLock: true,
    databaseUrl,
    dir: MIGRATIONS_DIR,
    direction: 'up',
    migrationsTable: 'pgmigrations',
    schema,
    createSchema: true,
    migrationsSchema: schema,
    count: Infinity,
    checkOrder: true,
    verbose: false,
    log,
  });
}
