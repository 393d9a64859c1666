package portfolio

import "context"

// SetAfterPositionsHook makes c call f inside the onboarding transaction
// right after the positions are written, so tests can fail it there.
func SetAfterPositionsHook(c *Client, f func(context.Context) error) { c.afterPositions = f }
