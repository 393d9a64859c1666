package batch_test

import (
	"fmt"
	"time"

	"github.com/sigmasight/backfill/batch"
)

func ExampleMostRecentClose() {
	nyse := batch.NewNYSECalendar()
	// 16:45 in New York on Friday 2024-11-29, the day after Thanksgiving,
	// when NYSE closed at 13:00.
	now := time.Date(2024, time.November, 29, 21, 45, 0, 0, time.UTC)
	target := batch.MostRecentClose(nyse, now, batch.DefaultCloseDelay)
	fmt.Println(target.Format(time.DateOnly))

	watermark := time.Date(2024, time.November, 22, 0, 0, 0, 0, time.UTC)
	fmt.Println(batch.SessionsBetween(nyse, watermark, target), "trading days behind")
	// Output:
	// 2024-11-29
	// 4 trading days behind
}

func ExampleNYSECalendar_Close() {
	nyse := batch.NewNYSECalendar()
	for _, d := range []time.Time{
		time.Date(2024, time.July, 3, 0, 0, 0, 0, time.UTC),
		time.Date(2024, time.July, 4, 0, 0, 0, 0, time.UTC),
		time.Date(2024, time.July, 5, 0, 0, 0, 0, time.UTC),
	} {
		if closeAt, ok := nyse.Close(d); ok {
			fmt.Println(d.Format(time.DateOnly), "closes at", closeAt.Format("15:04 MST"))
		} else {
			fmt.Println(d.Format(time.DateOnly), "closed")
		}
	}
	// Output:
	// 2024-07-03 closes at 13:00 EDT
	// 2024-07-04 closed
	// 2024-07-05 closes at 16:00 EDT
}
