package csvimport

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/kizuna-cs/kizuna/internal/account"
	"github.com/kizuna-cs/kizuna/internal/money"
)

// Dates outside these years are almost always typos (0204 for 2024) and are refused.
const (
	minYear = 1900
	maxYear = 2200
)

// row reads the fields of one CSV record by column name and collects every
// problem it finds, so a row is reported with all its bad columns at once.
type row struct {
	rec        []string
	idx        map[string]int
	reporting  string
	errs       []fieldError
	currencyOK bool
}

type fieldError struct{ column, reason string }

func (r *row) fail(column, format string, args ...any) {
	r.errs = append(r.errs, fieldError{column, fmt.Sprintf(format, args...)})
}

// str is the trimmed value of column, "" when the column is absent.
func (r *row) str(column string) string {
	i, ok := r.idx[column]
	if !ok || i >= len(r.rec) {
		return ""
	}
	return strings.TrimSpace(r.rec[i])
}

// req is str, failing when the value is empty.
func (r *row) req(column string) string {
	v := r.str(column)
	if v == "" {
		r.fail(column, "required value is empty")
	}
	return v
}

// opt is the value or nil (SQL NULL) when empty.
func (r *row) opt(column string) any {
	if v := r.str(column); v != "" {
		return v
	}
	return nil
}

// time parses an ISO 8601 date (00:00 UTC) or date-time with offset into unix
// seconds; nil when empty and not required.
func (r *row) time(column string, required bool) any {
	if t, ok := r.unix(column, required); ok {
		return t
	}
	return nil
}

// unix is time without boxing the result; ok is false when the value is
// empty or bad (and then reported if it is bad or required).
func (r *row) unix(column string, required bool) (ts int64, ok bool) {
	v := r.str(column)
	if v == "" {
		if required {
			r.fail(column, "required value is empty")
		}
		return 0, false
	}
	var t time.Time
	var err error
	if len(v) == len("2006-01-02") {
		t, err = account.ParseDate(v)
	} else {
		// What ParseDate does for anything but a plain date, without first
		// failing (and allocating an error) on the date layout.
		t, err = time.Parse(time.RFC3339Nano, v)
	}
	if err != nil {
		r.fail(column, "%q is not a date (want YYYY-MM-DD or a date-time with offset such as 2024-05-01T09:30:00+09:00)", v)
		return 0, false
	}
	if y := t.Year(); y < minYear || y > maxYear {
		r.fail(column, "%q is out of range (years %d to %d)", v, minYear, maxYear)
		return 0, false
	}
	return t.Unix(), true
}

// month parses YYYY-MM.
func (r *row) month(column string) string {
	v := r.req(column)
	if v == "" {
		return ""
	}
	t, err := time.Parse("2006-01", v)
	if err != nil || t.Year() < minYear || t.Year() > maxYear {
		r.fail(column, "%q is not a month (want YYYY-MM)", v)
		return ""
	}
	return t.Format("2006-01")
}

// currency is the upper-cased ISO 4217 code in column, or the reporting
// currency when empty.
func (r *row) currency(column string) string {
	v := strings.ToUpper(r.str(column))
	if v == "" {
		r.currencyOK = true
		return r.reporting
	}
	if _, err := money.Currency(v); err != nil {
		r.fail(column, "unknown currency %q (want an ISO 4217 code such as USD, EUR, JPY)", v)
		r.currencyOK = false
		return v
	}
	r.currencyOK = true
	return v
}

// money parses a required decimal amount in major units of cur into minor
// units. Call currency first: an amount in an unknown currency is not
// reported twice.
func (r *row) money(column, cur string, allowNegative bool) int64 {
	v := r.req(column)
	if v == "" || !r.currencyOK {
		return 0
	}
	m, err := money.ParseMinor(v, cur)
	if err != nil {
		r.fail(column, "%v", err)
		return 0
	}
	if m < 0 && !allowNegative {
		r.fail(column, "%q is negative", v)
	}
	return m
}

// integer parses an integer in [lo, hi]; nil when empty and not required.
func (r *row) integer(column string, lo, hi int64, required bool) any {
	v := r.str(column)
	if v == "" {
		if required {
			r.fail(column, "required value is empty")
		}
		return nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		r.fail(column, "%q is not a whole number", v)
		return nil
	}
	if n < lo || n > hi {
		r.fail(column, "%d is out of range (%d to %d)", n, lo, hi)
		return nil
	}
	return n
}

// number parses an optional non-negative decimal number.
func (r *row) number(column string) any {
	v := r.str(column)
	if v == "" {
		return nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f != f || f < 0 || f > 1e15 {
		r.fail(column, "%q is not a non-negative number", v)
		return nil
	}
	return f
}

// oneOf is the lower-cased value if it is one of allowed, def when empty.
func (r *row) oneOf(column, def string, allowed ...string) string {
	v := strings.ToLower(r.str(column))
	if v == "" {
		if def == "" {
			r.fail(column, "required value is empty (one of %s)", strings.Join(allowed, ", "))
		}
		return def
	}
	for _, a := range allowed {
		if v == a {
			return v
		}
	}
	r.fail(column, "%q is not one of %s", v, strings.Join(allowed, ", "))
	return v
}

// email checks an optional email address.
func (r *row) email(column string) any {
	v := r.str(column)
	if v == "" {
		return nil
	}
	at := strings.IndexByte(v, '@')
	if at < 1 || at == len(v)-1 || strings.ContainsAny(v, " ,;<>") {
		r.fail(column, "%q is not an email address", v)
		return nil
	}
	return strings.ToLower(v)
}

// jsonObject checks that the value is a JSON object; "{}" when empty.
func (r *row) jsonObject(column string) string {
	v := r.str(column)
	if v == "" {
		return "{}"
	}
	if v[0] != '{' || !json.Valid([]byte(v)) {
		r.fail(column, "not a JSON object")
		return "{}"
	}
	return v
}
