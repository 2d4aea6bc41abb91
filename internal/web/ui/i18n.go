package ui

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"math"
	"net/http"
	"path"
	"strings"
	"time"

	"golang.org/x/text/language"
	"golang.org/x/text/message"
	"golang.org/x/text/message/catalog"

	"github.com/kizuna-cs/kizuna/internal/money"
)

// The UI's strings are written in English in the templates and the Go code
// ({{t "Accounts"}}, loc.T("Accounts")); English is the key, so a page reads
// naturally and a missing translation shows English rather than a key.
// locales/ja/*.json map each key to its Japanese text, one file per page or
// area so that work on different pages does not collide. A test checks that
// every key the templates use has a Japanese entry and that no entry is
// unused.

// langs are the UI's languages; the first is the fallback.
var langs = []language.Tag{language.English, language.Japanese}

var matcher = language.NewMatcher(langs)

// loadCatalog reads locales/ja/*.json into a catalog.
func loadCatalog(fsys fs.FS) (*catalog.Builder, map[string]string, error) {
	b := catalog.NewBuilder(catalog.Fallback(language.English))
	ja := map[string]string{}
	files, err := fs.Glob(fsys, "locales/ja/*.json")
	if err != nil {
		return nil, nil, err
	}
	for _, f := range files {
		data, err := fs.ReadFile(fsys, f)
		if err != nil {
			return nil, nil, err
		}
		var m map[string]string
		if err := json.Unmarshal(data, &m); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", f, err)
		}
		for k, v := range m {
			if prev, ok := ja[k]; ok && prev != v {
				return nil, nil, fmt.Errorf("%s: %q is translated twice: %q and %q", path.Base(f), k, prev, v)
			}
			ja[k] = v
			if err := b.SetString(language.Japanese, k, v); err != nil {
				return nil, nil, fmt.Errorf("%s: %q: %w", f, k, err)
			}
		}
	}
	return b, ja, nil
}

// Locale formats text, numbers, dates and money for one language.
type Locale struct {
	Tag language.Tag
	p   *message.Printer
}

func newLocale(tag language.Tag, cat catalog.Catalog) *Locale {
	return &Locale{Tag: tag, p: message.NewPrinter(tag, message.Catalog(cat))}
}

// Lang is the locale's language as a short tag ("en", "ja").
func (l *Locale) Lang() string { return tagLang(l.Tag) }

func tagLang(tag language.Tag) string {
	base, _ := tag.Base()
	return base.String()
}

// BrowserLanguage is the language ("en" or "ja") the UI speaks to r when
// its user chose none: the best match of the browser's Accept-Language,
// else English. Pages outside the UI (a survey respondent's) use it too.
func BrowserLanguage(r *http.Request) string { return tagLang(pickLocale(r, "")) }

// T translates key, a format in English, and formats args into it with
// the locale's number formatting.
func (l *Locale) T(key string, args ...any) string { return l.p.Sprintf(key, args...) }

// Reason is a domain package's validation message in the locale's language:
// format and args as the package formatted them (its English text is the
// catalog's key). In English, or when the error carries no format, it is
// english, the package's own text, as the API says it.
func (l *Locale) Reason(format string, args []any, english string) string {
	if format == "" || l.Lang() == "en" {
		return english
	}
	return l.p.Sprintf(format, args...)
}

// Int formats n with the locale's digit grouping.
func (l *Locale) Int(n any) string { return l.p.Sprintf("%d", n) }

// Num formats x with the given number of decimals and digit grouping.
func (l *Locale) Num(x float64, decimals int) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return "–"
	}
	return l.p.Sprintf("%.*f", decimals, x)
}

// Pct formats a fraction (0.125) as a percentage with one decimal ("12.5%").
func (l *Locale) Pct(x float64) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return "–"
	}
	return l.p.Sprintf("%.1f%%", x*100)
}

var symbols = map[string]string{"USD": "$", "JPY": "¥", "EUR": "€", "GBP": "£", "CNY": "CN¥", "KRW": "₩", "INR": "₹", "AUD": "A$", "CAD": "CA$"}

// Money formats an amount in major units of a currency: as many decimals as
// the currency has (none for JPY), digit grouping, and its symbol.
func (l *Locale) Money(major float64, code string) string {
	code = strings.ToUpper(code)
	exp, err := money.Exponent(code)
	if err != nil {
		exp = 2
	}
	if math.IsNaN(major) || math.IsInf(major, 0) {
		return "–"
	}
	sign := ""
	if major < 0 {
		sign, major = "-", -major
	}
	s := l.p.Sprintf("%.*f", exp, major)
	if sym, ok := symbols[code]; ok {
		return sign + sym + s
	}
	return sign + s + " " + code
}

// MoneyShort formats a large amount compactly for a chart axis or a tile
// ("$1.2M", "¥3,400万" in Japanese, which counts in 万 and 億).
func (l *Locale) MoneyShort(major float64, code string) string {
	code = strings.ToUpper(code)
	sym, ok := symbols[code]
	if !ok {
		sym = code + " "
	}
	sign := ""
	if major < 0 {
		sign, major = "-", -major
	}
	if l.Lang() == "ja" {
		switch {
		case major >= 1e8:
			return sign + sym + l.p.Sprintf("%.1f億", major/1e8)
		case major >= 1e4:
			return sign + sym + l.p.Sprintf("%.0f万", major/1e4)
		}
		return sign + sym + l.p.Sprintf("%.0f", major)
	}
	switch {
	case major >= 1e9:
		return sign + sym + l.p.Sprintf("%.1fB", major/1e9)
	case major >= 1e6:
		return sign + sym + l.p.Sprintf("%.1fM", major/1e6)
	case major >= 1e4:
		return sign + sym + l.p.Sprintf("%.0fk", major/1e3)
	}
	return sign + sym + l.p.Sprintf("%.0f", major)
}

// Date formats a day: "2 Dec 2026", "2026年12月2日". The zero time is "–".
func (l *Locale) Date(t time.Time) string {
	if t.IsZero() {
		return "–"
	}
	t = t.UTC()
	if l.Lang() == "ja" {
		return fmt.Sprintf("%d年%d月%d日", t.Year(), t.Month(), t.Day())
	}
	return t.Format("2 Jan 2006")
}

// DateTime formats an instant to the minute, in UTC.
func (l *Locale) DateTime(t time.Time) string {
	if t.IsZero() {
		return "–"
	}
	t = t.UTC()
	if l.Lang() == "ja" {
		return fmt.Sprintf("%d年%d月%d日 %02d:%02d UTC", t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute())
	}
	return t.Format("2 Jan 2006 15:04 UTC")
}

// Month formats a month given as "2026-12" or a time: "Dec 2026", "2026年12月".
func (l *Locale) Month(m any) string {
	var t time.Time
	switch v := m.(type) {
	case time.Time:
		t = v
	case string:
		var err error
		if t, err = time.Parse("2006-01", v); err != nil {
			return v
		}
	default:
		return fmt.Sprint(m)
	}
	if l.Lang() == "ja" {
		return fmt.Sprintf("%d年%d月", t.Year(), t.Month())
	}
	return t.Format("Jan 2006")
}

// pickLocale chooses the language of a request: the user's choice, else the
// browser's Accept-Language, else English.
func pickLocale(r *http.Request, chosen string) language.Tag {
	if chosen != "" {
		if tag, err := language.Parse(chosen); err == nil {
			_, i, _ := matcher.Match(tag)
			return langs[i]
		}
	}
	tags, _, _ := language.ParseAcceptLanguage(r.Header.Get("Accept-Language"))
	_, i, _ := matcher.Match(tags...)
	return langs[i]
}
