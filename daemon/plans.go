package daemon

import "github.com/sigmasight/backfill/portfolio"

// ClaimPlanSQL returns the sweep's claim query in schema, for EXPLAIN: $1
// is the target day, $2 the number of portfolios to claim, $3 the worker
// and $4 the lease in seconds. It claims when executed: run it in a
// transaction that is rolled back.
func ClaimPlanSQL(schema portfolio.Schema) string { return schema.SQL(claimSQL) }
