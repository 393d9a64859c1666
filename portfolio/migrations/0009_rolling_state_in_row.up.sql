-- A portfolio's rolling state (about 6.5 kB: three windows of doubles) is
-- kept in its table row instead of three TOAST values: the nightly
-- advance reads and rewrites every row, and random doubles neither
-- compress nor gain from going out of line. Rows larger than a page still
-- go out of line, uncompressed.
ALTER TABLE portfolio_rolling_state
    ALTER COLUMN window_returns SET STORAGE EXTERNAL,
    ALTER COLUMN har_returns SET STORAGE EXTERNAL,
    ALTER COLUMN vols SET STORAGE EXTERNAL,
    SET (toast_tuple_target = 8160);
