// Package bench measures the system end to end on a seeded synthetic
// world: prices for a universe of symbols, portfolios onboarded through
// the onboarding API, and reconcilers running in this process until every
// portfolio is current, with a raw COPY of the same rows as a baseline.
// It is what `backfilld bench` runs.
//
// A run works in a fresh schema of its own (bench_SEED_PID), dropped at the
// end unless Options.Keep, so it never touches real data:
//
//	opts := bench.DefaultOptions()
//	opts.Portfolios, opts.Replicas = 10_000, 2
//	opts.Progress = os.Stderr
//	rep, err := bench.Run(ctx, pool, opts)
//	if rep != nil {
//		bench.Print(os.Stdout, rep)
//	}
package bench
