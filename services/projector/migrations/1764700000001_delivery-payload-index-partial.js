/* The GIN index on a delivery's payload holds only the deliveries that have one. A delivery of a Svix message
 * has none (its payload is its message's, indexed there once), yet GIN indexes a NULL too: every such delivery
 * wrote an entry into it when projected, and another with each update of its row. The containment search
 * (payload @> ...) implies payload IS NOT NULL, so the partial index serves it as the whole one did. */

exports.up = (pgm) => {
  pgm.sql(`
    DROP INDEX webhook_deliveries_payload_idx;
    CREATE INDEX webhook_deliveries_payload_idx ON webhook_deliveries USING gin (payload jsonb_path_ops) WHERE payload IS NOT NULL;
  `);
};

exports.down = (pgm) => {
  pgm.sql(`
    DROP INDEX webhook_deliveries_payload_idx;
    CREATE INDEX webhook_deliveries_payload_idx ON webhook_deliveries USING gin (payload jsonb_path_ops);
  `);
};
