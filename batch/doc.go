// Package batch computes portfolio snapshots and analytics for every
// missing trading day. This version provides the trading calendar
// (NYSE by default, pluggable through the Calendar interface); the
// backfill engine builds on it.
package batch
