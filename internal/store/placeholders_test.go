package store_test

import (
	"testing"

	"github.com/kizuna-cs/kizuna/internal/store"
)

func TestPlaceholders(t *testing.T) {
	for _, tt := range []struct {
		first, n int
		want     string
	}{
		{1, 0, ""},
		{1, 1, "$1"},
		{2, 3, "$2, $3, $4"},
		{9, 2, "$9, $10"},
	} {
		if got := store.Placeholders(tt.first, tt.n); got != tt.want {
			t.Errorf("Placeholders(%d, %d) = %q, want %q", tt.first, tt.n, got, tt.want)
		}
	}
}
