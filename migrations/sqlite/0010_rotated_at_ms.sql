-- The refresh token reuse window (`expiry.refreshTokens.reuseInterval`) is measured at full
-- precision, as Dex does: the time of a token's last rotation is kept in milliseconds.
ALTER TABLE refresh_tokens RENAME COLUMN rotated_at TO rotated_at_ms;
UPDATE refresh_tokens SET rotated_at_ms = rotated_at_ms * 1000;
