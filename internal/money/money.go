// Package money parses and formats amounts in ISO 4217 currencies. Amounts are
// kept as integers in the currency's minor unit (cents for USD, yen for JPY,
// which has none), so sums are exact.
package money

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"golang.org/x/text/currency"
)

// Exponent is the number of decimals of the currency's minor unit (2 for USD, 0 for JPY).
func Exponent(code string) (int, error) {
	u, err := Currency(code)
	if err != nil {
		return 0, err
	}
	scale, _ := currency.Standard.Rounding(u)
	return scale, nil
}

// Currency validates an ISO 4217 code (case-insensitive) and returns its unit.
func Currency(code string) (currency.Unit, error) {
	if len(code) != 3 {
		return currency.Unit{}, fmt.Errorf("unknown currency %q: want a 3-letter ISO 4217 code", code)
	}
	u, err := currency.ParseISO(strings.ToUpper(code))
	if err != nil {
		return currency.Unit{}, fmt.Errorf("unknown currency %q", code)
	}
	return u, nil
}

// ParseMinor parses a decimal amount in major units ("49.90", "5000", "-3.5")
// into minor units of code. More decimals than the currency has is an error
// rather than a silent rounding.
func ParseMinor(s, code string) (int64, error) {
	exp, err := Exponent(code)
	if err != nil {
		return 0, err
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, errors.New("empty amount")
	}
	neg := false
	switch s[0] {
	case '-':
		neg, s = true, s[1:]
	case '+':
		s = s[1:]
	}
	intPart, frac, hasDot := strings.Cut(s, ".")
	if intPart == "" && frac == "" || hasDot && frac == "" && intPart == "" {
		return 0, fmt.Errorf("%q is not a number", s)
	}
	if strings.ContainsAny(intPart+frac, ".") {
		return 0, fmt.Errorf("%q is not a decimal number", s)
	}
	if len(frac) > exp {
		if strings.Trim(frac[exp:], "0") != "" {
			return 0, fmt.Errorf("%q has more than %d decimals for %s", s, exp, strings.ToUpper(code))
		}
		frac = frac[:exp]
	}
	for _, part := range []string{intPart, frac} {
		for _, r := range part {
			if r < '0' || r > '9' {
				return 0, fmt.Errorf("%q is not a decimal number", s)
			}
		}
	}
	frac += strings.Repeat("0", exp-len(frac))
	digits := strings.TrimLeft(intPart+frac, "0")
	if digits == "" {
		return 0, nil
	}
	v, err := strconv.ParseInt(digits, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is out of range", s)
	}
	if neg {
		v = -v
	}
	return v, nil
}

// Major converts minor units of code to a float in major units.
func Major(minor int64, code string) float64 {
	exp, err := Exponent(code)
	if err != nil {
		exp = 2
	}
	return float64(minor) / math.Pow10(exp)
}

// FormatMinor renders minor units as a plain decimal in major units ("49.90", "5000").
func FormatMinor(minor int64, code string) string {
	exp, err := Exponent(code)
	if err != nil {
		exp = 2
	}
	neg := minor < 0
	if neg {
		minor = -minor
	}
	s := strconv.FormatInt(minor, 10)
	if exp > 0 {
		if len(s) <= exp {
			s = strings.Repeat("0", exp-len(s)+1) + s
		}
		s = s[:len(s)-exp] + "." + s[len(s)-exp:]
	}
	if neg {
		s = "-" + s
	}
	return s
}
