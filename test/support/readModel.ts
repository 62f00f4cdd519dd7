import { Client } from 'pg';

const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://hookpost:hookpost@127.0.0.1:5432/hookpost';

/** Every row of the three read-model tables, in key order, as JSON: two snapshots are equal row for row. */
export function snapshotReadModel(schema: string): Promise<Record<string, unknown[]>> {
  return withReadModel(schema, async (client) => {
    const tables = { subscriptions: 'id', webhook_deliveries: 'id', delivery_attempts: 'delivery_id, attempt_number' };
    const snapshot: Record<string, unknown[]> = {};
    for (const [table, order] of Object.entries(tables)) {
      const result = await client.query(`SELECT to_jsonb(t) AS row FROM ${table} t ORDER BY ${order}`);
      snapshot[table] = result.rows.map((row) => row.row);
    }
    return snapshot;
  });
}

export async function withReadModel<T>(schema: string, work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: DATABASE_URL, options: `-c search_path=${schema}` });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}
