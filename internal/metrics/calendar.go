package metrics

import (
	"fmt"
	"time"
)

// Interval is the length of the buckets a table is computed over.
type Interval string

// The intervals. Months are calendar months in UTC, weeks are ISO weeks
// (Monday to Sunday, UTC), days are UTC days.
const (
	Month Interval = "month"
	Week  Interval = "week"
	Day   Interval = "day"
)

// ParseInterval validates an interval name; empty means Month.
func ParseInterval(s string) (Interval, error) {
	switch Interval(s) {
	case "", Month:
		return Month, nil
	case Week, Day:
		return Interval(s), nil
	}
	return "", fmt.Errorf("unknown interval %q: want month, week or day", s)
}

// epochMonday is 1970-01-05, the first Monday after the unix epoch: week
// buckets count from it.
const epochMonday = 4 * 86400

// bucketOf is the index of the bucket that holds unix time t. Indexes are
// months since 1970-01, ISO weeks since the week of 1970-01-05, or days
// since 1970-01-01, so they order and subtract like the buckets do.
func (iv Interval) bucketOf(t int64) int {
	switch iv {
	case Week:
		return int(floorDiv(t-epochMonday, 7*86400))
	case Day:
		return int(floorDiv(t, 86400))
	}
	u := time.Unix(t, 0).UTC()
	return (u.Year()-1970)*12 + int(u.Month()) - 1
}

// start is the first instant of bucket i, in unix seconds.
func (iv Interval) start(i int) int64 {
	switch iv {
	case Week:
		return epochMonday + int64(i)*7*86400
	case Day:
		return int64(i) * 86400
	}
	y, m := 1970+floorDivInt(i, 12), i-floorDivInt(i, 12)*12
	return time.Date(y, time.Month(m+1), 1, 0, 0, 0, 0, time.UTC).Unix()
}

// end is the last instant of bucket i (the next bucket's start less one
// second): the moment whose MRR is the bucket's MRR.
func (iv Interval) end(i int) int64 { return iv.start(i+1) - 1 }

// label names bucket i: "2024-05" for a month, the first day for a week or a day.
func (iv Interval) label(i int) string {
	t := time.Unix(iv.start(i), 0).UTC()
	if iv == Month {
		return t.Format("2006-01")
	}
	return t.Format(time.DateOnly)
}

// yearBack is how many buckets make the 12 months NRR and GRR look back over.
func (iv Interval) yearBack() int {
	switch iv {
	case Week:
		return 52
	case Day:
		return 365
	}
	return 12
}

// ParseMonth parses "YYYY-MM" into the first instant of that month (UTC).
func ParseMonth(s string) (time.Time, error) {
	t, err := time.Parse("2006-01", s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not a month (YYYY-MM)", s)
	}
	return t, nil
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

func floorDivInt(a, b int) int { return int(floorDiv(int64(a), int64(b))) }

// ParseInstant parses a date (meaning 00:00 UTC) or an RFC 3339 date-time.
func ParseInstant(s string) (time.Time, error) {
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return t, fmt.Errorf("%q is neither a date (2024-05-01) nor an RFC 3339 time (2024-05-01T09:30:00+09:00)", s)
	}
	return t, nil
}
