package daemon_test

import (
	"fmt"
	"time"

	"github.com/sigmasight/backfill/daemon"
)

// A command line checks its settings before it opens a database.
func ExampleConfig_Validate() {
	for _, cfg := range []*daemon.Config{
		nil, // every default
		{Schedule: "CRON_TZ=America/New_York 45 16 * * 1-5", Concurrency: 8},
		{Schedule: "every minute"},
		{LeaseTTL: time.Minute, HeartbeatInterval: 2 * time.Minute},
	} {
		if err := cfg.Validate(); err != nil {
			fmt.Println("invalid:", err)
			continue
		}
		fmt.Println("ok")
	}
	// Output:
	// ok
	// ok
	// invalid: config: schedule "every minute": expected exactly 5 fields, found 2: [every minute] (use five cron fields, @every 1m, or a CRON_TZ= prefix)
	// invalid: config: HeartbeatInterval 2m0s must be positive and shorter than LeaseTTL 1m0s
}
