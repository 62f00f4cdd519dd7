/* Asymmetric signing and secret rotation: the scheme, the public key, and the previous secret (sealed)
 * that still signs until it expires. */

exports.up = (pgm) => {
  pgm.sql(`
    ALTER TABLE subscriptions
      ADD COLUMN signature_scheme text NOT NULL DEFAULT 'hmac-sha256' CHECK (signature_scheme IN ('hmac-sha256', 'ed25519')),
      ADD COLUMN public_key text,
      ADD COLUMN previous_secret text,
      ADD COLUMN previous_secret_expires_at timestamptz;
  `);
};

exports.down = (pgm) => {
  pgm.sql('ALTER TABLE subscriptions DROP COLUMN signature_scheme, DROP COLUMN public_key, DROP COLUMN previous_secret, DROP COLUMN previous_secret_expires_at');
};
