package program

import (
	"fmt"
	"math"
	"time"
)

// Verdict codes.
const (
	VerdictIncrease     = "increase"          // the interval lies above 0
	VerdictDecrease     = "decrease"          // the interval lies below 0
	VerdictNoEffect     = "no_effect"         // the interval includes 0
	VerdictInsufficient = "insufficient_data" // too few accounts in a group
	VerdictPending      = "pending"           // the measure's window has not ended
)

// ProgramVerdict is a result in plain language. Text is the English sentence;
// Format (an English message key of the UI's catalogs) and Args give it
// again for translation: fmt.Sprintf(Format, Args...) == Text.
type ProgramVerdict struct {
	Code   string `json:"code" enum:"increase,decrease,no_effect,insufficient_data,pending"`
	Text   string `json:"text"`
	Format string `json:"format"`
	Args   []any  `json:"args"`
}

func verdict(code, format string, args ...any) ProgramVerdict {
	return ProgramVerdict{Code: code, Text: fmt.Sprintf(format, args...), Format: format, Args: args}
}

// The verdict formats, English message keys the UI translates
// (internal/web/ui/locales/ja/programs.json).
const (
	FormatEffect       = "%s %s, 95%% CI %s to %s"
	FormatNoEffect     = "no measurable effect yet on %s (%s, 95%% CI %s to %s)"
	FormatInsufficient = "not enough accounts to measure %s (participants %d, control %d; at least %d each)"
	FormatPending      = "too early to measure %s: its window ends on %s"
	FormatNoChange     = "no measurable effect yet on %s: no account's value changed"
)

// effectVerdict words an estimate and its interval. A proportion (share
// true) is stated in percentage points.
func effectVerdict(label string, effect, low, high float64, share bool) ProgramVerdict {
	scale, unit := 1.0, ""
	if share {
		scale, unit = 100, " points"
	}
	e, l, h := effect*scale, low*scale, high*scale
	// Whole numbers when the interval is wide, one decimal when narrow.
	prec := 0
	if math.Max(math.Abs(l), math.Abs(h)) < 10 {
		prec = 1
	}
	// Rounding to 0 gives "0", never "-0" or "+0".
	clean := func(v float64) float64 {
		p := math.Pow10(prec)
		if v = math.Round(v*p) / p; v == 0 {
			return 0
		}
		return v
	}
	num := func(v float64) string { return fmt.Sprintf("%.*f", prec, clean(v)) }
	signed := fmt.Sprintf("%+.*f%s", prec, clean(e), unit)
	if clean(e) == 0 {
		signed = num(0) + unit
	}
	switch {
	case low > 0:
		return verdict(VerdictIncrease, FormatEffect, label, signed, num(l), num(h))
	case high < 0:
		return verdict(VerdictDecrease, FormatEffect, label, signed, num(l), num(h))
	}
	return verdict(VerdictNoEffect, FormatNoEffect, label, signed, num(l), num(h))
}

// noChangeVerdict is the verdict when neither group varies at all: the
// estimate is 0 and there is no spread to build an interval from.
func noChangeVerdict(label string) ProgramVerdict {
	return verdict(VerdictNoEffect, FormatNoChange, label)
}

func insufficientVerdict(label string, treated, control, need int) ProgramVerdict {
	return verdict(VerdictInsufficient, FormatInsufficient, label, treated, control, need)
}

func pendingVerdict(label string, ends time.Time) ProgramVerdict {
	return verdict(VerdictPending, FormatPending, label, ends.Format(time.DateOnly))
}
