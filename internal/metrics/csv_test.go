package metrics_test

import (
	"strings"
	"testing"

	"github.com/kizuna-cs/kizuna/internal/metrics"
)

func TestWriteCSV(t *testing.T) {
	half, none := 0.5, (*float64)(nil)
	for _, c := range []struct {
		name    string
		header  []string
		records [][]any
		want    string
	}{
		{"numbers in full, nulls empty", []string{"month", "mrr", "customers", "rate", "ltv"},
			[][]any{{"2026-01", 1234.5678, 3, &half, none}}, "month,mrr,customers,rate,ltv\n2026-01,1234.5678,3,0.5,\n"},
		{"no exponent for large amounts", []string{"mrr"}, [][]any{{12000000.25}}, "mrr\n12000000.25\n"},
		{"a group with a comma is quoted", []string{"group", "mrr"}, [][]any{{"Acme, Inc.", 0.0}}, "group,mrr\n\"Acme, Inc.\",0\n"},
		{"only the header", []string{"month", "mrr"}, nil, "month,mrr\n"},
	} {
		var b strings.Builder
		if err := metrics.WriteCSV(&b, c.header, c.records); err != nil || b.String() != c.want {
			t.Errorf("%s: %q (%v), want %q", c.name, b.String(), err, c.want)
		}
	}
}
