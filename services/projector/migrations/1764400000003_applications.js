/* Applications, event types and messages (the Svix-compatible model): endpoints are the subscriptions, now
 * belonging to an application; a message fans out into one delivery per matching endpoint. The default
 * application, which every subscription of the seed's API belongs to, exists from the start (it has no
 * events of its own). */

exports.up = (pgm) => {
  pgm.sql(`
    CREATE TABLE applications (
      id uuid PRIMARY KEY,
      version integer NOT NULL,
      name text NOT NULL,
      uid text,
      metadata jsonb NOT NULL DEFAULT '{}',
      rate_limit integer,
      created_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL,
      deleted_at timestamptz
    );
    CREATE INDEX applications_uid_idx ON applications (uid) WHERE deleted_at IS NULL;
        INSERT INTO applications (id, version, name, uid, created_at, updated_at)
      VALUES ('00000000-0000-4000-8000-000000000000', 1, 'Default application', 'default', '1970-01-01T00:00:00Z', '1970-01-01T00:00:00Z');

    CREATE TABLE event_types (
      id text PRIMARY KEY,
      version integer NOT NULL,
      description text NOT NULL,
      schemas jsonb,
      archived boolean NOT NULL,
      deprecated boolean NOT NULL,
      feature_flag text,
      created_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL,
      deleted_at timestamptz
    );

    ALTER TABLE subscriptions
      ADD COLUMN app_id uuid NOT NULL DEFAULT '00000000-0000-4000-8000-000000000000',
      ADD COLUMN uid text,
      ADD COLUMN channels text[],
      ADD COLUMN metadata jsonb,
      ADD COLUMN rate_limit integer,
      ADD COLUMN headers jsonb;
    COMMENT ON COLUMN subscriptions.headers IS 'custom headers sent with every delivery to the endpoint';
    -- Svix lists page by id (time-ordered UUIDs: creation order).
    CREATE INDEX subscriptions_app_id_idx ON subscriptions (app_id, id);

    CREATE TABLE messages (
      id uuid PRIMARY KEY,
      app_id uuid NOT NULL,
      event_type text NOT NULL,
      event_id text,
      channels text[],
      tags text[],
      payload jsonb,
      created_at timestamptz NOT NULL
    );
    CREATE INDEX messages_app_id_idx ON messages (app_id, id);
    CREATE INDEX messages_payload_idx ON messages USING gin (payload jsonb_path_ops);

    -- Expunged content, remembered apart so an expunge projected before its message (a replay of the log
    -- reads the topics in any order) still wins.
    CREATE TABLE content_expunges (
      id uuid PRIMARY KEY,
      kind text NOT NULL CHECK (kind IN ('message', 'attempt')),
      expunged_at timestamptz NOT NULL
    );

    ALTER TABLE webhook_deliveries ADD COLUMN message_id uuid, ADD COLUMN manual boolean NOT NULL DEFAULT false;
    COMMENT ON COLUMN webhook_deliveries.manual IS 'asked for again (resend, recover, replay), not the message''s own fan-out';
    CREATE INDEX webhook_deliveries_message_idx ON webhook_deliveries (message_id) WHERE message_id IS NOT NULL;
  `);
};

exports.down = (pgm) => {
  pgm.sql(`
    DROP INDEX webhook_deliveries_message_idx;
    ALTER TABLE webhook_deliveries DROP COLUMN message_id, DROP COLUMN manual;
    DROP TABLE content_expunges, messages, event_types, applications;
    DROP INDEX subscriptions_app_id_idx;
    ALTER TABLE subscriptions DROP COLUMN app_id, DROP COLUMN uid, DROP COLUMN channels, DROP COLUMN metadata, DROP COLUMN rate_limit, DROP COLUMN headers;
  `);
};
