package batch

import (
	"bytes"
	"context"
	"math"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/sigmasight/backfill/portfolio/portfoliotest"
)

// TestCopyBinaryMatchesText COPYs the same values once as binary rows
// written by copyRows and once as the COPY text the engine used to write,
// and requires the stored values to be the same, display scale included.
func TestCopyBinaryMatchesText(t *testing.T) {
	db := portfoliotest.NewDB(t)
	ctx := context.Background()
	if _, err := db.Pool.Exec(ctx, `
		CREATE TABLE copy_check (k int, id uuid, d date, at timestamptz, m numeric, f float8,
		                         i int4, fa float8[], ia int4[], t text);
		CREATE TABLE copy_text (LIKE copy_check)`); err != nil {
		t.Fatal(err)
	}
	money := []float64{0, math.Copysign(0, -1), 1, -1, 0.1, 0.0001, -0.0001, 123.4567, 100000, 10000, 9999.9999,
		1e15, -999999999999.9999, 12345678.9, 0.30000000000000004, 1e-7, 5e-324, 1.5e300, 2e-20, 0.5, 10, 100, 1000}
	floats := []float64{0, -1.25, math.Pi, 1e-300, -1e300, math.SmallestNonzeroFloat64}
	days := []time.Time{
		time.Date(2024, 3, 6, 0, 0, 0, 0, time.UTC), time.Date(1999, 12, 31, 0, 0, 0, 0, time.UTC),
		time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2000, 1, 1, 0, 0, 0, 0, time.FixedZone("x", -5*3600)),
	}
	at := time.Date(2024, 3, 7, 21, 30, 1, 123456789, time.UTC)
	id := uuid.New()
	w := &copyRows{}
	w.begin()
	var text []byte
	for k, m := range money {
		f, d := floats[k%len(floats)], days[k%len(days)]
		w.row(10)
		w.int4(k)
		w.uuid(id)
		w.date(d)
		w.timestamptz(at)
		w.numeric(m)
		w.float8(f)
		w.int4(-k)
		w.float8Array(3, func(j int) (float64, bool) { return f * float64(j), j != 1 })
		w.int4Array(2, func(j int) int { return k * j })
		w.text(func(b []byte) []byte {
			if k%2 == 1 {
				return b
			}
			return append(b, "0:1.5:-2;3:4:0"...)
		})

		text = strconv.AppendInt(text, int64(k), 10)
		text = append(text, '\t')
		text = append(text, id.String()...)
		text = append(text, '\t')
		text = d.AppendFormat(text, time.DateOnly)
		text = append(text, '\t')
		text = at.AppendFormat(text, "2006-01-02 15:04:05.999999Z07:00")
		text = append(text, '\t')
		text = strconv.AppendFloat(text, m, 'f', -1, 64)
		text = append(text, '\t')
		text = strconv.AppendFloat(text, f, 'g', -1, 64)
		text = append(text, '\t')
		text = strconv.AppendInt(text, int64(-k), 10)
		text = append(text, "\t{"...)
		text = strconv.AppendFloat(text, 0*f, 'g', -1, 64)
		text = append(text, ",NULL,"...)
		text = strconv.AppendFloat(text, 2*f, 'g', -1, 64)
		text = append(text, "}\t{0,"...)
		text = strconv.AppendInt(text, int64(k), 10)
		text = append(text, "}\t"...)
		if k%2 == 1 {
			text = append(text, `\N`...)
		} else {
			text = append(text, "0:1.5:-2;3:4:0"...)
		}
		text = append(text, '\n')
	}
	conn, err := db.Pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	if _, err := conn.Conn().PgConn().CopyFrom(ctx, bytes.NewReader(w.end()), `COPY copy_check FROM STDIN (FORMAT binary)`); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Conn().PgConn().CopyFrom(ctx, bytes.NewReader(text), `COPY copy_text FROM STDIN`); err != nil {
		t.Fatal(err)
	}
	rows, err := conn.Query(ctx, `
		SELECT b.k, b.m::text, x.m::text, b.d::text, x.d::text
		FROM copy_check b JOIN copy_text x USING (k)
		WHERE (b.*)::text IS DISTINCT FROM (x.*)::text
		ORDER BY b.k`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var k int
		var bm, xm, bd, xd string
		if err := rows.Scan(&k, &bm, &xm, &bd, &xd); err != nil {
			t.Fatal(err)
		}
		t.Errorf("row %d (%v): binary numeric %s date %s, text numeric %s date %s", k, money[k], bm, bd, xm, xd)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM copy_check b JOIN copy_text x USING (k) WHERE (b.*)::text = (x.*)::text`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != len(money) {
		t.Errorf("%d rows equal, want %d", n, len(money))
	}
}
