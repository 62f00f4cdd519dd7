/* Ordered endpoints (docs/design-notes.md, "Ordered endpoints").
 *
 * subscriptions.ordered: the endpoint's flag; subscriptions.head_skip: an operator's skip of its lane's head. webhook_deliveries.ordered: the delivery goes through its
 * endpoint's lane (decided at its fan-out, for good): the lane is its timer, so the retry reconciler and a
 * resume leave it alone, and a dispatcher that starts looks for the lanes that still have work here. */

exports.up = (pgm) => {
  pgm.sql(`
    ALTER TABLE subscriptions ADD COLUMN ordered boolean NOT NULL DEFAULT false;
    -- An operator's skip of the lane's head (which delivery, why, when): the lane reads it with its head's state.
    ALTER TABLE subscriptions ADD COLUMN head_skip jsonb;
    ALTER TABLE webhook_deliveries ADD COLUMN ordered boolean NOT NULL DEFAULT false;
    COMMENT ON COLUMN webhook_deliveries.ordered IS 'sent through its endpoint''s lane (one at a time, in message order), never through the retry queues';
    -- The lanes with work (a starting dispatcher consumes them) and an endpoint's head (skip-head).
    CREATE INDEX webhook_deliveries_ordered_unfinished_idx ON webhook_deliveries (subscription_id, created_at, id)
      WHERE ordered AND status IN ('pending', 'retrying');
  `);
};

exports.down = (pgm) => {
  pgm.sql(`
    DROP INDEX webhook_deliveries_ordered_unfinished_idx;
    ALTER TABLE webhook_deliveries DROP COLUMN ordered;
    ALTER TABLE subscriptions DROP COLUMN head_skip;
    ALTER TABLE subscriptions DROP COLUMN ordered;
  `);
};
