/* Svix's deliverAt: when a message's first attempts were scheduled for (null: at once). Shown as MessageOut's
 * deliverAt; the dispatcher keeps the schedule (the deliveries' next_attempt_at says it too). */

exports.up = (pgm) => {
  pgm.sql(`ALTER TABLE messages ADD COLUMN deliver_at timestamptz;`);
};

exports.down = (pgm) => {
  pgm.sql(`ALTER TABLE messages DROP COLUMN deliver_at;`);
};
