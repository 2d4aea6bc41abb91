package ui

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/kizuna-cs/kizuna/internal/audit"
	"github.com/kizuna-cs/kizuna/internal/rule"
	"github.com/kizuna-cs/kizuna/internal/segment"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/user"
)

// registerRules registers playbooks, segments and health models.
func (u *UI) registerRules() {
	u.mux.Handle("POST /rules/validate", u.action(user.RoleManager, u.validateRule))
	u.registerPlaybooks()
	u.registerSegments()
	u.registerHealth()
}

// lookup is v, or a 404 with msg when err is notFound.
func lookup[T any](v T, err, notFound error, msg string) (T, error) {
	if errors.Is(err, notFound) {
		return v, Errorf(http.StatusNotFound, msg)
	}
	return v, err
}

// changeAction is the audit action of a save.
func changeAction(created bool) string {
	if created {
		return audit.ActionCreate
	}
	return audit.ActionUpdate
}

// deleteAndRedirect deletes objectType id with del and records it (before
// is what the audit log keeps) in one transaction, then goes to path.
func (u *UI) deleteAndRedirect(w http.ResponseWriter, rq *Request, objectType, id string, before any,
	del func(context.Context, store.Querier, string) error, path, notice string) error {
	err := u.db.InTx(rq.Context(), func(tx *sql.Tx) error {
		if err := del(rq.Context(), tx, id); err != nil {
			return err
		}
		return audit.Record(rq.Context(), tx, actor(rq), audit.ActionDelete, objectType, id, before, nil)
	})
	if err != nil {
		return err
	}
	redirect(w, rq.Request, path, notice)
	return nil
}

// validateRule answers the editors' live validation (static/app.js,
// data-validate): {ok, error}. kind says the rule's context: bool (a
// condition), number (a health measure) or segment (a condition that may
// not use segments).
func (u *UI) validateRule(w http.ResponseWriter, rq *Request) error {
	src := rq.PostFormValue("rule")
	var err error
	switch kind := rq.PostFormValue("kind"); kind {
	case "", "bool":
		_, err = rule.Compile(src, rule.Bool)
	case "number":
		_, err = rule.Compile(src, rule.Number)
	case "segment":
		_, err = segment.Compile(src)
	default:
		return Errorf(http.StatusBadRequest, rq.Loc.T("Unknown rule kind %q: want bool, number or segment.", kind))
	}
	out := struct {
		OK    bool   `json:"ok"`
		Error string `json:"error,omitempty"`
	}{OK: err == nil}
	if err != nil {
		out.Error = ruleError(rq.Loc, err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	return json.NewEncoder(w).Encode(out)
}

// formatNum shows a stored number in a form field without a trailing .0.
func formatNum(f float64) string {
	return strconv.FormatFloat(f, 'f', -1, 64)
}
