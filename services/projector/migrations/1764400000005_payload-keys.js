/* Payload retention by crypto-shredding (docs/design-notes.md, "Retention and crypto-shredding"): the key
 * store (each retention bucket's frontier of node keys, sealed under the master keys) and when each stored
 * payload expires. A shredded bucket's row stays, so it is never created again. */

exports.up = (pgm) => {
  pgm.sql(`
    CREATE TABLE payload_key_buckets (
      id text PRIMARY KEY,
      expires_at timestamptz NOT NULL,
      shredded_at timestamptz
    );
    CREATE INDEX payload_key_buckets_live_idx ON payload_key_buckets (expires_at) WHERE shredded_at IS NULL;
    CREATE TABLE payload_key_nodes (
      bucket_id text NOT NULL REFERENCES payload_key_buckets (id) ON DELETE CASCADE,
      prefix text NOT NULL,
      sealed_key text NOT NULL,
      PRIMARY KEY (bucket_id, prefix)
    );
    COMMENT ON COLUMN payload_key_nodes.sealed_key IS 'a node of the bucket key tree, sealed with HOOKPOST_SECRET_KEYS';

    ALTER TABLE messages ADD COLUMN payload_expires_at timestamptz;
    CREATE INDEX messages_payload_expiry_idx ON messages (payload_expires_at) WHERE payload IS NOT NULL;
    ALTER TABLE webhook_deliveries ADD COLUMN payload_expires_at timestamptz;
    CREATE INDEX webhook_deliveries_payload_expiry_idx ON webhook_deliveries (payload_expires_at) WHERE payload IS NOT NULL;
  `);
};

exports.down = (pgm) => {
  pgm.sql(`
    ALTER TABLE webhook_deliveries DROP COLUMN payload_expires_at;
    ALTER TABLE messages DROP COLUMN payload_expires_at;
    DROP TABLE payload_key_nodes, payload_key_buckets;
  `);
};
