/* Paused endpoints, held deliveries and background tasks.
 *
 * A delivery's hold is two registers, each the latest (by position, then time) of what the log says: the hold
 * (hold_seq, held_at) and the hold a release ended (release_seq, released_hold_at). Held is derived from them
 * and the delivery's position (isHeld in the delivery state machine), so holds and releases merge in any order.
 *
 * background_tasks: recover, replay-missing and replay-from-the-log tasks, from their RedeliveryRequested and
 * BackgroundTask* events (merged by the precedence in packages/contracts/src/backgroundTask.ts). */

exports.up = (pgm) => {
  pgm.sql(`
    ALTER TABLE subscriptions ADD COLUMN paused boolean NOT NULL DEFAULT false;

    ALTER TABLE webhook_deliveries
      ADD COLUMN hold_seq integer,
      ADD COLUMN held_at timestamptz,
      ADD COLUMN release_seq integer,
      ADD COLUMN released_hold_at timestamptz;
    COMMENT ON COLUMN webhook_deliveries.held_at IS 'the latest hold of the next attempt (endpoint paused); held while no release names it and the delivery has not moved on';
    -- What a resume (or a deletion) of an endpoint looks for: its waiting deliveries that were ever held.
    CREATE INDEX webhook_deliveries_held_idx ON webhook_deliveries (subscription_id, id)
      WHERE hold_seq IS NOT NULL AND status IN ('pending', 'retrying');

    CREATE TABLE background_tasks (
      id uuid PRIMARY KEY,
      app_id uuid NOT NULL,
      -- The request's fields: null only while a task's progress is projected before its request (never shown).
      subscription_id uuid,
      kind text CHECK (kind IN ('recover', 'replay_missing', 'replay_log')),
      since timestamptz,
      until timestamptz,
      event_types text[],
      channel text,
      status text NOT NULL CHECK (status IN ('running', 'cancelled', 'failed', 'finished')),
      messages_scanned bigint NOT NULL DEFAULT 0,
      messages_sent bigint NOT NULL DEFAULT 0,
      checkpoint integer,
      progress double precision,
      position text,
      reason text,
      created_at timestamptz,
      updated_at timestamptz NOT NULL,
      finished_at timestamptz
    );
    COMMENT ON COLUMN background_tasks.position IS 'where the dispatcher carries on after a crash (opaque to the read side)';
    CREATE INDEX background_tasks_app_idx ON background_tasks (app_id, id);
  `);
};

exports.down = (pgm) => {
  pgm.sql(`
    DROP TABLE background_tasks;
    DROP INDEX webhook_deliveries_held_idx;
    ALTER TABLE webhook_deliveries DROP COLUMN hold_seq, DROP COLUMN held_at, DROP COLUMN release_seq, DROP COLUMN released_hold_at;
    ALTER TABLE subscriptions DROP COLUMN paused;
  `);
};
