package batch_test

import (
	"fmt"
	"strings"
	"time"

	"github.com/sigmasight/backfill/batch"
)

func ExampleParsePriceCSV() {
	const file = "Date,Symbol,Adj Close,Volume\n" +
		"2024-01-02,AAPL,185.64,82488700\n" +
		"2024-01-03,AAPL,1e3,58414500\n" +
		"2024-01-04,AAPL,-181.91,71983600\n"
	_, err := batch.ParsePriceCSV(strings.NewReader(file), "aapl.csv")
	fmt.Println(err)

	rows, err := batch.ParsePriceCSV(strings.NewReader(file[:strings.Index(file, "2024-01-03")]), "aapl.csv")
	if err != nil {
		panic(err)
	}
	for _, r := range rows {
		fmt.Println(r.Line, r.Symbol, r.Date.Format(time.DateOnly), r.Close)
	}
	// Output:
	// aapl.csv:3: close "1e3" is not a decimal number like 187.25 (no exponent notation)
	// aapl.csv:4: close "-181.91" is not positive
	// 2 AAPL 2024-01-02 185.64
}
