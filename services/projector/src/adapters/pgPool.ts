import path from 'node:path';
import { Pool } from 'pg';
import { runner } from 'node-pg-migrate';

export function createPool(databaseUrl: string, schema: string, max = 10): Pool {
  if (!/^[a-z_][a-z0-9_]*$/.test(schema)) throw new Error(`invalid schema name ${schema}`);
  return new Pool({ connectionString: databaseUrl, max, options: `-c search_path=${schema}` });
}

/** Applies node-pg-migrate migrations (services/projector/migrations) to the read model's schema. */
export async function migrate(databaseUrl: string, schema: string, log: (message: string) => void = () => undefined): Promise<void> {
  await runner({
    databaseUrl,
    dir: path.resolve(__dirname, '../../migrations'),
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
