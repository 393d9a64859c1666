DROP INDEX backfill_state_retry_idx;
