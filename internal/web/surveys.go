package web

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
	"os"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/kizuna-cs/kizuna/internal/audit"
	"github.com/kizuna-cs/kizuna/internal/jobs"
	"github.com/kizuna-cs/kizuna/internal/segment"
	"github.com/kizuna-cs/kizuna/internal/survey"
)

// SurveyFields are the writable fields of a survey.
type SurveyFields struct {
	Name         string `json:"name,omitempty" maxLength:"200" doc:"Default the id."`
	Kind         string `json:"kind,omitempty" enum:"nps,csat,ces" doc:"nps (0–10, the default), csat (1–5) or ces (1–7); fixed once created."`
	QuestionEN   string `json:"question_en" minLength:"1" maxLength:"1000"`
	QuestionJA   string `json:"question_ja,omitempty" maxLength:"1000"`
	SubjectEN    string `json:"subject_en" minLength:"1" maxLength:"500" doc:"A text/template: .Name (the contact's), .Account, .Survey, .Question."`
	BodyEN       string `json:"body_en" minLength:"1" maxLength:"20000" doc:"A text/template that must contain {{.Link}}; .UnsubscribeLink too. An unsubscribe line is appended."`
	SubjectJA    string `json:"subject_ja,omitempty" maxLength:"500"`
	BodyJA       string `json:"body_ja,omitempty" maxLength:"20000"`
	Language     string `json:"language,omitempty" enum:"en,ja" doc:"For contacts without a language attribute (en or ja); default en."`
	SegmentID    string `json:"segment_id,omitempty" doc:"Only the contacts of this segment's accounts; empty: every account's."`
	ThrottleDays int    `json:"throttle_days,omitempty" minimum:"0" maximum:"3650" doc:"A contact asked any survey within this many days is skipped; default 90."`
	MaxPerRun    int    `json:"max_per_run,omitempty" minimum:"0" doc:"Emails per send at most; default 500."`
	MaxPerHour   int    `json:"max_per_hour,omitempty" minimum:"0" doc:"Survey emails (all surveys) in any hour at most; default 1000."`
	Status       string `json:"status,omitempty" enum:"active,closed" doc:"A closed survey is neither sent nor answered."`
}

// SurveyCreate is the body of POST /surveys.
type SurveyCreate struct {
	SurveyID string `json:"survey_id" minLength:"1" maxLength:"63" doc:"A slug such as nps-2026-q4: the survey field of its responses."`
	SurveyFields
}

func (f SurveyFields) survey(id string) survey.Survey {
	return survey.Survey{ID: id, Name: f.Name, Kind: f.Kind, QuestionEN: f.QuestionEN, QuestionJA: f.QuestionJA,
		SubjectEN: f.SubjectEN, BodyEN: f.BodyEN, SubjectJA: f.SubjectJA, BodyJA: f.BodyJA, Language: f.Language,
		SegmentID: f.SegmentID, ThrottleDays: f.ThrottleDays, MaxPerRun: f.MaxPerRun, MaxPerHour: f.MaxPerHour, Status: f.Status}
}

type surveyKeyInput struct {
	SurveyID string `path:"survey_id" doc:"The survey's id."`
}

type surveyCreateInput struct{ Body SurveyCreate }

type surveyPutInput struct {
	SurveyID string `path:"survey_id" doc:"The survey's id."`
	Body     SurveyFields
}

// SurveyView is a survey with how it is doing.
type SurveyView struct {
	survey.Survey
	Summary SurveySummary `json:"summary"`
}

// SurveySummary is a survey's sends, responses and score (a type of its
// own: the schema names of the API are unique).
type SurveySummary struct{ survey.Summary }

// SurveySendResult is what a send did.
type SurveySendResult struct{ survey.SendResult }

type surveyViewOutput struct {
	Location string `header:"Location" doc:"The survey's URL (on creation)."`
	Body     SurveyView
}

type surveyListOutput struct {
	Body struct {
		Surveys []survey.Survey `json:"surveys"`
	}
}

// SurveySendRequest is the body of POST /surveys/{survey_id}/send.
type SurveySendRequest struct {
	DryRun  bool   `json:"dry_run,omitempty" doc:"Count what would be sent; send nothing."`
	BaseURL string `json:"base_url,omitempty" doc:"The server's address as contacts reach it (https://cs.example.com), for the links; default KIZUNA_PUBLIC_URL."`
}

type surveySendInput struct {
	SurveyID string `path:"survey_id" doc:"The survey's id."`
	Body     SurveySendRequest
}

type surveySendOutput struct{ Body SurveySendResult }

// SurveyPublicLink is a survey's new anonymous link.
type SurveyPublicLink struct {
	URL string `json:"url" doc:"The page's path on this server, /s/public/{token}: anyone with it may answer (rate-limited), giving an email address. Shown once; a new link replaces it."`
}

type surveyPublicLinkOutput struct{ Body SurveyPublicLink }

// surveyError turns a survey package error into the API's answer.
func (s *Server) surveyError(ctx context.Context, err error) error {
	var ie *survey.InvalidError
	switch {
	case errors.As(err, &ie):
		return huma.Error422UnprocessableEntity(err.Error(), &huma.ErrorDetail{Message: ie.Reason, Location: "body." + ie.Field})
	case errors.Is(err, survey.ErrNotFound):
		return huma.Error404NotFound(err.Error())
	case errors.Is(err, survey.ErrExists):
		return huma.Error409Conflict(err.Error())
	case errors.Is(err, survey.ErrClosed):
		return huma.Error409Conflict(err.Error())
	}
	return s.internal(ctx, err)
}

// checkSegment refuses a survey aimed at a segment that does not exist.
func (s *Server) checkSegment(ctx context.Context, id string) error {
	if id == "" {
		return nil
	}
	if _, err := segment.Get(ctx, s.db, id); err != nil {
		if errors.Is(err, segment.ErrNotFound) {
			return huma.Error422UnprocessableEntity("no segment "+id, &huma.ErrorDetail{Message: "no such segment", Location: "body.segment_id", Value: id})
		}
		return s.internal(ctx, err)
	}
	return nil
}

func (s *Server) surveyView(ctx context.Context, sv survey.Survey) (SurveyView, error) {
	sum, err := survey.Summarize(ctx, s.db, sv)
	return SurveyView{Survey: sv, Summary: SurveySummary{sum}}, err
}

func registerSurveys(s *Server, api huma.API) {
	tags := []string{"Surveys"}
	register(api, needRead, huma.Operation{
		OperationID: "list-surveys", Method: http.MethodGet, Path: "/surveys", Tags: tags,
		Summary: "List surveys", Description: "Every survey (NPS, CSAT, CES) by id. Their answers are survey responses (GET /api/v1/responses?survey=ID).",
	}, func(ctx context.Context, _ *struct{}) (*surveyListOutput, error) {
		list, err := survey.List(ctx, s.db)
		if err != nil {
			return nil, s.internal(ctx, err)
		}
		out := &surveyListOutput{}
		out.Body.Surveys = orEmpty(list)
		return out, nil
	})
	register(api, needWrite, huma.Operation{
		OperationID: "create-survey", Method: http.MethodPost, Path: "/surveys", Tags: tags,
		Summary: "Create a survey",
		Description: "Stores a survey after checking its templates on a sample contact (a body without {{.Link}} is refused). " +
			"Send it with POST /surveys/{survey_id}/send.",
		DefaultStatus: http.StatusCreated, Errors: []int{http.StatusConflict, http.StatusUnprocessableEntity},
	}, func(ctx context.Context, in *surveyCreateInput) (*surveyViewOutput, error) {
		if err := s.checkSegment(ctx, in.Body.SegmentID); err != nil {
			return nil, err
		}
		sv := in.Body.survey(in.Body.SurveyID)
		sv.CreatedBy = principalFrom(ctx).actor
		var saved survey.Survey
		err := s.db.InTx(ctx, func(tx *sql.Tx) error {
			var err error
			if saved, err = survey.Create(ctx, tx, sv, time.Now()); err != nil {
				return err
			}
			return audit.Record(ctx, tx, principalFrom(ctx).actor, audit.ActionCreate, "survey", saved.ID, nil, saved)
		})
		if err != nil {
			return nil, s.surveyError(ctx, err)
		}
		view, err := s.surveyView(ctx, saved)
		if err != nil {
			return nil, s.internal(ctx, err)
		}
		return &surveyViewOutput{Location: apiPrefix + "/surveys/" + saved.ID, Body: view}, nil
	})
	register(api, needRead, huma.Operation{
		OperationID: "get-survey", Method: http.MethodGet, Path: "/surveys/{survey_id}", Tags: tags,
		Summary: "Get a survey", Description: "The survey with its sends, responses, response rate and score.",
		Errors: []int{http.StatusNotFound},
	}, func(ctx context.Context, in *surveyKeyInput) (*surveyViewOutput, error) {
		sv, err := survey.Get(ctx, s.db, in.SurveyID)
		if err != nil {
			return nil, s.surveyError(ctx, err)
		}
		view, err := s.surveyView(ctx, sv)
		if err != nil {
			return nil, s.internal(ctx, err)
		}
		return &surveyViewOutput{Body: view}, nil
	})
	register(api, needWrite, huma.Operation{
		OperationID: "put-survey", Method: http.MethodPut, Path: "/surveys/{survey_id}", Tags: tags,
		Summary: "Replace a survey's fields", Description: "Everything but its id and kind; status closed stops sending and answering.",
		Errors: []int{http.StatusNotFound, http.StatusUnprocessableEntity},
	}, func(ctx context.Context, in *surveyPutInput) (*surveyViewOutput, error) {
		if err := s.checkSegment(ctx, in.Body.SegmentID); err != nil {
			return nil, err
		}
		var after survey.Survey
		err := s.db.InTx(ctx, func(tx *sql.Tx) error {
			before, a, err := survey.Update(ctx, tx, in.Body.survey(in.SurveyID), time.Now())
			if err != nil {
				return err
			}
			after = a
			return audit.Record(ctx, tx, principalFrom(ctx).actor, audit.ActionUpdate, "survey", a.ID, before, a)
		})
		if err != nil {
			return nil, s.surveyError(ctx, err)
		}
		view, err := s.surveyView(ctx, after)
		if err != nil {
			return nil, s.internal(ctx, err)
		}
		return &surveyViewOutput{Body: view}, nil
	})
	register(api, needWrite, huma.Operation{
		OperationID: "send-survey", Method: http.MethodPost, Path: "/surveys/{survey_id}/send", Tags: tags,
		Summary: "Send a survey",
		Description: "Queues one email per eligible contact of the target accounts, each with its own response link " +
			"(/s/{token}; only the token's hash is stored) and a one-click unsubscribe link (List-Unsubscribe). Skipped: " +
			"contacts without an email, unsubscribed addresses, contacts (or addresses) asked any survey within throttle_days, " +
			"contacts who answered this survey, and a second contact with an address already asked in this send. Past " +
			"max_per_run or max_per_hour the rest are deferred to a later send. The job queue sends the emails (GET /api/v1/deliveries).",
		Errors: []int{http.StatusNotFound, http.StatusConflict, http.StatusUnprocessableEntity},
	}, func(ctx context.Context, in *surveySendInput) (*surveySendOutput, error) {
		base := in.Body.BaseURL
		if base == "" {
			base = os.Getenv("KIZUNA_PUBLIC_URL")
		}
		var res survey.SendResult
		err := s.db.InTx(ctx, func(tx *sql.Tx) error {
			var err error
			res, err = survey.Send(ctx, tx, in.SurveyID, survey.SendOptions{BaseURL: base, DryRun: in.Body.DryRun}, time.Now())
			if err != nil || in.Body.DryRun {
				return err
			}
			for _, id := range res.DeliveryIDs {
				if _, err := jobs.QueueDelivery(ctx, tx, id); err != nil {
					return err
				}
			}
			return audit.Record(ctx, tx, principalFrom(ctx).actor, audit.ActionCreate, "survey_send", in.SurveyID, nil, res)
		})
		if err != nil {
			return nil, s.surveyError(ctx, err)
		}
		return &surveySendOutput{Body: SurveySendResult{res}}, nil
	})
	register(api, needWrite, huma.Operation{
		OperationID: "create-survey-public-link", Method: http.MethodPost, Path: "/surveys/{survey_id}/public-link", Tags: tags,
		Summary:     "Make a survey's public link",
		Description: "A new anonymous link (the previous one stops working). Its token is shown only in this answer.",
		Errors:      []int{http.StatusNotFound},
	}, func(ctx context.Context, in *surveyKeyInput) (*surveyPublicLinkOutput, error) {
		var token string
		err := s.db.InTx(ctx, func(tx *sql.Tx) error {
			var err error
			if token, err = survey.NewPublicLink(ctx, tx, in.SurveyID, time.Now()); err != nil {
				return err
			}
			return audit.Record(ctx, tx, principalFrom(ctx).actor, audit.ActionCreate, "survey_public_link", in.SurveyID, nil, nil)
		})
		if err != nil {
			return nil, s.surveyError(ctx, err)
		}
		return &surveyPublicLinkOutput{Body: SurveyPublicLink{URL: "/s/public/" + token}}, nil
	})
	register(api, needWrite, huma.Operation{
		OperationID: "revoke-survey-public-link", Method: http.MethodDelete, Path: "/surveys/{survey_id}/public-link", Tags: tags,
		Summary: "Revoke a survey's public link", DefaultStatus: http.StatusNoContent, Errors: []int{http.StatusNotFound},
	}, func(ctx context.Context, in *surveyKeyInput) (*struct{}, error) {
		err := s.db.InTx(ctx, func(tx *sql.Tx) error {
			if err := survey.RevokePublicLink(ctx, tx, in.SurveyID, time.Now()); err != nil {
				return err
			}
			return audit.Record(ctx, tx, principalFrom(ctx).actor, audit.ActionRevoke, "survey_public_link", in.SurveyID, nil, nil)
		})
		if err != nil {
			return nil, s.surveyError(ctx, err)
		}
		return nil, nil
	})
	registerSurveyPages(s)
}
