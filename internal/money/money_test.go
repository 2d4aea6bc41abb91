package money

import "testing"

func TestParseMinor(t *testing.T) {
	tests := []struct {
		in, cur string
		want    int64
		wantErr bool
	}{
		{"49.90", "USD", 4990, false},
		{"49.9", "usd", 4990, false},
		{"5000", "JPY", 5000, false},
		{"5000.00", "JPY", 5000, false},
		{"5000.5", "JPY", 0, true},
		{"0.001", "USD", 0, true},
		{"1.230", "EUR", 123, false},
		{"-3.5", "USD", -350, false},
		{".5", "USD", 50, false},
		{"12,5", "EUR", 0, true},
		{"abc", "USD", 0, true},
		{"", "USD", 0, true},
		{"1", "XYZ", 0, true},
		{"1", "US", 0, true},
		{"0.125", "BHD", 125, false},
		{"99999999999999999999", "USD", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseMinor(tt.in, tt.cur)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseMinor(%q, %s) = %d, %v; want %d, err %v", tt.in, tt.cur, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestFormatMinor(t *testing.T) {
	tests := []struct {
		minor int64
		cur   string
		want  string
	}{
		{4990, "USD", "49.90"}, {5, "USD", "0.05"}, {-350, "USD", "-3.50"}, {5000, "JPY", "5000"}, {0, "EUR", "0.00"},
	}
	for _, tt := range tests {
		if got := FormatMinor(tt.minor, tt.cur); got != tt.want {
			t.Errorf("FormatMinor(%d, %s) = %q, want %q", tt.minor, tt.cur, got, tt.want)
		}
		if back, err := ParseMinor(tt.want, tt.cur); err != nil || back != tt.minor {
			t.Errorf("round trip %q: %d, %v", tt.want, back, err)
		}
	}
	if got := Major(4990, "USD"); got != 49.90 {
		t.Errorf("Major = %v", got)
	}
}
