/* The read model: three projections of the event log plus the offsets they were built from.
 * Written so that a replay of the log gives the same rows: ids and timestamps come from events, never from
 * the clock or a sequence. */

exports.up = (pgm) => {
  pgm.sql(`
    CREATE TABLE subscriptions (
      id uuid PRIMARY KEY,
      version integer NOT NULL,
      name text NOT NULL,
      description text,
      target_url text NOT NULL,
      is_active boolean NOT NULL,
      event_types text[],
      secret text NOT NULL,
      max_attempts integer,
      timeout_ms integer,
      created_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL,
      deleted_at timestamptz,
      search_vector tsvector GENERATED ALWAYS AS (
        to_tsvector('simple', coalesce(name, '') || ' ' || coalesce(description, ''))
      ) STORED
    );
    COMMENT ON COLUMN subscriptions.secret IS 'sealed with AES-256-GCM (sealed:v1:<key id>:...), never clear text';
    CREATE INDEX subscriptions_lower_name_idx ON subscriptions (lower(name));
    CREATE INDEX subscriptions_created_at_idx ON subscriptions (created_at, id);
    CREATE INDEX subscriptions_search_vector_idx ON subscriptions USING gin (search_vector);

    CREATE TABLE webhook_deliveries (
      id uuid PRIMARY KEY,
      subscription_id uuid NOT NULL,
      event_type text,
      payload jsonb,
      status text NOT NULL CHECK (status IN ('pending', 'retrying', 'succeeded', 'failed', 'cancelled')),
      state_seq integer NOT NULL,
      attempt_count integer NOT NULL,
      next_attempt_at timestamptz,
      last_status_code integer,
      last_error text,
      created_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL,
      delivered_at timestamptz
    );
    COMMENT ON COLUMN webhook_deliveries.state_seq IS 'orders state changes so out-of-order events only move status forward';
    CREATE INDEX webhook_deliveries_status_idx ON webhook_deliveries (status);
    CREATE INDEX webhook_deliveries_subscription_created_idx ON webhook_deliveries (subscription_id, created_at, id);
    CREATE INDEX webhook_deliveries_created_at_idx ON webhook_deliveries (created_at, id);
    CREATE INDEX webhook_deliveries_payload_idx ON webhook_deliveries USING gin (payload jsonb_path_ops);

    CREATE TABLE delivery_attempts (
      id uuid PRIMARY KEY,
      delivery_id uuid NOT NULL,
      attempt_number integer NOT NULL,
      status_code integer,
      duration_ms integer NOT NULL,
      error text,
      response_headers jsonb,
      response_body text,
      started_at timestamptz NOT NULL,
      created_at timestamptz NOT NULL,
      UNIQUE (delivery_id, attempt_number)
    );
    CREATE INDEX delivery_attempts_delivery_id_idx ON delivery_attempts (delivery_id);
    CREATE INDEX delivery_attempts_created_at_idx ON delivery_attempts (created_at);

    CREATE TABLE projector_offsets (
      topic text NOT NULL,
      partition integer NOT NULL,
      next_offset bigint NOT NULL,
      PRIMARY KEY (topic, partition)
    );
  `);
};

exports.down = (pgm) => {
  pgm.sql('DROP TABLE projector_offsets, delivery_attempts, webhook_deliveries, subscriptions');
};
