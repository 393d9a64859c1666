DROP TABLE portfolio_rolling_state;
