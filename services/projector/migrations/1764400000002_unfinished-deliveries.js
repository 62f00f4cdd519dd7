/* The oldest unfinished delivery (hookpost_oldest_unfinished_delivery_age_seconds): with created_at after
 * status in the index, the oldest pending and the oldest retrying row are each the first entry of their
 * range, instead of a scan of every unfinished row on each scrape. It serves every query (status) did. */

exports.up = (pgm) => {
  pgm.sql(`
    CREATE INDEX webhook_deliveries_status_created_idx ON webhook_deliveries (status, created_at);
    DROP INDEX webhook_deliveries_status_idx;
  `);
};

exports.down = (pgm) => {
  pgm.sql(`
    CREATE INDEX webhook_deliveries_status_idx ON webhook_deliveries (status);
    DROP INDEX webhook_deliveries_status_created_idx;
  `);
};
