package ui

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/kizuna-cs/kizuna/internal/audit"
	"github.com/kizuna-cs/kizuna/internal/chart"
	"github.com/kizuna-cs/kizuna/internal/health"
	"github.com/kizuna-cs/kizuna/internal/snapshot"
	"github.com/kizuna-cs/kizuna/internal/user"
)

func (u *UI) registerHealth() {
	u.mux.Handle("GET /health", u.page(user.RoleViewer, u.healthList))
	u.mux.Handle("GET /health/export", u.page(user.RoleViewer, u.healthExport))
	u.mux.Handle("POST /health/import", u.action(user.RoleManager, u.healthImport))
	u.mux.Handle("GET /health/new", u.page(user.RoleManager, u.healthNew))
	u.mux.Handle("POST /health", u.action(user.RoleManager, u.healthCreate))
	u.mux.Handle("POST /health/preview", u.action(user.RoleManager, u.healthPreviewNew))
	u.mux.Handle("GET /health/{id}", u.page(user.RoleManager, u.healthEdit))
	u.mux.Handle("POST /health/{id}", u.action(user.RoleManager, u.healthUpdate))
	u.mux.Handle("POST /health/{id}/preview", u.action(user.RoleManager, u.healthPreview))
}

// healthRow is a model in the list, with its back-test when asked for.
type healthRow struct {
	health.Model
	Backtest *health.Backtest
}

func (u *UI) healthList(w http.ResponseWriter, rq *Request) error {
	return u.renderHealthList(w, rq, http.StatusOK, "")
}

// renderHealthList shows the models; importErr is the message beside the
// upload field after a refused import. With ?backtest=1 each model is
// back-tested, which computes snapshots at past dates and so only runs
// when asked.
func (u *UI) renderHealthList(w http.ResponseWriter, rq *Request, status int, importErr string) error {
	ms, err := health.Models(rq.Context(), u.db)
	if err != nil {
		return err
	}
	backtest := rq.URL.Query().Get("backtest") == "1"
	rows := make([]healthRow, len(ms))
	for i, m := range ms {
		rows[i].Model = m
		if backtest {
			bt, err := health.RunBacktest(rq.Context(), u.db, m, time.Now())
			if err != nil {
				return err
			}
			rows[i].Backtest = &bt
		}
	}
	return u.render(w, rq, status, "health", rq.Loc.T("Health models"), map[string]any{
		"Models": rows, "Backtest": backtest, "ImportError": importErr,
		"CanEdit": user.AtLeast(rq.User.Role, user.RoleManager),
	})
}

// healthFileName is the name the export downloads as.
const healthFileName = "kizuna-health-models.json"

func (u *UI) healthExport(w http.ResponseWriter, rq *Request) error {
	f, err := health.Export(rq.Context(), u.db)
	if err != nil {
		return err
	}
	data, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return fmt.Errorf("export health models: %w", err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Disposition", `attachment; filename="`+healthFileName+`"`)
	w.Header().Set("Cache-Control", "no-store")
	_, err = w.Write(append(data, '\n'))
	return err
}

// healthImport replaces every model with the uploaded file's, all or
// nothing; a refused file leaves the models as they were.
func (u *UI) healthImport(w http.ResponseWriter, rq *Request) error {
	file, _, err := rq.FormFile("file")
	if err != nil {
		return u.renderHealthList(w, rq, http.StatusUnprocessableEntity, rq.Loc.T("Choose a health models file to import."))
	}
	defer file.Close()
	hf, err := health.ReadFile(file)
	if err != nil {
		return u.renderHealthList(w, rq, http.StatusUnprocessableEntity, err.Error())
	}
	err = u.db.InTx(rq.Context(), func(tx *sql.Tx) error {
		before, err := health.Models(rq.Context(), tx)
		if err != nil {
			return err
		}
		after, err := health.Import(rq.Context(), tx, hf)
		if err != nil {
			return err
		}
		return audit.Record(rq.Context(), tx, actor(rq), audit.ActionImport, "health_models", "", before, after)
	})
	if errors.Is(err, health.ErrInvalid) {
		return u.renderHealthList(w, rq, http.StatusUnprocessableEntity, err.Error())
	}
	if err != nil {
		return err
	}
	redirect(w, rq.Request, "/health", rq.Loc.T("%d health models imported.", len(hf.Models)))
	return nil
}

// healthForm is the model editor's data: the fields as typed, the
// messages beside them and, after a preview, what the model would do.
type healthForm struct {
	New                                        bool
	ID, Name, Description, AppliesTo, Priority string
	RedBelow, YellowBelow                      string
	Measures                                   []measureForm
	Errors                                     fieldErrors
	Preview                                    *health.Preview
	Chart                                      *chart.Chart
}

// measureForm is one measure slot; the last one is empty, to add one.
type measureForm struct {
	Index                                                int
	Name, Field, When, Map, Thresholds, From, To, Weight string
	Errors                                               fieldErrors
}

// HasErrors reports whether the form has any message, its measures' included.
func (f *healthForm) HasErrors() bool {
	if len(f.Errors) > 0 {
		return true
	}
	for _, m := range f.Measures {
		if len(m.Errors) > 0 {
			return true
		}
	}
	return false
}

func (f *healthForm) addSlot() {
	f.Measures = append(f.Measures, measureForm{Index: len(f.Measures), Map: "linear", Weight: "1", Errors: fieldErrors{}})
}

// healthFormOf fills the editor from a stored model.
func healthFormOf(m health.Model) *healthForm {
	f := &healthForm{ID: m.ID, Name: m.Name, Description: m.Description, AppliesTo: m.AppliesTo,
		Priority: strconv.Itoa(m.Priority), Errors: fieldErrors{}}
	if m.Bands.RedBelow != nil {
		f.RedBelow = formatNum(*m.Bands.RedBelow)
	}
	if m.Bands.YellowBelow != nil {
		f.YellowBelow = formatNum(*m.Bands.YellowBelow)
	}
	for i, ms := range m.Measures {
		mf := measureForm{Index: i, Name: ms.Name, Field: ms.Field, When: ms.When, Weight: formatNum(ms.Weight), Errors: fieldErrors{}}
		if ms.Linear != nil {
			mf.Map, mf.From, mf.To = "linear", formatNum(ms.Linear.From), formatNum(ms.Linear.To)
		} else {
			mf.Map = "thresholds"
			parts := make([]string, len(ms.Thresholds))
			for j, th := range ms.Thresholds {
				parts[j] = formatNum(th.Min) + ":" + formatNum(th.Score)
			}
			mf.Thresholds = strings.Join(parts, ", ")
		}
		f.Measures = append(f.Measures, mf)
	}
	f.addSlot()
	return f
}

// healthOf is the model of the request's {id}, or a 404.
func (u *UI) healthOf(rq *Request) (health.Model, error) {
	m, err := health.GetModel(rq.Context(), u.db, rq.PathValue("id"))
	return lookup(m, err, health.ErrNotFound, rq.Loc.T("There is no health model %q.", rq.PathValue("id")))
}

func (u *UI) renderHealthForm(w http.ResponseWriter, rq *Request, status int, f *healthForm) error {
	title := rq.Loc.T("New health model")
	if !f.New {
		title = rq.Loc.T("Health model %s", f.Name)
	}
	return u.render(w, rq, status, "health_edit", title, f)
}

func (u *UI) healthNew(w http.ResponseWriter, rq *Request) error {
	f := &healthForm{New: true, Priority: "10", RedBelow: formatNum(health.DefaultRedBelow),
		YellowBelow: formatNum(health.DefaultYellowBelow), Errors: fieldErrors{}}
	f.addSlot()
	return u.renderHealthForm(w, rq, http.StatusOK, f)
}

func (u *UI) healthEdit(w http.ResponseWriter, rq *Request) error {
	m, err := u.healthOf(rq)
	if err != nil {
		return err
	}
	return u.renderHealthForm(w, rq, http.StatusOK, healthFormOf(m))
}

// measureSlots bounds the measure slots read from a form.
const measureSlots = 50

// readHealthForm reads the editor into f and the model it describes. A
// slot with neither a name nor a field, or marked to remove, is left out.
func readHealthForm(rq *Request, f *healthForm) health.Model {
	v := func(name string) string { return strings.TrimSpace(rq.PostFormValue(name)) }
	f.Name, f.Description, f.AppliesTo, f.Priority = v("name"), v("description"), v("applies_to"), v("priority")
	f.RedBelow, f.YellowBelow = v("red_below"), v("yellow_below")
	m := health.Model{ID: f.ID, Name: f.Name, Description: f.Description, AppliesTo: f.AppliesTo}
	m.Priority = formInt(rq, f.Errors, "priority", "priority")
	for _, b := range []struct {
		name string
		dst  **float64
	}{{"red_below", &m.Bands.RedBelow}, {"yellow_below", &m.Bands.YellowBelow}} {
		if v(b.name) != "" {
			x := formFloat(rq, f.Errors, b.name, "bands")
			*b.dst = &x
		}
	}
	n, _ := strconv.Atoi(rq.PostFormValue("measures"))
	for i := range min(max(n, 0), measureSlots) {
		p := fmt.Sprintf("m%d.", i)
		mf := measureForm{Index: len(f.Measures), Name: v(p + "name"), Field: v(p + "field"), When: v(p + "when"),
			Map: v(p + "map"), Thresholds: v(p + "thresholds"), From: v(p + "from"), To: v(p + "to"), Weight: v(p + "weight"),
			Errors: fieldErrors{}}
		if (mf.Name == "" && mf.Field == "") || rq.PostFormValue(p+"remove") != "" {
			continue
		}
		ms := health.Measure{Name: mf.Name, Field: mf.Field, When: mf.When}
		ms.Weight = formFloat(rq, mf.Errors, p+"weight", "weight")
		if mf.Map == "thresholds" {
			ms.Thresholds = parseThresholds(rq.Loc, mf.Thresholds, mf.Errors)
		} else {
			mf.Map = "linear"
			ms.Linear = &health.Linear{From: formFloat(rq, mf.Errors, p+"from", "linear"), To: formFloat(rq, mf.Errors, p+"to", "linear")}
		}
		f.Measures = append(f.Measures, mf)
		m.Measures = append(m.Measures, ms)
	}
	f.addSlot()
	return m
}

// parseThresholds reads "min:score" pairs separated by commas or lines,
// such as "0:0, 1:60, 4:100".
func parseThresholds(l *Locale, s string, errs fieldErrors) []health.Threshold {
	var out []health.Threshold
	for _, part := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '\n' || r == ';' }) {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		a, b, ok := strings.Cut(part, ":")
		min, err1 := strconv.ParseFloat(strings.TrimSpace(a), 64)
		score, err2 := strconv.ParseFloat(strings.TrimSpace(b), 64)
		if !ok || err1 != nil || err2 != nil {
			errs.add("thresholds", l.T("%q is not min:score (such as 0:0, 1:60, 4:100).", part))
			continue
		}
		out = append(out, health.Threshold{Min: min, Score: score})
	}
	return out
}

// placeModelError puts a model's validation error beside its field: a
// measure's in its slot (by name, or #n for a measure without one).
func placeModelError(rq *Request, f *healthForm, err error) bool {
	var he *health.Error
	if !errors.As(err, &he) {
		return false
	}
	msg := he.Message
	if he.Rule != nil {
		msg = ruleMessage(rq.Loc, he.Rule.Line, he.Rule.Column, he.Rule.Message)
	}
	if he.Measure != "" {
		for i, mf := range f.Measures {
			if mf.Name == he.Measure || fmt.Sprintf("#%d", i+1) == he.Measure {
				f.Measures[i].Errors.add(he.Part, msg)
				return true
			}
		}
	}
	field := he.Part
	if field == "" || field == "id" {
		field = "model"
	}
	f.Errors.add(field, msg)
	return true
}

func (u *UI) healthCreate(w http.ResponseWriter, rq *Request) error {
	f := &healthForm{New: true, ID: strings.TrimSpace(rq.PostFormValue("id")), Errors: fieldErrors{}}
	return u.saveHealth(w, rq, f)
}

func (u *UI) healthUpdate(w http.ResponseWriter, rq *Request) error {
	m, err := u.healthOf(rq)
	if err != nil {
		return err
	}
	return u.saveHealth(w, rq, &healthForm{ID: m.ID, Errors: fieldErrors{}})
}

// saveHealth validates the model (alone and with the other models: one
// default) and stores it with an audit entry, or shows the editor again
// with the messages (422).
func (u *UI) saveHealth(w http.ResponseWriter, rq *Request, f *healthForm) error {
	m := readHealthForm(rq, f)
	if f.HasErrors() {
		return u.renderHealthForm(w, rq, http.StatusUnprocessableEntity, f)
	}
	err := u.db.InTx(rq.Context(), func(tx *sql.Tx) error {
		var before any
		if !f.New {
			b, err := health.GetModel(rq.Context(), tx, m.ID)
			if err != nil {
				return err
			}
			before = b
		}
		saved, err := health.SaveModel(rq.Context(), tx, m, f.New)
		if err != nil {
			return err
		}
		return audit.Record(rq.Context(), tx, actor(rq), changeAction(f.New), "health_model", m.ID, before, saved)
	})
	if errors.Is(err, health.ErrExists) {
		f.Errors.add("model", rq.Loc.T("A health model with this id exists; choose another id."))
		return u.renderHealthForm(w, rq, http.StatusUnprocessableEntity, f)
	}
	if placeModelError(rq, f, err) {
		return u.renderHealthForm(w, rq, http.StatusUnprocessableEntity, f)
	}
	if err != nil {
		return err
	}
	redirect(w, rq.Request, "/health", rq.Loc.T("Health model %s saved; scores change at the next recompute.", m.Name))
	return nil
}

func (u *UI) healthPreviewNew(w http.ResponseWriter, rq *Request) error {
	f := &healthForm{New: true, ID: strings.TrimSpace(rq.PostFormValue("id")), Errors: fieldErrors{}}
	return u.previewHealth(w, rq, f)
}

func (u *UI) healthPreview(w http.ResponseWriter, rq *Request) error {
	m, err := u.healthOf(rq)
	if err != nil {
		return err
	}
	return u.previewHealth(w, rq, &healthForm{ID: m.ID, Errors: fieldErrors{}})
}

// previewHealth scores every account's current snapshot with the edited
// model in place of the saved one, without saving, and shows the editor
// with the score distribution and the band changes.
func (u *UI) previewHealth(w http.ResponseWriter, rq *Request, f *healthForm) error {
	m := readHealthForm(rq, f)
	if f.HasErrors() {
		return u.renderHealthForm(w, rq, http.StatusUnprocessableEntity, f)
	}
	saved, err := health.Models(rq.Context(), u.db)
	if err != nil {
		return err
	}
	snaps, err := snapshot.All(rq.Context(), u.db, time.Now())
	if err != nil {
		return err
	}
	p, err := health.PreviewModel(saved, m, snaps)
	if placeModelError(rq, f, err) {
		return u.renderHealthForm(w, rq, http.StatusUnprocessableEntity, f)
	}
	if err != nil {
		return Errorf(http.StatusUnprocessableEntity, rq.Loc.T("The model cannot score the accounts: %s", err.Error()))
	}
	labels := make([]string, health.PreviewBuckets)
	values := make([]float64, health.PreviewBuckets)
	for i := range labels {
		labels[i] = fmt.Sprintf("%d–%d", i*10, i*10+10)
		values[i] = float64(p.Histogram[i])
	}
	c := chart.Bars(rq.Loc.T("Accounts by score under the edited model (%d scored)", p.Scored), labels,
		[]chart.Series{{Name: rq.Loc.T("Accounts"), Values: values}}, func(x float64) string { return rq.Loc.Num(x, 0) })
	f.Preview, f.Chart = &p, &c
	return u.renderHealthForm(w, rq, http.StatusOK, f)
}
