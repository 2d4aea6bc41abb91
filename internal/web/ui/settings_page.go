package ui

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base32"
	"errors"
	"net/http"
	"net/mail"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kizuna-cs/kizuna/internal/apikey"
	"github.com/kizuna-cs/kizuna/internal/audit"
	"github.com/kizuna-cs/kizuna/internal/billing"
	"github.com/kizuna-cs/kizuna/internal/churn"
	"github.com/kizuna-cs/kizuna/internal/money"
	"github.com/kizuna-cs/kizuna/internal/playbook"
	"github.com/kizuna-cs/kizuna/internal/snapshot"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/user"
)

// otherSetting is a setting the settings page edits as one value; its
// owning package checks and stores it.
type otherSetting struct {
	Key, Label, Hint string
	set              func(ctx context.Context, q store.Querier, key, value string) (string, error)
}

// otherSettings are the simple settings beside the ones with their own
// forms (reporting currency, FX rates, key features).
var otherSettings = []otherSetting{
	{churn.SettingRetrainDays, "Churn model retraining", "Days between scheduled retrainings of the churn model; 0 turns it off.", churn.SetSetting},
	{churn.SettingHistoryDays, "Churn score history", "Days of churn scoring runs kept for past snapshots (default 400); 0 keeps every run.", churn.SetSetting},
	{snapshot.SettingOnboardingDays, "Onboarding window", "Days the default onboarding definition gives a new customer (1 to 365).", snapshot.SetSetting},
	{snapshot.SettingLoginEvent, "Login event", "The event that counts as a login (default login).", snapshot.SetSetting},
	{snapshot.SettingSetupEvent, "Setup event", "The event that marks setup as done (default setup).", snapshot.SetSetting},
	{playbook.FallbackSetting, "Fallback assignee", "The user who gets playbook tasks of accounts without an owner.", playbook.SetFallbackAssignee},
}

type settingRow struct {
	otherSetting
	Value string
}

type keyRow struct {
	apikey.Key
	UserEmail string
	LastUsed  time.Time // zero when never used
}

type fxRow struct {
	billing.FXRate
	Rate string // as entered, without rounding
}

// settingsData is the settings page.
type settingsData struct {
	Users          []user.User
	Keys           []keyRow
	Currency       string
	FX             []fxRow
	KeyFeatures    []string
	Others         []settingRow
	Roles          []string
	Scopes         []apikey.Scope
	MinPassword    int
	Errors         map[string]string // by field or row
	Form           url.Values        // the refused form's values, to fill it again
	KeyFeaturesKey string
}

func (u *UI) settingsPage(w http.ResponseWriter, rq *Request) error {
	return u.renderSettings(w, rq, http.StatusOK, nil)
}

// renderSettings shows the settings; errs, when set, are the problems of
// the form just sent, whose values fill the forms again (status 422).
func (u *UI) renderSettings(w http.ResponseWriter, rq *Request, status int, errs map[string]string) error {
	ctx := rq.Context()
	d := &settingsData{Roles: user.Roles, Scopes: apikey.Scopes, MinPassword: user.MinPasswordLength,
		Errors: errs, Form: url.Values{}, KeyFeaturesKey: snapshot.SettingKeyFeatures}
	if errs != nil {
		d.Form = rq.PostForm
	}
	var err error
	if d.Users, err = user.List(ctx, u.db); err != nil {
		return err
	}
	emails := map[string]string{}
	for _, us := range d.Users {
		emails[us.ID] = us.Email
	}
	keys, err := apikey.List(ctx, u.db)
	if err != nil {
		return err
	}
	for _, k := range keys {
		r := keyRow{Key: k, UserEmail: emails[k.UserID]}
		if k.LastUsedAt != nil {
			r.LastUsed = *k.LastUsedAt
		}
		d.Keys = append(d.Keys, r)
	}
	if d.Currency, err = billing.ReportingCurrency(ctx, u.db); err != nil {
		return err
	}
	rates, err := billing.FXRates(ctx, u.db)
	if err != nil {
		return err
	}
	for _, r := range rates {
		d.FX = append(d.FX, fxRow{FXRate: r, Rate: strconv.FormatFloat(r.Rate, 'f', -1, 64)})
	}
	kf, err := store.Setting(ctx, u.db, snapshot.SettingKeyFeatures)
	if err != nil {
		return err
	}
	d.KeyFeatures = splitFeatures(kf)
	for _, s := range otherSettings {
		v, err := store.Setting(ctx, u.db, s.Key)
		if err != nil {
			return err
		}
		d.Others = append(d.Others, settingRow{otherSetting: s, Value: v})
	}
	return u.render(w, rq, status, "settings", rq.Loc.T("Settings"), d)
}

func splitFeatures(v string) []string {
	var out []string
	for f := range strings.SplitSeq(v, ",") {
		if f = strings.TrimSpace(f); f != "" && !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}

// settingsChange runs change in a transaction and, after a success,
// reloads the settings with notice.
func (u *UI) settingsChange(w http.ResponseWriter, rq *Request, notice string, change func(tx *sql.Tx) error) error {
	done, err := u.trySettings(w, rq, change)
	if err != nil || !done {
		return err
	}
	redirect(w, rq.Request, "/settings", notice)
	return nil
}

// trySettings runs change in a transaction. A *fieldProblem from it
// re-renders the settings with the message beside its field (422), and
// done is false; a handler answers a success itself.
func (u *UI) trySettings(w http.ResponseWriter, rq *Request, change func(tx *sql.Tx) error) (done bool, _ error) {
	err := u.db.InTx(rq.Context(), change)
	var fp *fieldProblem
	if errors.As(err, &fp) {
		return false, u.renderSettings(w, rq, http.StatusUnprocessableEntity, map[string]string{fp.field: fp.msg})
	}
	return err == nil, err
}

// fieldProblem is a refused form field, with the message in the user's language.
type fieldProblem struct{ field, msg string }

func (p *fieldProblem) Error() string { return p.field + ": " + p.msg }

func problem(field, msg string) error { return &fieldProblem{field, msg} }

// settingValue is how the audit log shows a setting's value (nil when unset).
func settingValue(v string) any {
	if v == "" {
		return nil
	}
	return map[string]string{"value": v}
}

func (u *UI) createUser(w http.ResponseWriter, rq *Request) error {
	email := strings.ToLower(strings.TrimSpace(rq.PostFormValue("email")))
	name, role, password := strings.TrimSpace(rq.PostFormValue("name")), rq.PostFormValue("role"), rq.PostFormValue("password")
	initial := password == ""
	if initial {
		password = initialPassword()
	}
	var created user.User
	done, err := u.trySettings(w, rq, func(tx *sql.Tx) error {
		if a, err := mail.ParseAddress(email); err != nil || a.Address != email {
			return problem("email", rq.Loc.T("email: %q is not an email address.", email))
		}
		if !slices.Contains(user.Roles, role) {
			return problem("role", rq.Loc.T("Choose a role."))
		}
		if len(password) < user.MinPasswordLength {
			return problem("password", rq.Loc.T("password: at least %d characters, or leave it empty for an initial one.", user.MinPasswordLength))
		}
		var err error
		created, err = user.Create(rq.Context(), tx, email, name, role, password)
		if errors.Is(err, user.ErrExists) {
			return problem("email", rq.Loc.T("A user with this email exists."))
		}
		if err != nil {
			return err
		}
		return audit.Record(rq.Context(), tx, actor(rq), audit.ActionCreate, "user", created.ID, nil, created)
	})
	switch {
	case err != nil || !done:
		return err
	case !initial:
		redirect(w, rq.Request, "/settings", rq.Loc.T("User %s created.", created.Email))
		return nil
	}
	return u.render(w, rq, http.StatusOK, "settings_secret", rq.Loc.T("Settings"), secretView{
		Title:  rq.Loc.T("User %s created", created.Email),
		Label:  rq.Loc.T("Initial password"),
		Secret: password,
		Hint:   rq.Loc.T("Give it to %s by a safe channel. It is shown only now; Kizuna keeps only its hash.", created.Email),
	})
}

// initialPassword is a random password (20 characters, 100 bits) for a
// user the admin does not choose one for.
func initialPassword() string {
	var b [13]byte
	rand.Read(b[:])
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))[:20]
}

// secretView is a page that shows a secret once. Back is the page to
// return to (default the settings), BackLabel its link's text.
type secretView struct {
	Title, Label, Secret, Hint string
	Back, BackLabel            string
}

func (u *UI) setUserRole(w http.ResponseWriter, rq *Request) error {
	id, role := rq.PathValue("id"), rq.PostFormValue("role")
	row := "user-" + id
	var after user.User
	done, err := u.trySettings(w, rq, func(tx *sql.Tx) error {
		if !slices.Contains(user.Roles, role) {
			return problem(row, rq.Loc.T("Choose a role."))
		}
		before, a, err := user.SetRole(rq.Context(), tx, id, role)
		if err != nil {
			return u.userProblem(rq, row, err)
		}
		after = a
		if before.Role == a.Role {
			return nil
		}
		return audit.Record(rq.Context(), tx, actor(rq), audit.ActionUpdate, "user", id, before, a)
	})
	if err != nil || !done {
		return err
	}
	next := "/settings"
	if id == rq.User.ID && role != user.RoleAdmin {
		next = "/" // no longer an admin: the settings would answer 403
	}
	redirect(w, rq.Request, next, rq.Loc.T("%s is now %s.", after.Email, rq.Loc.T(role)))
	return nil
}

func (u *UI) userProblem(rq *Request, row string, err error) error {
	switch {
	case errors.Is(err, user.ErrNotFound):
		return Errorf(http.StatusNotFound, rq.Loc.T("There is no such user."))
	case errors.Is(err, user.ErrLastAdmin):
		return problem(row, rq.Loc.T("This is the last admin: make another user admin first."))
	}
	return err
}

func (u *UI) deleteUser(w http.ResponseWriter, rq *Request) error {
	id := rq.PathValue("id")
	row := "user-" + id
	var gone user.User
	return u.settingsChange(w, rq, rq.Loc.T("User deleted."), func(tx *sql.Tx) error {
		if id == rq.User.ID {
			return problem(row, rq.Loc.T("You cannot delete yourself; another admin can."))
		}
		var err error
		if gone, err = user.Delete(rq.Context(), tx, id); err != nil {
			return u.userProblem(rq, row, err)
		}
		return audit.Record(rq.Context(), tx, actor(rq), audit.ActionDelete, "user", id, gone, nil)
	})
}

func (u *UI) createKey(w http.ResponseWriter, rq *Request) error {
	name, scope, email := strings.TrimSpace(rq.PostFormValue("name")), rq.PostFormValue("scope"), rq.PostFormValue("user_email")
	var k apikey.Key
	var secret string
	done, err := u.trySettings(w, rq, func(tx *sql.Tx) error {
		if name == "" {
			return problem("key_name", rq.Loc.T("name: say what will use the key."))
		}
		sc, err := apikey.ParseScope(scope)
		if err != nil {
			return problem("scope", rq.Loc.T("Choose a scope: read, write or ingest."))
		}
		var userID string
		if email != "" {
			us, err := user.GetByEmail(rq.Context(), tx, email)
			if errors.Is(err, user.ErrNotFound) {
				return problem("user_email", rq.Loc.T("There is no such user."))
			}
			if err != nil {
				return err
			}
			userID = us.ID
		}
		if k, secret, err = apikey.Create(rq.Context(), tx, name, sc, userID); err != nil {
			return err
		}
		return audit.Record(rq.Context(), tx, actor(rq), audit.ActionCreate, "api_key", k.ID, nil, k)
	})
	if err != nil || !done {
		return err
	}
	return u.render(w, rq, http.StatusOK, "settings_secret", rq.Loc.T("Settings"), secretView{
		Title:  rq.Loc.T("API key %s created", k.Name),
		Label:  rq.Loc.T("Secret (scope %s)", string(k.Scope)),
		Secret: secret,
		Hint:   rq.Loc.T("Copy it now: it is shown only once; Kizuna keeps only its hash. Send it as Authorization: Bearer <secret>."),
	})
}

func (u *UI) revokeKey(w http.ResponseWriter, rq *Request) error {
	id := rq.PathValue("id")
	return u.settingsChange(w, rq, rq.Loc.T("API key revoked."), func(tx *sql.Tx) error {
		before, err := apikey.Get(rq.Context(), tx, id)
		if errors.Is(err, apikey.ErrNotFound) {
			return Errorf(http.StatusNotFound, rq.Loc.T("There is no such API key."))
		}
		if err != nil {
			return err
		}
		after, err := apikey.Revoke(rq.Context(), tx, id)
		if err != nil || before.RevokedAt != nil {
			return err // revoking a revoked key changes nothing
		}
		return audit.Record(rq.Context(), tx, actor(rq), audit.ActionRevoke, "api_key", id, before, after)
	})
}

// currencyCode checks an ISO 4217 code from a form field.
func currencyCode(rq *Request, field string) (string, error) {
	code := strings.ToUpper(strings.TrimSpace(rq.PostFormValue(field)))
	if _, err := money.Currency(code); err != nil || len(code) != 3 {
		return "", problem(field, rq.Loc.T("%q is not an ISO 4217 currency code (such as USD, EUR, JPY).", code))
	}
	return code, nil
}

func (u *UI) setCurrency(w http.ResponseWriter, rq *Request) error {
	return u.settingsChange(w, rq, rq.Loc.T("Reporting currency saved."), func(tx *sql.Tx) error {
		code, err := currencyCode(rq, "currency")
		if err != nil {
			return err
		}
		before, err := billing.ReportingCurrency(rq.Context(), tx)
		if err != nil || before == code {
			return err
		}
		if err := billing.SetReportingCurrency(rq.Context(), tx, code); err != nil {
			return err
		}
		return audit.Record(rq.Context(), tx, actor(rq), audit.ActionUpdate, "setting", "reporting_currency", settingValue(before), settingValue(code))
	})
}

func (u *UI) setFXRate(w http.ResponseWriter, rq *Request) error {
	return u.settingsChange(w, rq, rq.Loc.T("Exchange rate saved."), func(tx *sql.Tx) error {
		code, err := currencyCode(rq, "fx_currency")
		if err != nil {
			return err
		}
		from, err := time.Parse(time.DateOnly, strings.TrimSpace(rq.PostFormValue("fx_from")))
		if err != nil {
			return problem("fx_from", rq.Loc.T("from: want a date (YYYY-MM-DD)."))
		}
		rate, err := strconv.ParseFloat(strings.TrimSpace(rq.PostFormValue("fx_rate")), 64)
		if err != nil || !(rate > 0) || rate > 1e9 {
			return problem("fx_rate", rq.Loc.T("rate: want a positive number (units of the reporting currency for one unit)."))
		}
		rates, err := billing.FXRates(rq.Context(), tx)
		if err != nil {
			return err
		}
		var before any
		for _, r := range rates {
			if r.Currency == code && r.From.Equal(from) {
				before = r
			}
		}
		if err := billing.SetFXRate(rq.Context(), tx, code, from, rate); err != nil {
			return err
		}
		after := billing.FXRate{Currency: code, From: from, Rate: rate}
		return audit.Record(rq.Context(), tx, actor(rq), audit.ActionUpdate, "fx_rate", code+"/"+from.Format(time.DateOnly), before, after)
	})
}

// setKeyFeatures adds or removes one key feature; removing the last one
// unsets the setting, so that the default (every event but login and
// setup) applies again.
func (u *UI) setKeyFeatures(w http.ResponseWriter, rq *Request) error {
	feature := strings.TrimSpace(rq.PostFormValue("feature"))
	return u.settingsChange(w, rq, rq.Loc.T("Key features saved."), func(tx *sql.Tx) error {
		if feature == "" || strings.Contains(feature, ",") {
			return problem("feature", rq.Loc.T("feature: want one event name, without commas."))
		}
		key := snapshot.SettingKeyFeatures
		before, err := store.Setting(rq.Context(), tx, key)
		if err != nil {
			return err
		}
		list := splitFeatures(before)
		switch rq.PostFormValue("op") {
		case "add":
			if !slices.Contains(list, feature) {
				list = append(list, feature)
			}
		case "remove":
			list = slices.DeleteFunc(list, func(f string) bool { return f == feature })
		default:
			return Errorf(http.StatusBadRequest, rq.Loc.T("op: want add or remove."))
		}
		after := strings.Join(list, ",")
		if after == before {
			return nil
		}
		if after == "" {
			_, err = store.DeleteSetting(rq.Context(), tx, key)
		} else {
			_, err = snapshot.SetSetting(rq.Context(), tx, key, after)
		}
		if err != nil {
			return err
		}
		return audit.Record(rq.Context(), tx, actor(rq), audit.ActionUpdate, "setting", key, settingValue(before), settingValue(after))
	})
}

// setSettingValue sets one of otherSettings; an empty value unsets it.
func (u *UI) setSettingValue(w http.ResponseWriter, rq *Request) error {
	key, value := rq.PostFormValue("key"), strings.TrimSpace(rq.PostFormValue("value"))
	i := slices.IndexFunc(otherSettings, func(s otherSetting) bool { return s.Key == key })
	if i < 0 {
		return Errorf(http.StatusBadRequest, rq.Loc.T("key: %q is not a setting this page edits.", key))
	}
	return u.settingsChange(w, rq, rq.Loc.T("Setting %s saved.", key), func(tx *sql.Tx) error {
		var before string
		var err error
		if value == "" {
			before, err = store.DeleteSetting(rq.Context(), tx, key)
		} else if before, err = otherSettings[i].set(rq.Context(), tx, key, value); err != nil {
			return problem("setting-"+key, rq.Loc.T("Not saved: %s", err.Error()))
		}
		if err != nil {
			return err
		}
		after, err := store.Setting(rq.Context(), tx, key)
		if err != nil || after == before {
			return err
		}
		return audit.Record(rq.Context(), tx, actor(rq), audit.ActionUpdate, "setting", key, settingValue(before), settingValue(after))
	})
}

// auditPageSize is how many entries one page of the audit log shows.
const auditPageSize = 50

type auditData struct {
	Entries []audit.Entry
	Next    string // the cursor of the next page, "" on the last
	Type    string
}

func (u *UI) auditPage(w http.ResponseWriter, rq *Request) error {
	q := rq.URL.Query()
	d := auditData{Type: q.Get("object_type")}
	entries, err := audit.List(rq.Context(), u.db, audit.Filter{ObjectType: d.Type, After: q.Get("after"), Limit: auditPageSize + 1})
	if errors.Is(err, audit.ErrBadCursor) {
		return Errorf(http.StatusBadRequest, rq.Loc.T("after: not a position in the audit log."))
	}
	if err != nil {
		return err
	}
	if len(entries) > auditPageSize {
		entries = entries[:auditPageSize]
		d.Next = entries[len(entries)-1].ID
	}
	d.Entries = entries
	return u.render(w, rq, http.StatusOK, "settings_audit", rq.Loc.T("Audit log"), d)
}
