ALTER TABLE portfolio_rolling_state
    ALTER COLUMN window_returns SET STORAGE EXTENDED,
    ALTER COLUMN har_returns SET STORAGE EXTENDED,
    ALTER COLUMN vols SET STORAGE EXTENDED,
    RESET (toast_tuple_target);
