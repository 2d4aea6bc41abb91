package health

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
)

// contributionsJSON appends cs to b as json.Marshal writes them (the stored
// form of a score's contributions, which reads back with json.Unmarshal and
// is compared with the stored one to skip unchanged rows), without its
// reflection: the recompute marshals a slice a score, and json.Marshal was
// a fifth of the health stage's time. names caches the measures' names as
// JSON strings, which repeat from account to account.
func contributionsJSON(b []byte, cs []Contribution, names map[string][]byte) ([]byte, error) {
	if cs == nil {
		return append(b, "null"...), nil
	}
	b = append(b, '[')
	for i := range cs {
		c := &cs[i]
		if i > 0 {
			b = append(b, ',')
		}
		name, ok := names[c.Measure]
		if !ok {
			var err error
			if name, err = json.Marshal(c.Measure); err != nil {
				return nil, err
			}
			names[c.Measure] = name
		}
		b = append(b, `{"measure":`...)
		b = append(b, name...)
		b = append(b, `,"applied":`...)
		b = strconv.AppendBool(b, c.Applied)
		for _, f := range [...]struct {
			key string
			v   float64
		}{{`,"value":`, c.Value}, {`,"score":`, c.Score}, {`,"weight":`, c.Weight}, {`,"share":`, c.Share}, {`,"points":`, c.Points}} {
			b = append(b, f.key...)
			var err error
			if b, err = appendJSONFloat(b, f.v); err != nil {
				return nil, fmt.Errorf("measure %s: %w", c.Measure, err)
			}
		}
		b = append(b, '}')
	}
	return append(b, ']'), nil
}

// appendJSONFloat appends f as encoding/json writes a float64.
func appendJSONFloat(b []byte, f float64) ([]byte, error) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return nil, fmt.Errorf("json: unsupported value: %s", strconv.FormatFloat(f, 'g', -1, 64))
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// e-09 to e-9, as encoding/json does
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b, nil
}
