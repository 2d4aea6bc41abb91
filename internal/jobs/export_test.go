package jobs

import "time"

// Backoff exposes the retry delay to the tests.
func Backoff(base, max time.Duration, n int, u float64) time.Duration {
	return backoff{base: base, max: max}.delay(n, u)
}
