package web

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/kizuna-cs/kizuna/internal/audit"
	"github.com/kizuna-cs/kizuna/internal/playbook"
)

// PlaybookFields are the writable fields of a playbook: the body of PUT and POST.
type PlaybookFields struct {
	Name         string            `json:"name" minLength:"1" maxLength:"200"`
	Enabled      *bool             `json:"enabled,omitempty" doc:"Default true."`
	Trigger      playbook.Trigger  `json:"trigger"`
	Filter       string            `json:"filter,omitempty" maxLength:"4096" doc:"A condition narrowing the trigger, e.g. arr >= 10000."`
	Actions      []playbook.Action `json:"actions" minItems:"1" maxItems:"20"`
	CooldownDays int               `json:"cooldown_days,omitempty" minimum:"0" doc:"No new firing for an account within this many days of the last one."`
	HoldoutShare float64           `json:"holdout_share,omitempty" minimum:"0" maximum:"1" doc:"Share of firings recorded as a control group and not acted on (0.1 = 10 %)."`
}

// PlaybookBody is a playbook with its id, as POST and validate take it (and as files hold it).
type PlaybookBody struct {
	PlaybookID string `json:"playbook_id" minLength:"1" maxLength:"100"`
	PlaybookFields
}

func (f PlaybookFields) playbook(id string) playbook.Playbook {
	enabled := f.Enabled == nil || *f.Enabled
	return playbook.Playbook{ID: id, Name: f.Name, Enabled: enabled, Trigger: f.Trigger, Filter: f.Filter, Actions: f.Actions,
		CooldownDays: f.CooldownDays, HoldoutShare: f.HoldoutShare}
}

type playbookOutput struct {
	Status int
	Body   playbook.Playbook
}

type playbookListOutput struct {
	Body struct {
		Playbooks []playbook.Playbook `json:"playbooks"`
	}
}

type playbookIDInput struct {
	PlaybookID string `path:"playbook_id" doc:"The playbook's id."`
}

type putPlaybookInput struct {
	PlaybookID string `path:"playbook_id" doc:"The playbook's id."`
	Body       PlaybookFields
}

type postPlaybookInput struct{ Body PlaybookBody }

type validatePlaybookOutput struct {
	Body struct {
		Valid    bool               `json:"valid"`
		Problems []playbook.Problem `json:"problems" doc:"Each problem's field and, for rules and templates, line and column."`
	}
}

type enrollmentsInput struct {
	PlaybookID string `path:"playbook_id" doc:"The playbook's id."`
	PageParams
	AccountID string `query:"account_id" doc:"Only this account's enrollments."`
	Holdout   string `query:"holdout" enum:"true,false" doc:"Only the holdout group (true) or the treated one (false)."`
}

type enrollmentPage struct {
	Enrollments []playbook.Enrollment `json:"enrollments"`
	NextCursor  string                `json:"next_cursor,omitempty"`
}

type enrollmentsOutput struct{ Body enrollmentPage }

// registerPlaybooks adds the playbooks, their enrollments, tasks (which
// playbooks create) and the deliveries outbox.
func registerPlaybooks(s *Server, api huma.API) {
	registerTasks(s, api)
	registerDeliveries(s, api)

	register(api, needRead, huma.Operation{
		OperationID: "list-playbooks", Method: http.MethodGet, Path: "/playbooks", Tags: []string{"Playbooks"},
		Summary: "List playbooks", Description: "Every playbook, by id; webhook secrets and Slack URLs masked.",
	}, func(ctx context.Context, _ *struct{}) (*playbookListOutput, error) {
		list, err := playbook.List(ctx, s.db)
		if err != nil {
			return nil, s.internal(ctx, err)
		}
		out := &playbookListOutput{}
		out.Body.Playbooks = make([]playbook.Playbook, len(list))
		for i, p := range list {
			out.Body.Playbooks[i] = p.Masked()
		}
		return out, nil
	})
	register(api, needWrite, huma.Operation{
		OperationID: "create-playbook", Method: http.MethodPost, Path: "/playbooks", Tags: []string{"Playbooks"},
		Summary: "Create a playbook",
		Description: "Rules and templates are checked when saved: a problem is answered 422 naming the field, " +
			"line and column. 409 when the id is taken (PUT replaces).",
		DefaultStatus: http.StatusCreated, Errors: []int{http.StatusConflict, http.StatusUnprocessableEntity},
	}, func(ctx context.Context, in *postPlaybookInput) (*playbookOutput, error) {
		return s.savePlaybook(ctx, in.Body.PlaybookFields.playbook(in.Body.PlaybookID), true)
	})
	register(api, needRead, huma.Operation{
		OperationID: "validate-playbook", Method: http.MethodPost, Path: "/playbooks/validate", Tags: []string{"Playbooks"},
		Summary: "Check a playbook",
		Description: "Checks a playbook without saving it: 200 with valid false and each problem's field, line and column " +
			"(as POST /rules/check does for rules).",
	}, func(ctx context.Context, in *postPlaybookInput) (*validatePlaybookOutput, error) {
		p := in.Body.PlaybookFields.playbook(in.Body.PlaybookID)
		out := &validatePlaybookOutput{}
		out.Body.Problems = orEmpty(playbook.Validate(&p))
		out.Body.Valid = len(out.Body.Problems) == 0
		return out, nil
	})
	register(api, needRead, huma.Operation{
		OperationID: "get-playbook", Method: http.MethodGet, Path: "/playbooks/{playbook_id}", Tags: []string{"Playbooks"},
		Summary: "Get one playbook", Errors: []int{http.StatusNotFound},
	}, func(ctx context.Context, in *playbookIDInput) (*playbookOutput, error) {
		p, err := playbook.Get(ctx, s.db, in.PlaybookID)
		if errors.Is(err, playbook.ErrNotFound) {
			return nil, huma.Error404NotFound("no playbook " + in.PlaybookID)
		}
		if err != nil {
			return nil, s.internal(ctx, err)
		}
		return &playbookOutput{Status: http.StatusOK, Body: p.Masked()}, nil
	})
	register(api, needWrite, huma.Operation{
		OperationID: "put-playbook", Method: http.MethodPut, Path: "/playbooks/{playbook_id}", Tags: []string{"Playbooks"},
		Summary: "Create or replace a playbook",
		Description: "Stores the playbook as sent (201 when new). A secret sent back as \"" + playbook.Mask + "\" keeps " +
			"its stored value. Changing the trigger starts its transitions afresh.",
		Errors: []int{http.StatusUnprocessableEntity},
	}, func(ctx context.Context, in *putPlaybookInput) (*playbookOutput, error) {
		return s.savePlaybook(ctx, in.Body.playbook(in.PlaybookID), false)
	})
	register(api, needWrite, huma.Operation{
		OperationID: "delete-playbook", Method: http.MethodDelete, Path: "/playbooks/{playbook_id}", Tags: []string{"Playbooks"},
		Summary: "Delete a playbook", Description: "With its enrollments; the tasks it created stay.",
		DefaultStatus: http.StatusNoContent, Errors: []int{http.StatusNotFound},
	}, func(ctx context.Context, in *playbookIDInput) (*struct{}, error) {
		err := s.deleteRecorded(ctx, "playbook", in.PlaybookID,
			func(tx *sql.Tx) (any, error) {
				before, err := playbook.Get(ctx, tx, in.PlaybookID)
				return before.Masked(), err
			},
			func(tx *sql.Tx) error { return playbook.Delete(ctx, tx, in.PlaybookID) })
		if errors.Is(err, playbook.ErrNotFound) {
			return nil, huma.Error404NotFound("no playbook " + in.PlaybookID)
		}
		if err != nil {
			return nil, s.internal(ctx, err)
		}
		return nil, nil
	})
	register(api, needRead, huma.Operation{
		OperationID: "list-playbook-enrollments", Method: http.MethodGet, Path: "/playbooks/{playbook_id}/enrollments", Tags: []string{"Playbooks"},
		Summary: "A playbook's firings", Errors: []int{http.StatusNotFound},
		Description: "Every firing, newest first, with whether the account was drawn into the holdout group " +
			"(recorded, not acted on) and the task it created.",
	}, func(ctx context.Context, in *enrollmentsInput) (*enrollmentsOutput, error) {
		l, err := newListing(in.PageParams, "-fired_at", "enrollment_id", "fired_at")
		if err != nil {
			return nil, err
		}
		if _, err := playbook.Get(ctx, s.db, in.PlaybookID); errors.Is(err, playbook.ErrNotFound) {
			return nil, huma.Error404NotFound("no playbook " + in.PlaybookID)
		} else if err != nil {
			return nil, s.internal(ctx, err)
		}
		f := playbook.EnrollmentFilter{PlaybookID: in.PlaybookID, AccountID: in.AccountID, AfterKey: l.afterKey, AfterID: l.afterID, Limit: l.fetch()}
		if in.Holdout != "" {
			h := in.Holdout == "true"
			f.Holdout = &h
		}
		list, err := playbook.Enrollments(ctx, s.db, f)
		if err != nil {
			return nil, s.internal(ctx, err)
		}
		list, next := page(l, list, "enrollment_id", func(e playbook.Enrollment) (any, string) { return e.FiredAt.Unix(), e.ID })
		return &enrollmentsOutput{Body: enrollmentPage{Enrollments: orEmpty(list), NextCursor: next}}, nil
	})
}

// savePlaybook validates and stores p, with an audit entry (secrets masked).
func (s *Server) savePlaybook(ctx context.Context, p playbook.Playbook, mustBeNew bool) (*playbookOutput, error) {
	actor := principalFrom(ctx).actor
	var (
		before *playbook.Playbook
		after  playbook.Playbook
	)
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		var err error
		if mustBeNew {
			if _, err := playbook.Get(ctx, tx, p.ID); err == nil {
				return huma.Error409Conflict(fmt.Sprintf("playbook %s exists; PUT /api/v1/playbooks/%s replaces it", p.ID, p.ID))
			}
		}
		before, after, err = playbook.Save(ctx, tx, p, time.Now())
		if err != nil {
			return err
		}
		if before == nil {
			return audit.Record(ctx, tx, actor, audit.ActionCreate, "playbook", p.ID, nil, after.Masked())
		}
		return audit.Record(ctx, tx, actor, audit.ActionUpdate, "playbook", p.ID, before.Masked(), after.Masked())
	})
	var ve *playbook.ValidationError
	var se huma.StatusError
	switch {
	case errors.As(err, &ve):
		ds := make([]*huma.ErrorDetail, len(ve.Problems))
		for i, pr := range ve.Problems {
			msg := pr.Message
			if pr.Line > 0 {
				msg = fmt.Sprintf("line %d, column %d: %s", pr.Line, pr.Column, pr.Message)
			}
			ds[i] = &huma.ErrorDetail{Message: msg, Location: "body." + pr.Field}
		}
		return nil, problems(ds)
	case errors.As(err, &se):
		return nil, err
	case err != nil:
		return nil, s.internal(ctx, err)
	}
	status := http.StatusOK
	if before == nil {
		status = http.StatusCreated
	}
	return &playbookOutput{Status: status, Body: after.Masked()}, nil
}
