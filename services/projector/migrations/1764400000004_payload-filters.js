/* Payload filters (a Hookpost extension of Svix's endpoints): the endpoint's filter, and the endpoints whose
 * filter kept a message from them, with why (MessageRouted.filtered) — the filtered part of a message's
 * ledger, beside its deliveries. */

exports.up = (pgm) => {
  pgm.sql(`
    ALTER TABLE subscriptions ADD COLUMN payload_filter jsonb;

    CREATE TABLE message_filtered_endpoints (
      message_id uuid NOT NULL,
      subscription_id uuid NOT NULL,
      reason text NOT NULL,
      detail text NOT NULL,
      routed_at timestamptz NOT NULL,
      PRIMARY KEY (message_id, subscription_id)
    );
  `);
};

exports.down = (pgm) => {
  pgm.sql(`
    DROP TABLE message_filtered_endpoints;
    ALTER TABLE subscriptions DROP COLUMN payload_filter;
  `);
};
