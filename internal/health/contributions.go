package health

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// The stored form of a score's contributions. health_current and
// health_scores hold one a score, so a day of history holds one an account:
// as JSON (about 800 bytes for the default model, two thirds of it keys)
// that was 90 MB a day at 100,000 accounts. The compact form keeps the same
// fields by position, about 300 bytes:
//
//	~LEN:MEASURE,APPLIED,VALUE,SCORE,WEIGHT,SHARE,POINTS;...
//
// LEN is the measure name's length in bytes, so any name reads back whole;
// APPLIED is 0 or 1; the numbers are Go's shortest 'g' form, which parses
// back to the same float64. Rows written before it hold JSON, which
// parseContributions still reads. The form is deterministic, so the stage
// can compare a new score's text with the stored one to skip unchanged rows.
const compactMark = '~'

// appendContributions appends the compact form of cs to b.
func appendContributions(b []byte, cs []Contribution) ([]byte, error) {
	b = append(b, compactMark)
	for i := range cs {
		c := &cs[i]
		b = strconv.AppendInt(b, int64(len(c.Measure)), 10)
		b = append(b, ':')
		b = append(b, c.Measure...)
		b = append(b, ',')
		if c.Applied {
			b = append(b, '1')
		} else {
			b = append(b, '0')
		}
		for _, f := range [...]float64{c.Value, c.Score, c.Weight, c.Share, c.Points} {
			if math.IsInf(f, 0) || math.IsNaN(f) {
				return nil, fmt.Errorf("measure %s: unsupported value %v", c.Measure, f)
			}
			b = append(b, ',')
			b = strconv.AppendFloat(b, f, 'g', -1, 64)
		}
		b = append(b, ';')
	}
	return b, nil
}

// parseContributions reads a stored explanation in either form: compact, or
// the JSON of rows written before it.
func parseContributions(s string) ([]Contribution, error) {
	if s == "" || s[0] != compactMark {
		var cs []Contribution
		if err := json.Unmarshal([]byte(s), &cs); err != nil {
			return nil, err
		}
		if cs == nil {
			cs = []Contribution{}
		}
		return cs, nil
	}
	rest := s[1:]
	cs := make([]Contribution, 0, strings.Count(rest, ";"))
	for rest != "" {
		at := len(s) - len(rest)
		c, r, err := parseContribution(rest)
		if err != nil {
			return nil, fmt.Errorf("byte %d: %w", at, err)
		}
		cs, rest = append(cs, c), r
	}
	return cs, nil
}

var errContribution = errors.New("malformed measure")

// parseContribution reads one measure off the front of s and returns the rest.
func parseContribution(s string) (Contribution, string, error) {
	var c Contribution
	colon := strings.IndexByte(s, ':')
	if colon < 1 {
		return c, "", fmt.Errorf("%w: no name length", errContribution)
	}
	n, err := strconv.Atoi(s[:colon])
	if err != nil || n < 0 || colon+1+n > len(s) {
		return c, "", fmt.Errorf("%w: bad name length %q", errContribution, s[:colon])
	}
	c.Measure, s = s[colon+1:colon+1+n], s[colon+1+n:]
	end := strings.IndexByte(s, ';')
	if end < 0 {
		return c, "", fmt.Errorf("%w: measure %s: no end", errContribution, c.Measure)
	}
	fields := strings.Split(s[:end], ",")
	if len(fields) != 7 || fields[0] != "" || (fields[1] != "0" && fields[1] != "1") {
		return c, "", fmt.Errorf("%w: measure %s: %q", errContribution, c.Measure, s[:end])
	}
	c.Applied = fields[1] == "1"
	for i, p := range [...]*float64{&c.Value, &c.Score, &c.Weight, &c.Share, &c.Points} {
		if *p, err = strconv.ParseFloat(fields[2+i], 64); err != nil {
			return c, "", fmt.Errorf("%w: measure %s: %w", errContribution, c.Measure, err)
		}
	}
	return c, s[end+1:], nil
}

// sameBesidesValues reports whether a and b, stored explanations, differ at
// most in their measures' values: the same measures, applied alike, with
// the same scores, weights, shares and points. A daily run keeps the row of
// a score explained the same way (see Stage). Anything but two well-formed
// compact forms compares whole.
func sameBesidesValues(a, b string) bool {
	if a == b || a == "" || b == "" || a[0] != compactMark || b[0] != compactMark {
		return a == b
	}
	a, b = a[1:], b[1:]
	for a != "" && b != "" {
		ha, ta, ra, ok := splitValue(a)
		if !ok {
			return false
		}
		hb, tb, rb, ok := splitValue(b)
		if !ok || ha != hb || ta != tb {
			return false
		}
		a, b = ra, rb
	}
	return a == b
}

// splitValue cuts the first measure of a compact explanation around its
// value: head is "LEN:MEASURE,APPLIED,", tail ",SCORE,WEIGHT,SHARE,POINTS;"
// and rest the measures after it.
func splitValue(s string) (head, tail, rest string, ok bool) {
	colon := strings.IndexByte(s, ':')
	if colon < 1 {
		return "", "", "", false
	}
	n, err := strconv.Atoi(s[:colon])
	h := colon + 1 + n + 3 // the name, then ",A,"
	if err != nil || n < 0 || h > len(s) {
		return "", "", "", false
	}
	v := strings.IndexByte(s[h:], ',')
	end := strings.IndexByte(s[h:], ';')
	if v < 0 || end < v {
		return "", "", "", false
	}
	return s[:h], s[h+v : h+end+1], s[h+end+1:], true
}
