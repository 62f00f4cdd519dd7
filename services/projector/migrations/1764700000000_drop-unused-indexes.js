/* Indexes no query needs (issue #17: every index is written for every row).
 *
 * delivery_attempts_delivery_id_idx (delivery_id) repeats the leading column of the unique index on
 * (delivery_id, attempt_number), which serves every lookup of a delivery's attempts (and their order) and the
 * joins from a delivery to its attempts: one index entry less per attempt.
 *
 * subscriptions_lower_name_idx (lower(name)): no query filters or orders by lower(name); the name search is the
 * full-text one (subscriptions_search_vector_idx). */

exports.up = (pgm) => {
  pgm.sql(`
    DROP INDEX delivery_attempts_delivery_id_idx;
    DROP INDEX subscriptions_lower_name_idx;
  `);
};

exports.down = (pgm) => {
  pgm.sql(`
    CREATE INDEX delivery_attempts_delivery_id_idx ON delivery_attempts (delivery_id);
    CREATE INDEX subscriptions_lower_name_idx ON subscriptions (lower(name));
  `);
};
