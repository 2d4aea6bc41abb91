package ui

import (
	"fmt"
	"html/template"
	"net/url"
	"strings"
	"time"
)

// funcs are the template functions, bound to one locale.
func (u *UI) funcs(l *Locale) template.FuncMap {
	return template.FuncMap{
		"t":          l.T,
		"int":        l.Int,
		"num":        l.Num,
		"pct":        l.Pct,
		"money":      l.Money,
		"moneyShort": l.MoneyShort,
		"date":       l.Date,
		"datetime":   l.DateTime,
		"month":      l.Month,
		"lang":       l.Lang,
		// band is the CSS class of a health band; unknown bands get none,
		// so colour appears only where it means something.
		"band": func(b string) string {
			switch b {
			case "green", "yellow", "red":
				return "band-" + b
			}
			return "band-none"
		},
		// query returns the current query with key set to value (empty
		// removes it): links that change one filter keep the others.
		"query": func(q url.Values, kv ...string) string {
			c := url.Values{}
			for k, v := range q {
				c[k] = append([]string(nil), v...)
			}
			for i := 0; i+1 < len(kv); i += 2 {
				if kv[i+1] == "" {
					c.Del(kv[i])
				} else {
					c.Set(kv[i], kv[i+1])
				}
			}
			if len(c) == 0 {
				return "?"
			}
			return "?" + c.Encode()
		},
		"dict": func(kv ...any) (map[string]any, error) {
			if len(kv)%2 != 0 {
				return nil, fmt.Errorf("dict: odd number of arguments")
			}
			m := make(map[string]any, len(kv)/2)
			for i := 0; i < len(kv); i += 2 {
				k, ok := kv[i].(string)
				if !ok {
					return nil, fmt.Errorf("dict: key %v is not a string", kv[i])
				}
				m[k] = kv[i+1]
			}
			return m, nil
		},
		"join":  strings.Join,
		"upper": strings.ToUpper,
		"since": func(t time.Time) int { return int(time.Since(t).Hours() / 24) },
		// deref shows a nullable number, or "–".
		"pctp": func(x *float64) string {
			if x == nil {
				return "–"
			}
			return l.Pct(*x)
		},
		"nump": func(x *float64, d int) string {
			if x == nil {
				return "–"
			}
			return l.Num(*x, d)
		},
		"html": func(s template.HTML) template.HTML { return s },
	}
}
