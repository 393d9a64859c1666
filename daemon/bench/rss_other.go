//go:build !unix

package bench

// peakRSS is 0 where getrusage does not exist.
func peakRSS() int64 { return 0 }

// cpuSeconds is 0 where getrusage does not exist.
func cpuSeconds() float64 { return 0 }
