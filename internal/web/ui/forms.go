package ui

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/kizuna-cs/kizuna/internal/audit"
	"github.com/kizuna-cs/kizuna/internal/rule"
)

// actor is how the audit log names the signed-in user, as the API does.
func actor(rq *Request) string { return audit.UserActor(rq.User.Email) }

// origin is the scheme and host this request came to
// (https://cs.example.com), for the links a page hands out.
func (rq *Request) origin() string {
	scheme := "http"
	if rq.TLS != nil || rq.Header.Get("X-Forwarded-Proto") == "https" {
		scheme = "https"
	}
	return scheme + "://" + rq.Host
}

// fieldErrors are a form's messages by field name, shown beside the fields.
type fieldErrors map[string]string

// add keeps the first message of a field: the first problem is the one to
// fix first.
func (e fieldErrors) add(field, msg string) {
	if _, ok := e[field]; !ok {
		e[field] = msg
	}
}

// ruleMessage is a rule's compile error as the user reads it: the line,
// the column and the reason, so they can find the typo.
func ruleMessage(l *Locale, line, col int, msg string) string {
	return l.T("Line %d, column %d: %s", line, col, msg)
}

// ruleText is ruleMessage of err when it is a *rule.Error; ok is false for
// any other error, which is the server's, not the user's.
func ruleText(l *Locale, err error) (msg string, ok bool) {
	var re *rule.Error
	if !errors.As(err, &re) {
		return "", false
	}
	return ruleMessage(l, re.Line, re.Column, re.Message), true
}

// ruleError formats err, a *rule.Error or another error, for the user.
func ruleError(l *Locale, err error) string {
	if msg, ok := ruleText(l, err); ok {
		return msg
	}
	return err.Error()
}

// The form parsers read a posted field by its name and record a problem
// under field (the name the messages are shown beside, often the API's
// JSON name); a blank field is not a problem, it is the default.

// formIntOr reads a whole number; blank or not a number gives def.
func formIntOr(rq *Request, errs fieldErrors, name, field string, def int) int {
	v := strings.TrimSpace(rq.PostFormValue(name))
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		errs.add(field, rq.Loc.T("%q is not a whole number.", v))
		return def
	}
	return n
}

// formInt reads a whole number; blank is 0.
func formInt(rq *Request, errs fieldErrors, name, field string) int {
	return formIntOr(rq, errs, name, field, 0)
}

// formOptFloat reads a number: nil when blank or not a number.
func formOptFloat(rq *Request, errs fieldErrors, name, field string) *float64 {
	v := strings.TrimSpace(rq.PostFormValue(name))
	if v == "" {
		return nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		errs.add(field, rq.Loc.T("%q is not a number.", v))
		return nil
	}
	return &f
}

// formFloat reads a number; blank is 0.
func formFloat(rq *Request, errs fieldErrors, name, field string) float64 {
	if f := formOptFloat(rq, errs, name, field); f != nil {
		return *f
	}
	return 0
}

// formDate reads a date (YYYY-MM-DD, 00:00 UTC): nil when blank or not a date.
func formDate(rq *Request, errs fieldErrors, name, field string) *time.Time {
	v := strings.TrimSpace(rq.PostFormValue(name))
	if v == "" {
		return nil
	}
	t, err := time.Parse(time.DateOnly, v)
	if err != nil {
		errs.add(field, rq.Loc.T("Enter a date as YYYY-MM-DD."))
		return nil
	}
	return &t
}
