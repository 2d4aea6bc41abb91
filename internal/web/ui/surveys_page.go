package ui

import (
	"database/sql"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kizuna-cs/kizuna/internal/audit"
	"github.com/kizuna-cs/kizuna/internal/jobs"
	"github.com/kizuna-cs/kizuna/internal/segment"
	"github.com/kizuna-cs/kizuna/internal/survey"
	"github.com/kizuna-cs/kizuna/internal/user"
)

// surveyRow is one survey in the list, with its summary in words.
type surveyRow struct {
	survey.Survey
	Summary             survey.Summary
	Kind, Target, State string
	Score               string
	Closed              bool
}

// surveyTarget names whom a survey asks: a segment's accounts or all.
func surveyTarget(l *Locale, s survey.Survey, segments map[string]string) string {
	if s.SegmentID == "" {
		return l.T("All accounts")
	}
	if name, ok := segments[s.SegmentID]; ok {
		return name
	}
	return s.SegmentID
}

func (u *UI) segmentNames(rq *Request) (map[string]string, []segment.Segment, error) {
	list, err := segment.List(rq.Context(), u.db)
	if err != nil {
		return nil, nil, err
	}
	names := make(map[string]string, len(list))
	for _, s := range list {
		names[s.ID] = s.Name
	}
	return names, list, nil
}

func (u *UI) surveyRowOf(rq *Request, s survey.Survey, segs map[string]string) (surveyRow, error) {
	sum, err := survey.Summarize(rq.Context(), u.db, s)
	if err != nil {
		return surveyRow{}, err
	}
	return surveyRow{Survey: s, Summary: sum, Kind: kindLabel(rq.Loc, s.Kind), Target: surveyTarget(rq.Loc, s, segs),
		State: surveyStatusLabel(rq.Loc, s.Status), Score: scoreText(rq.Loc, s.Kind, sum.Score), Closed: s.Status == survey.StatusClosed}, nil
}

func (u *UI) surveysPage(w http.ResponseWriter, rq *Request) error {
	list, err := survey.List(rq.Context(), u.db)
	if err != nil {
		return err
	}
	segs, _, err := u.segmentNames(rq)
	if err != nil {
		return err
	}
	rows := make([]surveyRow, len(list))
	for i, s := range list {
		if rows[i], err = u.surveyRowOf(rq, s, segs); err != nil {
			return err
		}
	}
	return u.render(w, rq, http.StatusOK, "surveys", rq.Loc.T("Surveys"), struct {
		Surveys []surveyRow
		CanEdit bool
	}{rows, user.AtLeast(rq.User.Role, user.RoleManager)})
}

// surveyForm is the create and edit form: the values as typed, so a
// refused form shows them again beside the messages.
type surveyForm struct {
	New                                       bool
	ID, Name, Kind, Language, SegmentID       string
	QuestionEN, QuestionJA, SubjectEN, BodyEN string
	SubjectJA, BodyJA                         string
	ThrottleDays, MaxPerRun, MaxPerHour       string
	Errors                                    fieldErrors
	Kinds                                     []option
	Segments                                  []segment.Segment
}

func (u *UI) newSurveyForm(rq *Request, s survey.Survey, isNew bool) (*surveyForm, error) {
	_, segs, err := u.segmentNames(rq)
	if err != nil {
		return nil, err
	}
	f := &surveyForm{New: isNew, ID: s.ID, Name: s.Name, Kind: s.Kind, Language: s.Language, SegmentID: s.SegmentID,
		QuestionEN: s.QuestionEN, QuestionJA: s.QuestionJA, SubjectEN: s.SubjectEN, BodyEN: s.BodyEN,
		SubjectJA: s.SubjectJA, BodyJA: s.BodyJA, Errors: fieldErrors{}, Segments: segs}
	for _, n := range []struct {
		v   int
		dst *string
	}{{s.ThrottleDays, &f.ThrottleDays}, {s.MaxPerRun, &f.MaxPerRun}, {s.MaxPerHour, &f.MaxPerHour}} {
		*n.dst = strconv.Itoa(n.v)
	}
	for _, k := range surveyKinds {
		f.Kinds = append(f.Kinds, option{Value: k, Label: kindLabel(rq.Loc, k)})
	}
	return f, nil
}

func (u *UI) renderSurveyForm(w http.ResponseWriter, rq *Request, status int, f *surveyForm) error {
	title := rq.Loc.T("New survey")
	if !f.New {
		title = rq.Loc.T("Edit survey %s", f.ID)
	}
	return u.render(w, rq, status, "survey_edit", title, f)
}

func (u *UI) surveyNew(w http.ResponseWriter, rq *Request) error {
	f, err := u.newSurveyForm(rq, survey.Survey{Kind: "nps", Language: "en", ThrottleDays: survey.DefaultThrottleDays,
		MaxPerRun: survey.DefaultMaxPerRun, MaxPerHour: survey.DefaultMaxPerHour,
		QuestionEN: "How likely are you to recommend us to a friend or colleague?",
		SubjectEN:  "{{.Account}}: a quick question",
		BodyEN:     "Dear {{.Name}},\n\n{{.Question}}\n\nAnswer here: {{.Link}}\n\nThank you."}, true)
	if err != nil {
		return err
	}
	return u.renderSurveyForm(w, rq, http.StatusOK, f)
}

func (u *UI) surveyEdit(w http.ResponseWriter, rq *Request) error {
	s, err := u.loadSurvey(rq)
	if err != nil {
		return err
	}
	f, err := u.newSurveyForm(rq, s, false)
	if err != nil {
		return err
	}
	return u.renderSurveyForm(w, rq, http.StatusOK, f)
}

// loadSurvey is the survey of the path's {id}, or a 404 page.
func (u *UI) loadSurvey(rq *Request) (survey.Survey, error) {
	id := rq.PathValue("id")
	s, err := survey.Get(rq.Context(), u.db, id)
	if errors.Is(err, survey.ErrNotFound) {
		return s, Errorf(http.StatusNotFound, rq.Loc.T("There is no survey %s.", id))
	}
	return s, err
}

// surveyLimits are the API's length limits of a survey's texts
// (internal/web SurveyFields), checked here too so both refuse the same.
var surveyLimits = []struct {
	field string
	max   int
}{{"name", 200}, {"question_en", 1000}, {"question_ja", 1000}, {"subject_en", 500}, {"subject_ja", 500},
	{"body_en", 20000}, {"body_ja", 20000}}

// readSurveyForm reads the posted form into f and a survey, with a
// message per field that cannot be read.
func readSurveyForm(rq *Request, f *surveyForm) survey.Survey {
	v := func(k string) string { return strings.ReplaceAll(rq.PostFormValue(k), "\r\n", "\n") }
	if f.New {
		f.ID, f.Kind = strings.TrimSpace(v("survey_id")), v("kind")
	}
	f.Name, f.Language, f.SegmentID = strings.TrimSpace(v("name")), v("language"), v("segment_id")
	f.QuestionEN, f.QuestionJA, f.SubjectEN, f.BodyEN = v("question_en"), v("question_ja"), v("subject_en"), v("body_en")
	f.SubjectJA, f.BodyJA = v("subject_ja"), v("body_ja")
	f.ThrottleDays, f.MaxPerRun, f.MaxPerHour = v("throttle_days"), v("max_per_run"), v("max_per_hour")
	s := survey.Survey{ID: f.ID, Name: f.Name, Kind: f.Kind, Language: f.Language, SegmentID: f.SegmentID,
		QuestionEN: f.QuestionEN, QuestionJA: f.QuestionJA, SubjectEN: f.SubjectEN, BodyEN: f.BodyEN,
		SubjectJA: f.SubjectJA, BodyJA: f.BodyJA}
	s.ThrottleDays = formIntOr(rq, f.Errors, "throttle_days", "throttle_days", 0) // 0: the default
	s.MaxPerRun = formIntOr(rq, f.Errors, "max_per_run", "max_per_run", 0)
	s.MaxPerHour = formIntOr(rq, f.Errors, "max_per_hour", "max_per_hour", 0)
	if s.MaxPerHour < 0 {
		f.Errors.add("max_per_hour", rq.Loc.T("The limits may not be negative."))
	}
	texts := map[string]string{"name": s.Name, "question_en": s.QuestionEN, "question_ja": s.QuestionJA,
		"subject_en": s.SubjectEN, "subject_ja": s.SubjectJA, "body_en": s.BodyEN, "body_ja": s.BodyJA}
	for _, lim := range surveyLimits {
		if utf8.RuneCountInString(texts[lim.field]) > lim.max {
			f.Errors.add(lim.field, rq.Loc.T("At most %d characters.", lim.max))
		}
	}
	return s
}

// saveSurvey creates or updates the survey of the posted form.
func (u *UI) saveSurvey(w http.ResponseWriter, rq *Request, f *surveyForm) error {
	s := readSurveyForm(rq, f)
	ctx := rq.Context()
	if s.SegmentID != "" {
		if _, err := segment.Get(ctx, u.db, s.SegmentID); errors.Is(err, segment.ErrNotFound) {
			f.Errors.add("segment_id", rq.Loc.T("There is no segment %s.", s.SegmentID))
		} else if err != nil {
			return err
		}
	}
	if len(f.Errors) > 0 {
		return u.renderSurveyForm(w, rq, http.StatusUnprocessableEntity, f)
	}
	var saved survey.Survey
	err := u.db.InTx(ctx, func(tx *sql.Tx) error {
		if f.New {
			s.CreatedBy = actor(rq)
			var err error
			if saved, err = survey.Create(ctx, tx, s, time.Now()); err != nil {
				return err
			}
			return audit.Record(ctx, tx, actor(rq), audit.ActionCreate, "survey", saved.ID, nil, saved)
		}
		before, err := survey.Get(ctx, tx, s.ID)
		if err != nil {
			return err
		}
		s.Status = before.Status // the state has its own buttons
		before, saved, err = survey.Update(ctx, tx, s, time.Now())
		if err != nil {
			return err
		}
		return audit.Record(ctx, tx, actor(rq), audit.ActionUpdate, "survey", saved.ID, before, saved)
	})
	var ie *survey.InvalidError
	switch {
	case errors.As(err, &ie):
		f.Errors.add(ie.Field, rq.Loc.Reason(ie.Format, ie.Args, ie.Reason))
		return u.renderSurveyForm(w, rq, http.StatusUnprocessableEntity, f)
	case errors.Is(err, survey.ErrExists):
		f.Errors.add("survey_id", rq.Loc.T("A survey with this id exists."))
		return u.renderSurveyForm(w, rq, http.StatusUnprocessableEntity, f)
	case errors.Is(err, survey.ErrNotFound):
		return Errorf(http.StatusNotFound, rq.Loc.T("There is no survey %s.", s.ID))
	case err != nil:
		return err
	}
	redirect(w, rq.Request, "/surveys/"+saved.ID, rq.Loc.T("Survey %s saved.", saved.ID))
	return nil
}

func (u *UI) surveyCreate(w http.ResponseWriter, rq *Request) error {
	f, err := u.newSurveyForm(rq, survey.Survey{}, true)
	if err != nil {
		return err
	}
	return u.saveSurvey(w, rq, f)
}

func (u *UI) surveyUpdate(w http.ResponseWriter, rq *Request) error {
	s, err := u.loadSurvey(rq)
	if err != nil {
		return err
	}
	f, err := u.newSurveyForm(rq, s, false)
	if err != nil {
		return err
	}
	return u.saveSurvey(w, rq, f)
}

// surveyStatus closes or reopens a survey: a closed one is neither sent
// nor answered.
func (u *UI) surveyStatus(w http.ResponseWriter, rq *Request) error {
	s, err := u.loadSurvey(rq)
	if err != nil {
		return err
	}
	status := rq.PostFormValue("status")
	if status != survey.StatusActive && status != survey.StatusClosed {
		return Errorf(http.StatusUnprocessableEntity, rq.Loc.T("Unknown state %q: want active or closed.", status))
	}
	ctx := rq.Context()
	err = u.db.InTx(ctx, func(tx *sql.Tx) error {
		s.Status = status
		before, after, err := survey.Update(ctx, tx, s, time.Now())
		if err != nil {
			return err
		}
		return audit.Record(ctx, tx, actor(rq), audit.ActionUpdate, "survey", s.ID, before, after)
	})
	if err != nil {
		return err
	}
	notice := rq.Loc.T("Survey %s reopened.", s.ID)
	if status == survey.StatusClosed {
		notice = rq.Loc.T("Survey %s closed: it is neither sent nor answered.", s.ID)
	}
	redirect(w, rq.Request, "/surveys/"+s.ID, notice)
	return nil
}

// sendView is the send page: what a send would do, before doing it.
type sendView struct {
	Survey  survey.Survey
	Result  survey.SendResult
	BaseURL string
	Error   string
	Closed  bool
}

// surveySendPreview is a dry run: how many emails would go and why the
// other contacts would be skipped. Nothing is written.
func (u *UI) surveySendPreview(w http.ResponseWriter, rq *Request) error {
	s, err := u.loadSurvey(rq)
	if err != nil {
		return err
	}
	base := strings.TrimSpace(rq.URL.Query().Get("base_url"))
	if base == "" {
		base = publicBase(rq)
	}
	v := sendView{Survey: s, BaseURL: base, Closed: s.Status != survey.StatusActive}
	status := http.StatusOK
	if !v.Closed {
		v.Result, err = survey.Send(rq.Context(), u.db, s.ID, survey.SendOptions{BaseURL: base, DryRun: true}, time.Now())
		var ie *survey.InvalidError
		if errors.As(err, &ie) {
			v.Error, status = rq.Loc.Reason(ie.Format, ie.Args, ie.Reason), http.StatusUnprocessableEntity
		} else if err != nil {
			return err
		}
	}
	return u.render(w, rq, status, "survey_send", rq.Loc.T("Send %s", s.Name), v)
}

// surveySend queues the emails, as POST /api/v1/surveys/{id}/send does.
func (u *UI) surveySend(w http.ResponseWriter, rq *Request) error {
	s, err := u.loadSurvey(rq)
	if err != nil {
		return err
	}
	ctx, base := rq.Context(), strings.TrimSpace(rq.PostFormValue("base_url"))
	var res survey.SendResult
	err = u.db.InTx(ctx, func(tx *sql.Tx) error {
		var err error
		if res, err = survey.Send(ctx, tx, s.ID, survey.SendOptions{BaseURL: base}, time.Now()); err != nil {
			return err
		}
		for _, id := range res.DeliveryIDs {
			if _, err := jobs.QueueDelivery(ctx, tx, id); err != nil {
				return err
			}
		}
		return audit.Record(ctx, tx, actor(rq), audit.ActionCreate, "survey_send", s.ID, nil, res)
	})
	var ie *survey.InvalidError
	switch {
	case errors.As(err, &ie):
		return u.render(w, rq, http.StatusUnprocessableEntity, "survey_send", rq.Loc.T("Send %s", s.Name),
			sendView{Survey: s, BaseURL: base, Error: rq.Loc.Reason(ie.Format, ie.Args, ie.Reason)})
	case errors.Is(err, survey.ErrClosed):
		return Errorf(http.StatusConflict, rq.Loc.T("Survey %s is closed: reopen it to send it.", s.ID))
	case err != nil:
		return err
	}
	redirect(w, rq.Request, "/surveys/"+s.ID, rq.Loc.T("%d emails queued; %d deferred to a later send.", res.Sent, res.Deferred))
	return nil
}

// surveyPublicLink makes a new anonymous link and shows it once.
func (u *UI) surveyPublicLink(w http.ResponseWriter, rq *Request) error {
	s, err := u.loadSurvey(rq)
	if err != nil {
		return err
	}
	ctx := rq.Context()
	var token string
	err = u.db.InTx(ctx, func(tx *sql.Tx) error {
		var err error
		if token, err = survey.NewPublicLink(ctx, tx, s.ID, time.Now()); err != nil {
			return err
		}
		return audit.Record(ctx, tx, actor(rq), audit.ActionCreate, "survey_public_link", s.ID, nil, nil)
	})
	if err != nil {
		return err
	}
	return u.render(w, rq, http.StatusOK, "settings_secret", rq.Loc.T("Surveys"), secretView{
		Title:  rq.Loc.T("Public link of %s", s.Name),
		Label:  rq.Loc.T("Link"),
		Secret: publicBase(rq) + "/s/public/" + token,
		Hint:   rq.Loc.T("Copy it now: it is shown only once; Kizuna keeps only its hash. Anyone with it may answer, giving an email address; a new link replaces it."),
		Back:   "/surveys/" + s.ID, BackLabel: rq.Loc.T("Back to the survey"),
	})
}

func (u *UI) surveyRevokeLink(w http.ResponseWriter, rq *Request) error {
	s, err := u.loadSurvey(rq)
	if err != nil {
		return err
	}
	ctx := rq.Context()
	err = u.db.InTx(ctx, func(tx *sql.Tx) error {
		if err := survey.RevokePublicLink(ctx, tx, s.ID, time.Now()); err != nil {
			return err
		}
		return audit.Record(ctx, tx, actor(rq), audit.ActionRevoke, "survey_public_link", s.ID, nil, nil)
	})
	if err != nil {
		return err
	}
	redirect(w, rq.Request, "/surveys/"+s.ID, rq.Loc.T("The public link of %s no longer works.", s.ID))
	return nil
}
