package metrics

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
)

// Columns are the table's columns, the JSON keys of its rows (CONTRACT.md:
// "--format csv has the same keys as columns"): Keys, with "period" for
// "month" when the buckets are weeks or days, then ExtendedKeys when they
// were computed, and "group" first when the table is broken down.
func (t *Table) Columns() []string {
	keys := append([]string(nil), Keys...)
	if t.Interval != Month {
		keys[0] = "period"
	}
	if len(t.Rows) > 0 && t.Rows[0].Extended != nil {
		keys = append(keys, ExtendedKeys...)
	}
	if t.By != "" {
		keys = append([]string{"group"}, keys...)
	}
	return keys
}

// Records are the rows' values in the order of Columns.
func (t *Table) Records() [][]any {
	out := make([][]any, 0, len(t.Rows))
	for _, r := range t.Rows {
		v := r.Values()
		if r.Group != nil {
			v = append([]any{*r.Group}, v...)
		}
		out = append(out, v)
	}
	return out
}

// WriteCSV writes the table as `kizuna metrics monthly --format csv` and
// the UI's download do: a header of Columns, then a line per row.
func (t *Table) WriteCSV(w io.Writer) error {
	return WriteCSV(w, t.Columns(), t.Records())
}

// WriteCSV writes a header and records as CSV, each value as CSVValue
// writes it.
func WriteCSV(w io.Writer, header []string, records [][]any) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(header); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	rec := make([]string, 0, len(header))
	for _, r := range records {
		rec = rec[:0]
		for _, v := range r {
			rec = append(rec, CSVValue(v))
		}
		if err := cw.Write(rec); err != nil {
			return fmt.Errorf("write csv: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	return nil
}

// CSVValue is a value as a CSV cell: numbers in full (no rounding: the
// file is for computing with), nulls empty.
func CSVValue(v any) string {
	switch x := v.(type) {
	case *float64:
		if x == nil {
			return ""
		}
		return strconv.FormatFloat(*x, 'f', -1, 64)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case int:
		return strconv.Itoa(x)
	case string:
		return x
	}
	return fmt.Sprint(v)
}
