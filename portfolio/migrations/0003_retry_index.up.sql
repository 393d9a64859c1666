-- The reconciler also claims due portfolios that are failing or pending
-- even when their watermark is current (a run whose result could not be
-- recorded, a cancelled run), so that their state always settles.
CREATE INDEX backfill_state_retry_idx
    ON backfill_state (next_attempt_at)
    WHERE status IN ('pending', 'failing');
